"""tapehead: agent package."""
