"""The search memory: the paper's search tool (arXiv 2510.14826 §3.2, App. D.1; paper-notes §2.2).

The memory is the same symbol list as the episode's pointer tape: the input plus every thought,
``[ANS]`` and output the policy writes, in order (the tape appends, this tool reads the very same
list, so thoughts written later can be found). Lines are split on the newline symbol ``"\\n"``.

One command, ``find`` with a pattern ``x``, returns **every line that contains ``x``**, in memory
order, like ``grep -F`` (a plain substring, not a regex). In a trace it is the call span
``[CALL]find x[/CALL]`` answered by ``[OBS]line1\\nline2...[/OBS]`` (agent/trace/codec.py).

Choices the paper leaves open, and ours:

- **No match** is an empty observation (``[OBS][/OBS]``), as grep prints nothing: it cannot be
  confused with a match, since a line that contains a non-empty pattern is never empty. The
  logical-graph teacher uses it as a signal (evals/tasks/logical_graph.py).
- **How a line is written**: byte symbols are joined and decoded as UTF-8 (the tape holds one symbol
  per byte); special symbols are written by name (``[ANS]``), except ``[BOS]``, which marks the
  start of the tape rather than content and is left out (so the input's first line reads as typed).
- **The line being written** (after the last newline) is a line too, and can be found.
- **Bad calls** (an empty pattern, a pattern with a newline, which could never match a line) answer
  ``error: ...``; nothing raises (docs/design.md, "Tools").

Searching is fast on long memories: completed lines are kept, joined once per change, and
searched with ``str.find`` (a 1,000-node logical graph makes thousands of searches).
"""

from __future__ import annotations

from tapehead.tools.base import Arg, Observation, Tool, ToolSpec, error

NEWLINE = "\n"
HIDDEN = ("[BOS]",)


class SearchMemory(Tool):
    spec = ToolSpec(
        name="find",
        doc="Search memory: every line of the input, thoughts and outputs that contains the pattern, in order.",
        category="memory",
        args=(Arg("pattern", "str", "text to look for (a plain substring, not a regex)"),),
    )

    def __init__(self, memory: list[str] | None = None, *, hidden: tuple[str, ...] = HIDDEN):
        self.memory: list[str] = memory if memory is not None else []  # shared with the tape, not copied
        self.hidden = frozenset(hidden)
        self.searches = 0
        self.last: dict | None = None
        self._reset()

    def _reset(self) -> None:
        self._lines: list[str] = []  # completed lines (a newline symbol seen after them)
        self._partial: list[str] = []  # symbols of the line being written
        self._seen = 0  # memory symbols already split into lines
        self._text = ""  # completed lines, each followed by "\n"
        self._text_lines = 0  # how many of _lines _text holds

    # --- memory -----------------------------------------------------------------------------------
    def append(self, symbol: str) -> None:
        """Add a symbol (when the memory is not shared with a tape that appends it already)."""
        self.memory.append(symbol)

    def _render(self, symbols: list[str]) -> str:
        out, buf = [], bytearray()
        for s in symbols:
            if len(s) == 1 and ord(s) < 256:
                buf.append(ord(s))
                continue
            if buf:
                out.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
            if s not in self.hidden:
                out.append(s)
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    def _sync(self) -> None:
        mem = self.memory
        if len(mem) < self._seen:  # the list was replaced or cut: start over
            self._reset()
        for i in range(self._seen, len(mem)):
            s = mem[i]
            if s == NEWLINE:
                self._lines.append(self._render(self._partial))
                self._partial = []
            else:
                self._partial.append(s)
        self._seen = len(mem)
        if self._text_lines < len(self._lines):
            self._text += "".join(line + NEWLINE for line in self._lines[self._text_lines:])
            self._text_lines = len(self._lines)

    def lines(self) -> list[str]:
        """Every line of the memory, the one being written included (if it is not empty)."""
        self._sync()
        tail = self._render(self._partial)
        return self._lines + ([tail] if tail else [])

    # --- the command ---------------------------------------------------------------------------------
    def find(self, pattern: str) -> list[str]:
        """All lines containing ``pattern``, in order (a line with several matches is listed once)."""
        self._sync()
        text, out = self._text, []
        i = text.find(pattern)
        while i >= 0:
            start = text.rfind(NEWLINE, 0, i) + 1
            end = text.find(NEWLINE, i)
            out.append(text[start:end])
            i = text.find(pattern, end + 1)
        tail = self._render(self._partial)
        if pattern in tail:
            out.append(tail)
        return out

    def _run(self, pattern: str) -> Observation:
        if pattern == "":
            return error("find needs a pattern, e.g. `find v12 =` (an empty pattern would return every line)")
        if NEWLINE in pattern:
            return error("a pattern cannot contain a newline: lines are searched one at a time")
        found = self.find(pattern)
        self.searches += 1
        self.last = {"pattern": pattern, "matches": len(found)}
        return Observation(text=NEWLINE.join(found), data={"matches": len(found)})

    def __call__(self, args: str) -> str:
        """The loop's calling convention (``call_tools``): the call text after ``find `` is the pattern,
        taken literally (spaces included)."""
        return self.call(pattern=args).text

    def snapshot(self, full: bool = False) -> dict:
        """JSON state: sizes, the last search, the last few lines (all of them with ``full``)."""
        lines = self.lines()
        return {"tool": "find", "symbols": len(self.memory), "lines": len(lines), "searches": self.searches,
                "last": self.last, ("memory" if full else "tail"): lines if full else lines[-5:]}


def search_tools(tape) -> dict:
    """``call_tools`` factory for an episode: ``find`` over the tape's own memory list."""
    return {"find": SearchMemory(tape.memory)}
