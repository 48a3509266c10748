"""Sandboxed execution: the sandbox (host side), its child (a fresh ``python -I -S`` process started
by file path that isolates itself, then execs the command), the run's pids cgroup and the janitor
that removes it when the agent dies, the system calls both need, and the execution tools."""

from .sandbox import Limits, RunResult, Sandbox

__all__ = ["Limits", "RunResult", "Sandbox"]
