"""The trace codec: the one place that spells the trace protocol (docs/design.md, "The trace protocol").

An episode is one token stream: the input, then whatever the policy writes, with the tools'
observations inserted where they belong. Each token has a *kind*:

==============  ==========================================================  ======  =========
kind            tokens                                                      tape    loss
==============  ==========================================================  ======  =========
input           ``[BOS]`` and the UTF-8 bytes of the task text              yes     masked
thought         any byte the policy writes before ``[ANS]``                 yes     trained
ans             ``[ANS]``: thoughts end, the output stream begins           yes     trained
output          any byte the policy writes after ``[ANS]``                  yes     trained
command         ``[pK.init]``, ``[pK.left]``, ``[pK.right]``, ``[pK.read]``,  no      trained
                and ``[CALL] name args [/CALL]`` spans of multi-token tools
observation     the one token after a ``[pK.read]`` (the symbol under the   no      masked
                head, or ``[END]``), ``[OBS] ... [/OBS]`` after a call,
                ``[ERR]`` after an invalid token
eos             ``[EOS]``: the episode ends                                 no      trained
invalid         a token only tools may write (``[PAD]``, ``[BOS]``, ``[END]``,  no      trained
                ``[OBS]``, ``[/OBS]``, ``[ERR]``, unused ids) written by the policy
==============  ==========================================================  ======  =========

The tape's memory is the input plus every thought, ``[ANS]`` and output, in order; commands and
observations never enter it (paper App. D.1). Loss: next-token prediction on what the policy writes;
input and observations are masked (paper §3.1).

Worked example: the addition trace of ``7+5`` (the teacher of ``evals/tasks/addition.py``; tape
symbols for ``[BOS]``/``[ANS]`` are the token names; ``·`` separates tokens)::

    input     [BOS]·7·+·5·=
    phase 1   [p1.right]·[p1.read]·7·[p1.right]·[p1.read]·+·[p1.left]       p1 walks to '+', back onto 7
    phase 2   [p2.right]·[p2.read]·7·[p2.right]·[p2.read]·+·[p2.right]·[p2.read]·5·
              [p2.right]·[p2.read]·=·[p2.left]                               p2 walks to '=', back onto 5
    phase 3   [p1.read]·7·[p2.read]·5·2·1·[p1.left]·[p2.left]       7+5+0 = 12: thoughts 2 (digit), 1 (carry)
              [p1.read]·[BOS]·[p2.read]·+·1·0·                     both done, carry 1: thoughts 1, 0
              [p1.read]·[BOS]·[p2.read]·+·[ANS]                    both done, carry 0: answer
    phase 4   [p3.right]·[p3.read]·7· ... ·[p3.read]·[ANS]            p3 walks from the start to [ANS]
    phase 5   [p3.left]·[p3.read]·0·[p3.left]·[p3.read]·1·1          carry cell skipped, digit 1 output
              [p3.left]·[p3.read]·1·[p3.left]·[p3.read]·2·2          carry skipped, digit 2 output
              [p3.left]·[p3.read]·=·[EOS]                            '=' where a carry was due: done

Observations are the tokens right after each ``[pK.read]``. The tape ends as
``[BOS] 7 + 5 = 2 1 1 0 [ANS] 1 2`` and the answer (the output stream) is ``12``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    INPUT = "input"
    THOUGHT = "thought"
    ANS = "ans"
    OUTPUT = "output"
    COMMAND = "command"
    OBSERVATION = "observation"
    EOS = "eos"
    INVALID = "invalid"


MEMORY_KINDS = frozenset({Kind.INPUT, Kind.THOUGHT, Kind.ANS, Kind.OUTPUT})
TRAINED_KINDS = frozenset({Kind.THOUGHT, Kind.ANS, Kind.OUTPUT, Kind.COMMAND, Kind.EOS, Kind.INVALID})
TOOL_ONLY = ("[PAD]", "[BOS]", "[END]", "[OBS]", "[/OBS]", "[ERR]")


@dataclass(frozen=True)
class Segment:
    kind: Kind
    start: int  # token index, inclusive
    end: int  # exclusive


class Codec:
    """Token ids <-> kinds, tape symbols, tool calls and text. ``vocab`` is ``tapehead.model.vocab.Vocab`` or
    any object with the same ``id``/``name``/``specials``/``size``/``padded_size``/``heads``."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.heads = vocab.heads
        self.size = vocab.padded_size
        self.BOS, self.EOS, self.ANS = vocab.id("[BOS]"), vocab.id("[EOS]"), vocab.id("[ANS]")
        self.PAD, self.END, self.ERR = vocab.id("[PAD]"), vocab.id("[END]"), vocab.id("[ERR]")
        self.CALL, self.CALL_END = vocab.id("[CALL]"), vocab.id("[/CALL]")
        self.OBS, self.OBS_END = vocab.id("[OBS]"), vocab.id("[/OBS]")
        # Lookup tables indexed by token id: the loops call these hundreds of thousands of times.
        self.symbols = [vocab.name(t) if t < vocab.size else f"<unused {t}>" for t in range(self.size)]
        for t in range(256):  # tape symbols of bytes are the characters themselves (digits, '+', ...)
            self.symbols[t] = chr(t)
        self._symbol_ids = {s: t for t, s in enumerate(self.symbols) if t < vocab.size}
        self.commands: list[tuple[int, str] | None] = [None] * self.size
        for h in range(1, self.heads + 1):
            for op in ("init", "left", "right", "read"):
                self.commands[vocab.tape(h, op)] = (h, op)
        self.invalid = [False] * self.size
        for name in TOOL_ONLY:
            self.invalid[vocab.id(name)] = True
        for t in range(vocab.size, self.size):
            self.invalid[t] = True

    # --- symbols --------------------------------------------------------------------------------------
    def symbol(self, token: int) -> str:
        """What a token is on the tape (a character, or a special's name)."""
        return self.symbols[token]

    def token(self, symbol: str) -> int:
        """Inverse of ``symbol`` (the observation token for a symbol the tape returns)."""
        return self._symbol_ids[symbol]

    def text_tokens(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def prompt(self, text: str) -> list[int]:
        """Input tokens of an episode: ``[BOS]`` + the UTF-8 bytes of the task text."""
        return [self.BOS] + self.text_tokens(text)

    def name(self, token: int) -> str:
        return self.vocab.name(token)

    # --- kinds ----------------------------------------------------------------------------------------------
    def reader(self) -> "TraceReader":
        return TraceReader(self)

    def kinds(self, tokens: list[int], prompt_len: int) -> list[Kind]:
        r = self.reader()
        return [Kind.INPUT] * prompt_len + [r.feed(t) for t in tokens[prompt_len:]]

    def segments(self, tokens: list[int], prompt_len: int) -> list[Segment]:
        """Maximal runs of one kind (each command and each observation is its own segment)."""
        kinds = self.kinds(tokens, prompt_len)
        out: list[Segment] = []
        for i, k in enumerate(kinds):
            if out and out[-1].kind == k and k not in (Kind.COMMAND, Kind.OBSERVATION):
                out[-1] = Segment(k, out[-1].start, i + 1)
            elif out and k in (Kind.COMMAND, Kind.OBSERVATION) and out[-1].kind == k and self._in_span(tokens, out[-1]):
                out[-1] = Segment(k, out[-1].start, i + 1)
            else:
                out.append(Segment(k, i, i + 1))
        return out

    def _in_span(self, tokens, seg: Segment) -> bool:
        """Whether a call/observation span is still open at the end of ``seg`` (spans stay one segment)."""
        first, last = tokens[seg.start], tokens[seg.end - 1]
        return (first == self.CALL and last != self.CALL_END) or (first == self.OBS and last != self.OBS_END)

    def loss_mask(self, tokens: list[int], prompt_len: int) -> list[bool]:
        return [k in TRAINED_KINDS for k in self.kinds(tokens, prompt_len)]

    def memory(self, tokens: list[int], prompt_len: int) -> list[str]:
        """The tape's memory after this trace (input, thoughts, [ANS], outputs)."""
        return [self.symbols[t] for t, k in zip(tokens, self.kinds(tokens, prompt_len)) if k in MEMORY_KINDS]

    def answer(self, tokens: list[int], prompt_len: int) -> str:
        """The output stream as text: what is graded (read as it streams: no list of kinds is built,
        which for a long episode would take 8 bytes a token)."""
        r = self.reader()
        out = bytes(t for t in tokens[prompt_len:] if r.feed(t) == Kind.OUTPUT and t < 256)
        return out.decode("utf-8", errors="replace")

    def calls(self, tokens: list[int], prompt_len: int) -> list[dict]:
        """Every tool call with its observation, in order: ``{"index", "tool", "call", "observation"}``."""
        kinds = self.kinds(tokens, prompt_len)
        out: list[dict] = []
        i = prompt_len
        while i < len(tokens):
            t, k = tokens[i], kinds[i]
            if k == Kind.COMMAND and self.commands[t] is not None:
                head, op = self.commands[t]
                entry = {"index": i, "tool": "tape", "call": {"head": head, "op": op}, "observation": None}
                if op == "read" and i + 1 < len(tokens) and kinds[i + 1] == Kind.OBSERVATION:
                    entry["observation"] = self.symbols[tokens[i + 1]]
                    i += 1
                out.append(entry)
            elif k == Kind.COMMAND and t == self.CALL:
                j = i + 1
                while j < len(tokens) and tokens[j] != self.CALL_END:
                    j += 1
                call_text = self.vocab.decode_text(tokens[i + 1:j])
                obs_start = j + 1
                k2 = obs_start
                while k2 < len(tokens) and kinds[k2] == Kind.OBSERVATION:
                    k2 += 1
                obs = self.vocab.decode_text(t2 for t2 in tokens[obs_start:k2] if t2 not in (self.OBS, self.OBS_END))
                name, _, args = call_text.partition(" ")
                out.append({"index": i, "tool": name, "call": {"text": args}, "observation": obs})
                i = k2 - 1
            i += 1
        return out

    def span_tokens(self, text: str) -> list[int]:
        """An observation span for multi-token tools: ``[OBS]`` + text + ``[/OBS]``."""
        return [self.OBS] + self.text_tokens(text) + [self.OBS_END]

    # --- rendering ---------------------------------------------------------------------------------------
    STYLES = {
        Kind.INPUT: "bold yellow", Kind.THOUGHT: "blue", Kind.ANS: "bold white on blue", Kind.OUTPUT: "bold magenta",
        Kind.COMMAND: "dark_orange", Kind.OBSERVATION: "green", Kind.EOS: "bold white on magenta",
        Kind.INVALID: "bold white on red",
    }

    def render(self, tokens: list[int], prompt_len: int, max_tokens: int | None = None):
        """A rich ``Text``: colours as the paper's Figure 2 (thoughts blue, outputs purple, commands
        orange, observations green); input yellow. Long traces are cut in the middle."""
        from rich.text import Text

        kinds = self.kinds(tokens, prompt_len)
        idx = list(range(len(tokens)))
        if max_tokens is not None and len(tokens) > max_tokens:
            half = max_tokens // 2
            idx = idx[:half] + [-1] + idx[-half:]
        text = Text()
        in_span = False  # inside [CALL] ... [/CALL] or [OBS] ... [/OBS]: bytes run together as text
        for i in idx:
            if i < 0:
                text.append(f" … {len(tokens) - 2 * (max_tokens // 2)} tokens … ", style="dim")
                continue
            t, k = tokens[i], kinds[i]
            name = self.vocab.name(t)
            if t in (self.CALL, self.OBS):
                in_span = True
            elif t in (self.CALL_END, self.OBS_END):
                in_span = False
            if in_span and t < 256:
                text.append(chr(t) if t < 128 else name, style=self.STYLES[k])  # newlines stay newlines
                continue
            spaced = k in (Kind.COMMAND, Kind.OBSERVATION, Kind.ANS, Kind.EOS, Kind.INVALID) or len(name) > 1
            text.append(f"{name} " if spaced else name, style=self.STYLES[k])
        return text

    def legend(self):
        from rich.text import Text

        text = Text()
        for k, style in self.STYLES.items():
            text.append(f" {k.value} ", style=style)
        return text


class TraceReader:
    """Classifies a stream one token at a time: the same rules offline (segmenting a stored trace)
    and online (the loop deciding what a freshly sampled token means)."""

    __slots__ = ("c", "mode_output", "obs_next", "obs_span_next", "in_obs", "in_call")

    def __init__(self, codec: Codec):
        self.c = codec
        self.mode_output = False
        self.obs_next = False  # the next token is a single-token observation
        self.obs_span_next = False  # the next token opens an [OBS] span
        self.in_obs = False
        self.in_call = False

    @property
    def expects_observation(self) -> bool:
        """True when the next token must come from a tool, not from the policy."""
        return self.obs_next or self.obs_span_next or self.in_obs

    def feed(self, t: int) -> Kind:
        c = self.c
        if self.obs_next:
            self.obs_next = False
            return Kind.OBSERVATION
        if self.obs_span_next:
            self.obs_span_next = False
            self.in_obs = t == c.OBS
            return Kind.OBSERVATION
        if self.in_obs:
            if t == c.OBS_END:
                self.in_obs = False
            return Kind.OBSERVATION
        if self.in_call:
            if t == c.CALL_END:
                self.in_call = False
                self.obs_span_next = True
            return Kind.COMMAND
        cmd = c.commands[t]
        if cmd is not None:
            if cmd[1] == "read":
                self.obs_next = True
            return Kind.COMMAND
        if t == c.CALL:
            self.in_call = True
            return Kind.COMMAND
        if t == c.ANS:
            self.mode_output = True
            return Kind.ANS
        if t == c.EOS:
            return Kind.EOS
        if c.invalid[t] or t == c.CALL_END:
            self.obs_next = True  # the loop answers an invalid token with [ERR]
            return Kind.INVALID
        return Kind.OUTPUT if self.mode_output else Kind.THOUGHT
