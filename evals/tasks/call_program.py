"""Teacher programs that also make multi-token calls, or that see their input (extends program.py).

``ProgramPolicy`` (program.py) runs a generator that yields tokens and receives a tape read's
symbol as the value of the ``yield``. ``CallProgramPolicy`` adds the call spans of the trace
protocol (agent/trace/codec.py): a program yields ``[CALL]``, the call text's bytes and ``[/CALL]``; the
loop runs the tool and feeds back ``[OBS] text [/OBS]``; the program receives ``text`` as the value
of the ``yield`` of ``[/CALL]``. ``call(c, text)`` spells such a call for a program:

    obs = yield from call(c, "find v12 =")

With ``with_input=True`` the program is called with the episode's input text. That is for the
ablation teachers of paper App. D.7 (answer directly, one calculator call), which by definition do
the work "in their head"; every other teacher learns its input only by reading the tape.
"""

from __future__ import annotations

from typing import Sequence

from .program import ProgramPolicy


def call(c, text: str):
    """Yield the tokens of ``[CALL] text [/CALL]``; returns the observation text. A teacher never
    makes a bad call, so an error answer means the episode lacks the tool: that raises, loudly."""
    yield c.CALL
    for t in c.text_tokens(text):
        yield t
    obs = yield c.CALL_END
    if obs.startswith("error:"):
        raise RuntimeError(f"teacher call {text!r} was refused ({obs}); run the episode with the task's tools: "
                           "run_episode(..., call_tools=task.call_tools)")
    return obs


class CallProgramPolicy(ProgramPolicy):
    def __init__(self, codec, program, *, with_input: bool = False):
        super().__init__(codec, program)
        self.with_input = with_input
        self._obs: list[int] | None = None  # tokens of the observation span being received

    def start(self, prompt: Sequence[int]) -> None:
        c = self.codec
        self._gen = self.program(c.vocab.decode_text(prompt[1:])) if self.with_input else self.program()
        self._awaiting_obs = False
        self._obs = None
        self._pending = self._advance(None, first=True)

    def feed(self, token: int) -> None:
        c = self.codec
        if self._obs is not None:  # inside the tool's answer to our call
            if token == c.OBS:
                return
            if token == c.OBS_END:
                text, self._obs = c.vocab.decode_text(self._obs), None
                self._pending = self._advance(text)
                return
            self._obs.append(token)
            return
        if token == c.CALL_END and not self._awaiting_obs:
            self._obs = []  # our call is closed: the observation span follows
            return
        super().feed(token)
