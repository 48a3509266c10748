"""The tool-call panel: each side-effecting call with its arguments, decision, duration and answer.

Convention: one entry per ``ToolCall`` event, completed by the next ``ToolResult`` (the tool node
emits the pair around every call, ``agent/graph/tool_step.py``); a ``MalformedCall`` is an entry of
its own, answered at once. An entry waiting for approval says so; a call found in flight when a
session resumes (an ``InFlightCall`` event, where the agent has it) says what was done with it. Entries are options of
Textual's ``OptionList`` (virtual: thousands of calls stay cheap); the newest is highlighted while
the run goes on, so the list follows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import OptionList

from tapehead.agent.graph import events as ev

OBS_LINES = 6  # lines of an observation shown in the panel


@dataclass
class CallEntry:
    tool: str
    category: str
    args: dict
    index: int | None = None  # trace index of its [CALL]
    needs_approval: bool = False
    text: str | None = None  # the observation, once answered
    ok: bool | None = None
    approved: bool | None = None
    seconds: float | None = None
    malformed: bool = False
    waiting: bool = False  # paused for approval

    @classmethod
    def from_record(cls, c: dict) -> "CallEntry":
        """From a recorded call (a session's ``calls``, ``agent/graph/tool_step.py``)."""
        return cls(c.get("tool", "?"), c.get("category", "?"), c.get("args") or {}, c.get("index"), False,
                   c.get("observation"), c.get("ok"), c.get("approved"), c.get("seconds"))


def args_text(args: dict) -> str:
    if len(args) == 1:  # the call format's shorthand: the one argument verbatim (agent/trace/calls.py)
        return str(next(iter(args.values())))
    return json.dumps(args, ensure_ascii=False)


def render_entry(e: CallEntry) -> Text:
    t = Text()
    t.append(e.tool, style="bold")
    t.append(f" ({e.category}) " if e.category else " ")
    t.append(args_text(e.args)[:200])
    t.append("\n")
    if e.malformed:
        t.append("malformed: ", style="bold red")
    elif e.waiting:
        t.append("waiting for approval", style="bold yellow")
    elif e.text is None:
        t.append("running…", style="italic")
    else:
        if e.approved is False:
            t.append("denied", style="bold red")
        else:
            t.append("ok" if e.ok else "failed", style="bold green" if e.ok else "bold red")
            if e.needs_approval:
                t.append(" · approved")
        if e.seconds is not None:
            t.append(f" · {e.seconds:.2f} s", style="dim")
    if e.text:
        lines = e.text.rstrip("\n").split("\n")
        more = f"\n… {len(lines) - OBS_LINES} more lines" if len(lines) > OBS_LINES else ""
        t.append(("\n" if not e.malformed else "") + "\n".join(lines[:OBS_LINES]) + more, style="dim" if e.ok else "")
    return t


class ToolCallPanel(OptionList):
    DEFAULT_CSS = """
    ToolCallPanel { height: 1fr; border: round $primary 40%; }
    ToolCallPanel:focus { border: round $primary; }
    """

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.border_title = "tool calls"
        self.entries: list[CallEntry] = []

    def on_event_(self, e: ev.Event) -> None:
        """Apply one call event (``ToolCall``, ``ToolResult``, ``MalformedCall``, ``ApprovalRequested``)."""
        if isinstance(e, ev.ToolCall):
            last = self.entries[-1] if self.entries else None
            if last is not None and last.waiting and last.tool == e.tool and last.args == e.args:
                last.waiting, last.needs_approval = False, e.needs_approval
                self._redraw(len(self.entries) - 1)
                return
            self.add(CallEntry(e.tool, e.category, e.args, e.index, e.needs_approval))
        elif isinstance(e, ev.ToolResult):
            last = next((x for x in reversed(self.entries) if x.text is None and not x.malformed), None)
            if last is None:
                return
            last.text, last.ok, last.approved, last.seconds = e.text, e.ok, e.approved, e.seconds
            last.waiting = False
            self._redraw(self.entries.index(last))
        elif isinstance(e, ev.MalformedCall):
            self.add(CallEntry(e.text.split(" ")[0] or "?", "", {}, None, text=e.error, ok=False, malformed=True))
        elif e.type == "InFlightCall":  # a call that was running when the agent stopped, met on resume
            action = getattr(e, "action", "")
            self.add(CallEntry(getattr(e, "tool", "?"), getattr(e, "category", ""), getattr(e, "args", {}) or {},
                               getattr(e, "index", None), text=f"in flight when the agent stopped: {action}",
                               ok=action != "not_rerun"))
        elif isinstance(e, ev.ApprovalRequested) and e.request.get("tool"):
            r = e.request
            self.add(CallEntry(r.get("tool", "?"), r.get("category", ""), r.get("args") or {}, r.get("index"),
                               True, waiting=True))

    def add(self, entry: CallEntry) -> None:
        self.entries.append(entry)
        self.add_option(render_entry(entry))
        self.highlighted = len(self.entries) - 1
        self.border_subtitle = f"{len(self.entries)}"

    def set_entries(self, entries: list[CallEntry]) -> None:
        self.entries = list(entries)
        self.clear_options()
        self.add_options([render_entry(e) for e in self.entries])
        self.border_subtitle = f"{len(self.entries)}"

    def _redraw(self, i: int) -> None:
        self.replace_option_prompt_at_index(i, render_entry(self.entries[i]))
