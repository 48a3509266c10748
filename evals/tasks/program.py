"""Teachers as programs: a hard-coded algorithm written as a Python generator, run as a policy.

A teacher program yields the tokens it writes; after yielding a ``[pK.read]`` it receives the
tape's answer (a symbol) as the value of the ``yield``. ``ProgramPolicy`` adapts such a program to
the policy protocol, so the teacher runs through the real loop and the real tape exactly as a
trained network does, and its trajectory *is* the reference trace (docs/design.md, "Tasks").

Programs keep O(1) state (a phase, a carry, a flag): everything else they learn by reading the
tape, which is what makes the trace learnable by a fixed-state model (paper App. B.2, D.3).
"""

from __future__ import annotations

from typing import Callable, Generator, Sequence

Program = Callable[[], Generator[int, "str | None", None]]


class ProgramPolicy:
    def __init__(self, codec, program: Program):
        self.codec = codec
        self.program = program
        self._gen = None
        self._pending = codec.EOS
        self._awaiting_obs = False

    def start(self, prompt: Sequence[int]) -> None:
        self._gen = self.program()
        self._awaiting_obs = False
        self._pending = self._advance(None, first=True)

    def _advance(self, value, first=False) -> int:
        try:
            return next(self._gen) if first else self._gen.send(value)
        except StopIteration:
            return self.codec.EOS

    def propose(self) -> int:
        return self._pending

    def feed(self, token: int) -> None:
        if self._awaiting_obs:  # the tape's answer to our read
            self._awaiting_obs = False
            self._pending = self._advance(self.codec.symbols[token])
            return
        cmd = self.codec.commands[token]
        if cmd is not None and cmd[1] == "read":
            self._awaiting_obs = True
            return
        self._pending = self._advance(None)

    def state_bytes(self) -> int:
        return 0
