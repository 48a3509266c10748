"""The exceptions tapehead's Python API raises for bad input (DESIGN.md: one clear line, nothing lost).

Convention: bad input raises ``ValueError`` with a one-line message, so that a caller catches one
type; a name that is not there (a task, a session) raises ``NotFound``, which is both a
``KeyError`` (what a lookup raises, what older callers catch) and a ``ValueError``, and prints its
message without the quotes ``KeyError`` adds. The CLI prints either as ``error: ...``, exit 2.
"""

from __future__ import annotations


class NotFound(KeyError, ValueError):
    """An unknown task name, session id, or the like."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"
