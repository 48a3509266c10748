"""The coding harness: SWE-bench-shaped benchmark files, the local grader, `tapehead fix`, `tapehead eval code-fix`."""
