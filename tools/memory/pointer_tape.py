"""The pointer tape: the paper's pointer-based memory tool (arXiv 2510.14826 §3.1, App. D.1).

Memory is a list of symbols: the input plus every thought and output the policy writes (the loop
calls ``append``); commands and observations never enter it. A fixed number of heads start on the
first input symbol. Commands, one token each in the trace: ``init`` (back to the start), ``left``
(stops at the start), ``right`` (may go one past the end, where reads see ``END``) and ``read``,
which returns exactly one symbol. There is no write command: writing is appending thoughts.

Symbols are strings (a digit, ``[ANS]``, ...): tools never see token ids (docs/design.md). Operations
are O(1) and allocation-free on the hot path, since a 10,000-digit addition makes ~10^5 of them.
Bad calls (no such head, unknown operation) return an error observation; nothing raises.
"""

from __future__ import annotations

from typing import Iterable

from tapehead.tools.base import Arg, Observation, Tool, ToolSpec, error

END = "[END]"  # what a read past the last symbol returns
OPS = ("init", "left", "right", "read")


class PointerTape(Tool):
    spec = ToolSpec(
        name="tape",
        doc="Pointer memory: move a head over the input and everything written so far, and read one symbol.",
        category="memory",
        args=(Arg("head", "int", "which head, 1-based"), Arg("op", "str", "one of init, left, right, read")),
    )

    def __init__(self, memory: Iterable[str] = (), heads: int = 4):
        if heads < 1:
            raise ValueError("a tape needs at least one head")
        self.memory: list[str] = list(memory)
        self.heads: list[int] = [0] * heads  # 0-based positions; len(memory) means "past the end"
        self.ops = 0

    # --- the four commands (head is 1-based, as in the token names) ----------------------------------
    def init(self, head: int) -> None:
        self.heads[head - 1] = 0

    def left(self, head: int) -> None:
        i = head - 1
        if self.heads[i] > 0:
            self.heads[i] -= 1

    def right(self, head: int) -> None:
        i = head - 1
        if self.heads[i] < len(self.memory):
            self.heads[i] += 1

    def read(self, head: int) -> str:
        pos = self.heads[head - 1]
        return self.memory[pos] if pos < len(self.memory) else END

    def append(self, symbol: str) -> None:
        """A thought or output symbol enters the memory (the loop calls this, not the policy)."""
        self.memory.append(symbol)

    def apply(self, head: int, op: str) -> str | None:
        """Fast path for the loop: run a command known to be valid; returns the read symbol or None."""
        self.ops += 1
        if op == "read":
            return self.read(head)
        getattr(self, op)(head)
        return None

    # --- Tool interface ---------------------------------------------------------------------------------
    def _run(self, head: int, op: str) -> Observation:
        if not 1 <= head <= len(self.heads):
            return error(f"no head {head}; this tape has heads 1..{len(self.heads)}")
        if op not in OPS:
            return error(f"unknown tape operation {op!r}; use one of {', '.join(OPS)}")
        out = self.apply(head, op)
        return Observation(text=out if out is not None else "ok", data={"head": head, "position": self.heads[head - 1]})

    def snapshot(self, window: int | None = None) -> dict:
        """JSON state. With ``window``, only that many symbols around each head (for huge tapes)."""
        snap = {"tool": "tape", "length": len(self.memory), "heads": list(self.heads), "ops": self.ops}
        if window is None:
            snap["memory"] = list(self.memory)
        else:
            spans = sorted({(max(0, h - window), min(len(self.memory), h + window + 1)) for h in self.heads})
            snap["windows"] = [{"start": a, "symbols": self.memory[a:b]} for a, b in spans]
        return snap
