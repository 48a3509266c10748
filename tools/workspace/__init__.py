"""The workspace: a scratch git worktree of the user's files, accepting its changes back, git run
safely, path checks, and the base of every tool bound to a workspace (``wstool``)."""

from .workspace import Workspace

__all__ = ["Workspace"]
