"""The workspace: a scratch copy of the user's files that host-side code never trusts -- the private
object store and its git, the snapshot walker and ignore rules, accepting changes back without
following links, path checks and the one read path of every tool, and the base of every tool
bound to a workspace (``wstool``)."""

from .workspace import Workspace

__all__ = ["Workspace"]
