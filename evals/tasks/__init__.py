"""tapehead: evals/tasks package."""
