"""tapehead: tui package."""
