"""Blocks: a trace grouped into readable units for the run and inspect screens.

Convention: the token kinds are the codec's (``agent/trace/codec.py``: input, thought, ans, output,
command, observation, eos, invalid) and arrive with every ``Tokens`` event, so grouping needs no
second reader. A block is what a person reads as one line of the paper's Figure 2:

- ``input``: the prompt;
- a *step*: tape commands and their one-token observations, then what the policy wrote after them
  (thoughts, or outputs after ``[ANS]``); a command that follows a written token starts the next
  step, so each step reads "move, read -> write". Labelled ``think``, ``answer`` (it wrote output)
  or ``tape`` (only moves and reads). Steps are cut at ``MAX_TOKENS`` tokens (long walks);
- ``call``: a ``[CALL] name args [/CALL]`` span; ``obs``: its ``[OBS] ... [/OBS]`` answer;
- ``end``: ``[EOS]``.

``BlockBuilder`` groups incrementally (token by token, as events come); ``blocks()`` is its
reference twin over a whole trace, and a test checks that any split of the stream gives the same
blocks. Blocks hold token ids and kinds only; ``tui/widgets/trace_view.py`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TOKENS = 48  # tokens per step block: a 1,000-digit walk becomes readable lines, not one wall
WRITTEN = frozenset({"thought", "ans", "output"})
SPAN_OPEN = {"[CALL]": "call", "[OBS]": "obs"}
SPAN_CLOSE = {"[/CALL]", "[/OBS]"}


@dataclass
class Block:
    label: str  # input, tape, think, answer, call, obs, end
    start: int  # trace index of its first token
    tokens: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + len(self.tokens)

    def add(self, token: int, kind: str) -> None:
        self.tokens.append(token)
        self.kinds.append(kind)
        if self.label == "tape" and kind in WRITTEN:
            self.label = "think"
        if kind in ("ans", "output") and self.label in ("tape", "think"):
            self.label = "answer"


class BlockBuilder:
    """Feed ``(tokens, kinds)`` in order; ``closed`` holds finished blocks, ``open`` the one growing."""

    def __init__(self, names) -> None:
        self.names = names  # token id -> special-token name (or the byte's character)
        self.closed: list[Block] = []
        self.open: Block | None = None
        self.next_index = 0
        self.in_span = False

    def feed(self, start: int, tokens: list[int], kinds: list[str]) -> list[Block]:
        """Add tokens (``start`` must be the next index); returns the blocks this closed."""
        if start != self.next_index:
            raise ValueError(f"tokens start at {start}, expected {self.next_index}")
        done: list[Block] = []
        for t, k in zip(tokens, kinds):
            self._feed_one(self.next_index, t, k, done)
            self.next_index += 1
        self.closed.extend(done)
        return done

    def finish(self) -> list[Block]:
        """Close the open block (the run ended)."""
        done = self._close([])
        self.closed.extend(done)
        return done

    def _close(self, done: list[Block]) -> list[Block]:
        if self.open is not None and self.open.tokens:
            done.append(self.open)
        self.open = None
        return done

    def _new(self, label: str, i: int, done: list[Block]) -> Block:
        self._close(done)
        self.open = Block(label, i)
        return self.open

    def _feed_one(self, i: int, t: int, k: str, done: list[Block]) -> None:
        name = self.names[t]
        b = self.open
        if k == "input":
            if b is None or b.label != "input":
                b = self._new("input", i, done)
            b.add(t, k)
            return
        if self.in_span:  # inside [CALL] ... [/CALL] or [OBS] ... [/OBS]: one block
            b.add(t, k)
            if name in SPAN_CLOSE:
                self.in_span = False
                self._close(done)
            return
        if name in SPAN_OPEN and t >= 256:
            self._new(SPAN_OPEN[name], i, done).add(t, k)
            self.in_span = True
            return
        if k == "eos":
            self._new("end", i, done).add(t, k)
            self._close(done)
            return
        starts_step = (b is None or b.label not in ("tape", "think", "answer") or len(b.tokens) >= MAX_TOKENS
                       or (k == "command" and b.kinds and b.kinds[-1] in WRITTEN))
        if starts_step:
            b = self._new("tape", i, done)
        b.add(t, k)


def blocks(names, tokens: list[int], kinds: list[str]) -> list[Block]:
    """Every block of a whole trace (the reference twin of feeding ``BlockBuilder`` piecewise)."""
    builder = BlockBuilder(names)
    builder.feed(0, list(tokens), list(kinds))
    builder.finish()
    return builder.closed
