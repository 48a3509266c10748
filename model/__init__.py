"""tapehead: model package."""
