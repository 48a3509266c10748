"""tapehead: evals package."""
