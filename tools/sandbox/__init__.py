"""Sandboxed execution: the sandbox (host side), its child (a fresh ``python -I -S`` process started
by file path that isolates itself, then execs the command), and the execution tools."""

from .sandbox import Limits, RunResult, Sandbox

__all__ = ["Limits", "RunResult", "Sandbox"]
