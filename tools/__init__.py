"""tapehead: tools package."""
