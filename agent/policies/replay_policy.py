"""A scripted policy that writes what a recorded trace wrote, whatever the tools now answer.

``ScriptedPolicy`` (``agent/policies/policy.py``) replays a stream position by position, so an observation
of another length (a command's timing, a changed file) shifts everything after it. ``ReplayPolicy``
instead classifies each fed token with the codec's reader and advances only over tokens the policy
wrote (thoughts, outputs, commands, calls, ``[EOS]``), so observations may differ freely. It is the
policy of ``tapehead replay`` and of ``--policy script:FILE``. ``divergences`` lists
``(script position, fed token)`` where a written token fed differs from the script (only possible
when the loop itself wrote it, e.g. the ``[/CALL]`` that closes a runaway call).
"""

from __future__ import annotations

from typing import Sequence

from tapehead.agent.trace.codec import Kind


class ReplayPolicy:
    def __init__(self, script: Sequence[int], codec, prompt_len: int | None = None):
        self.script = list(script)
        self.codec = codec
        self.prompt_len = prompt_len  # None: the script holds the prompt if it starts with it
        self.written: list[int] = []
        self.pos = 0
        self.reader = codec.reader()
        self.divergences: list[tuple[int, int]] = []

    def start(self, prompt: Sequence[int]) -> None:
        prompt = list(prompt)
        if self.prompt_len is not None:
            skip = self.prompt_len
        else:
            skip = len(prompt) if self.script[:len(prompt)] == prompt else 0
        reader = self.codec.reader()
        self.written = [t for t in self.script[skip:] if reader.feed(t) is not Kind.OBSERVATION]
        self.pos = 0
        self.reader = self.codec.reader()
        self.divergences = []

    def propose(self) -> int:
        return self.written[self.pos] if self.pos < len(self.written) else self.codec.EOS

    def feed(self, token: int) -> None:
        if self.reader.feed(token) is Kind.OBSERVATION:
            return
        if self.pos < len(self.written) and self.written[self.pos] != token:
            self.divergences.append((self.pos, token))
        self.pos += 1

    def state_bytes(self) -> int:
        return 0
