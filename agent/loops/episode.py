"""One episode's bookkeeping: what each written token does to the tools, and when the episode ends.

Both loops (``loop.run_episode`` for one episode, ``batched.run_batched`` for many in
lockstep) drive an ``Episode`` the same way, which is why they produce identical trajectories:

1. ``check_limits()`` before the policy writes (ends the episode with an exit status if a limit
   is reached);
2. ``accept(token)`` with the token the policy wrote; it returns the tokens the policy must now
   be fed: the token itself, then any observation the tools produced (a read's symbol, a call's
   ``[OBS] ... [/OBS]`` span, ``[ERR]`` after an invalid token), or nothing if the episode ended.

Tape commands run here, in process, inside the policy step (docs/design.md: a 1,000-digit addition
needs thousands of them). Multi-token calls go to ``call_tools`` (name -> function(args) -> text,
or a factory ``f(tape) -> that dict`` for tools over the episode's memory, like the search tool);
an unknown tool or a failing one is answered with an error observation and counts as malformed.

The LangGraph agent (``agent/graph/build.py``) adds two things, both unused by the bare loops: ``defer``
(a predicate on tool names) leaves a call unanswered -- ``accept`` returns after ``[/CALL]`` with
``deferred = (name, args)`` set -- so that a side-effecting tool can run as a graph step, and
``answer_call`` feeds its answer back later; ``Episode.resume`` rebuilds an episode (tape, heads,
reader state) from recorded tokens, without running any tool, when a session resumes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from tapehead.tools.memory.pointer_tape import PointerTape

from tapehead.agent.trace.codec import Codec, Kind
from tapehead.agent.trace.tokens import token_array
from tapehead.agent.trace.trajectory import Trajectory


# The input-size limit. 1 MiB of task text is a 524,287-digit addition: its prompt (one token a
# byte) prefills in ~3 minutes on a 2-core CPU in ~300 MB (docs/benchmarks.md, "Memory"), and its
# episode of ~19M tokens would decode for ~3 hours at 1,800 tokens/s; larger inputs are rarely what
# was meant. Raised for every entry point (tapehead solve, run, eval; the Python API) by the
# environment variable, or per run with Limits(max_input_bytes=N) (None: no limit).
MAX_INPUT_ENV = "TAPEHEAD_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 1 << 20


def default_max_input_bytes() -> int:
    raw = os.environ.get(MAX_INPUT_ENV)
    if raw is None:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        n = int(raw.replace("_", ""))
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(f"{MAX_INPUT_ENV} must be a positive number of bytes, got {raw!r}")
    return n


@dataclass
class Limits:
    max_tokens: int = 4_000_000  # tokens after the input: written and observed
    max_tool_calls: int | None = None
    max_consecutive_malformed: int = 3
    max_call_tokens: int = 2048  # a call span longer than this is cut and answered with an error
    # Checked by the LangGraph agent (agent/loops/limits.py) before each step; the bare loops ignore them.
    max_steps: int | None = None  # graph steps (policy decode steps + tool steps)
    max_seconds: float | None = None  # wall time spent running (waiting for approval excluded)
    # UTF-8 bytes of the task text, checked before anything is built on it (check_input_size)
    max_input_bytes: int | None = field(default_factory=default_max_input_bytes)


def check_input_size(text: str, limits: Limits) -> None:
    """``ValueError`` (one line: the size, the limit, how to raise it) if ``text`` is over the limit."""
    cap = limits.max_input_bytes
    if cap is None or 4 * len(text) <= cap:  # UTF-8 takes at most 4 bytes a character: no need to encode
        return
    n = len(text.encode("utf-8"))
    if n > cap:
        raise ValueError(f"the input is {n:,} bytes, more than the limit of {cap:,} bytes (max_input_bytes); "
                         f"to allow it, set {MAX_INPUT_ENV}={n} (or Limits(max_input_bytes={n}) from Python)")


class Episode:
    def __init__(self, codec: Codec, text: str, *, task: str = "", limits: Limits | None = None,
                 call_tools: dict[str, Callable[[str], str]] | Callable | None = None,
                 defer: Callable[[str], bool] | None = None):
        self.codec = codec
        self.task = task
        self.text = text
        self.limits = limits or Limits()
        check_input_size(text, self.limits)
        self.prompt = token_array(codec.prompt(text))  # 2 bytes a token (agent/trace/tokens.py)
        self.tokens = token_array(self.prompt)  # the whole record: prompt, written and observed tokens
        self.tape = PointerTape([codec.symbol(t) for t in self.prompt], heads=codec.heads)
        # multi-token tools: a dict, or a factory given the tape (tools that search the same memory)
        self.call_tools = (call_tools(self.tape) if callable(call_tools) else call_tools) or {}
        self.reader = codec.reader()
        self.counts = dict(generated=0, observations=0, tool_calls=0, thoughts=0, outputs=0, malformed=0)
        self.exit: str | None = None
        self._malformed_run = 0
        self._call_start = -1
        self._t0 = time.perf_counter()
        self.defer = defer  # tool names whose calls are answered later, with answer_call()
        self.deferred: tuple[str, str] | None = None  # (name, args) of the call awaiting its answer

    @classmethod
    def resume(cls, codec: Codec, text: str, tokens: list[int], *, counts: dict | None = None,
               malformed_run: int = 0, **kwargs) -> "Episode":
        """An episode positioned after recorded ``tokens`` (its prompt first): the tape's memory and
        heads, the reader's state and the open call are rebuilt by replaying the tokens' meaning;
        no tool is called (tape commands are pure). ``counts`` and ``malformed_run`` come from the
        record (they cannot all be derived from tokens)."""
        ep = cls(codec, text, **kwargs)
        tokens = token_array(tokens)
        if tokens[:len(ep.prompt)] != ep.prompt:
            raise ValueError("recorded tokens do not start with this episode's prompt")
        reader, tape, commands = ep.reader, ep.tape, codec.commands
        for i in range(len(ep.prompt), len(tokens)):
            t = tokens[i]
            in_call = reader.in_call
            kind = reader.feed(t)
            if kind is Kind.THOUGHT or kind is Kind.ANS or kind is Kind.OUTPUT:
                tape.append(codec.symbols[t])
            elif kind is Kind.COMMAND and not in_call:
                if commands[t] is not None:
                    tape.apply(*commands[t])
                elif t == codec.CALL:
                    ep._call_start = i
        ep.tokens = tokens
        if counts is not None:
            ep.counts = dict(counts)
        ep._malformed_run = malformed_run
        return ep

    @property
    def running(self) -> bool:
        return self.exit is None

    def check_limits(self) -> bool:
        """True if the policy may write another token; otherwise sets ``exit``."""
        lim = self.limits
        if self.exit is not None:
            return False
        if len(self.tokens) - len(self.prompt) >= lim.max_tokens:
            self.exit = "max_tokens"
        elif lim.max_tool_calls is not None and self.counts["tool_calls"] >= lim.max_tool_calls:
            self.exit = "max_tool_calls"
        return self.exit is None

    def _observe(self, toks: list[int], out: list[int]) -> None:
        for t in toks:
            self.reader.feed(t)
            self.tokens.append(t)
            out.append(t)
        self.counts["observations"] += len(toks)

    def accept(self, token: int) -> list[int]:
        """Record a written token, run what it commands; returns the tokens to feed the policy."""
        c = self.codec
        in_call = self.reader.in_call  # inside a [CALL] span every token is call text, even a tape token
        kind = self.reader.feed(token)
        self.tokens.append(token)
        self.counts["generated"] += 1
        if kind is Kind.EOS:
            self.exit = "eos"
            return []
        out = [token]
        if kind is Kind.THOUGHT or kind is Kind.ANS or kind is Kind.OUTPUT:
            self.tape.append(c.symbols[token])
            self.counts["outputs" if kind is Kind.OUTPUT else "thoughts"] += 1
            self._malformed_run = 0
        elif kind is Kind.COMMAND:
            cmd = None if in_call else c.commands[token]
            if cmd is not None:
                self.counts["tool_calls"] += 1
                self._malformed_run = 0
                sym = self.tape.apply(cmd[0], cmd[1])
                if sym is not None:
                    self._observe([c.token(sym)], out)
            elif token == c.CALL:
                self._call_start = len(self.tokens) - 1
            elif token == c.CALL_END and in_call:
                self._run_call(out)
            elif len(self.tokens) - self._call_start > self.limits.max_call_tokens:
                self._malformed(out, span=True, message=f"call longer than {self.limits.max_call_tokens} tokens")
        else:  # Kind.INVALID: a token only tools may write
            self._malformed(out, span=False)
        return out

    def _run_call(self, out: list[int]) -> None:
        c = self.codec
        text = c.vocab.decode_text(self.tokens[self._call_start + 1:-1])
        name, _, args = text.partition(" ")
        self.counts["tool_calls"] += 1
        if self.defer is not None and self.defer(name):
            self.deferred = (name, args)  # answered by answer_call(), e.g. after a graph tool step
            return
        result, ok = self.call_result(name, args)
        if ok:
            self._malformed_run = 0
            self._observe(c.span_tokens(result), out)
        else:
            self._malformed(out, span=True, message=result, count_call=False)

    def call_result(self, name: str, args: str) -> tuple[str, bool]:
        """The call tool ``name``'s answer to ``args``, and whether it ran (an unknown or failing tool is
        an error text). It reads nothing else of the episode, so a deferred call may run in another
        thread while the episode waits for it (``evals/coding/batched.py``)."""
        fn = self.call_tools.get(name)
        if fn is None:
            known = ", ".join(sorted(self.call_tools)) or "none in this episode"
            return f"error: no tool {name!r} (tools: {known})", False
        try:
            return str(fn(args)), True
        except Exception as e:  # tools should not raise; if one does, the policy hears about it
            return f"error: {name} failed: {type(e).__name__}: {e}", False

    def answer_call(self, result: str, ok: bool = True) -> list[int]:
        """Answer the deferred call: its ``[OBS] ... [/OBS]`` span (an error span that counts as
        malformed when ``ok`` is False). Returns the tokens to feed the policy."""
        self.deferred = None
        out: list[int] = []
        if ok:
            self._malformed_run = 0
            self._observe(self.codec.span_tokens(result), out)
        else:
            self._malformed(out, span=True, message=result, count_call=False)
        return out

    @property
    def malformed_run(self) -> int:
        """Consecutive malformed outputs so far (the count the limit is checked against)."""
        return self._malformed_run

    def _malformed(self, out: list[int], span: bool, message: str = "", count_call: bool = True) -> None:
        c = self.codec
        self.counts["malformed"] += 1
        self._malformed_run += 1
        if span:
            if self.reader.in_call:  # close the runaway call so the observation can follow
                self.reader.feed(c.CALL_END)
                self.tokens.append(c.CALL_END)
                out.append(c.CALL_END)
            self._observe(c.span_tokens(message if message.startswith("error") else f"error: {message}"), out)
        else:
            self._observe([c.ERR], out)
        if self._malformed_run >= self.limits.max_consecutive_malformed:
            self.exit = "malformed"

    def trajectory(self, policy: str = "", seconds: float | None = None) -> Trajectory:
        secs = time.perf_counter() - self._t0 if seconds is None else seconds
        return Trajectory(
            task=self.task, input=self.text, prompt_len=len(self.prompt), tokens=token_array(self.tokens),
            answer=self.codec.answer(self.tokens, len(self.prompt)), exit=self.exit or "running",
            counts=dict(self.counts), seconds=round(secs, 6), policy=policy,
        )
