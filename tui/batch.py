"""Coalescing the agent's events between two screen refreshes (the UI updates in batches).

Convention: the policy decodes in LangGraph's executor thread and the events reach our worker
thread (``tui/driver.py``), which only appends them here under a lock: it never waits for the UI
(``App.call_from_thread`` would block it until the screen had handled each event). The run screen
drains the batch on a timer (``REFRESH_HZ``), so a step of thousands of tokens costs the UI one
update, whatever the decode rate. Draining merges what can be merged:

- ``Tokens``: concatenated (they are contiguous: each starts where the previous ended);
- ``TapeSnapshot``, ``Stats``, one ``MemorySnapshot`` per tool: only the latest matters;
- ``ToolCall``, ``ToolResult``, ``MalformedCall``, ``RunStarted``, ``ApprovalRequested``,
  ``RunFinished``: kept, in order (``Update.events``).

Events are ``agent/graph/events.py``'s dataclasses; nothing here imports Textual.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tapehead.agent.graph import events as ev

REFRESH_HZ = 10  # screen updates per second while a run streams


@dataclass
class Update:
    """What changed since the last drain."""

    start: int | None = None  # trace index of tokens[0]
    tokens: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    tape: dict | None = None  # the latest TapeSnapshot's snapshot
    memory: dict[str, dict] = field(default_factory=dict)  # tool -> latest snapshot
    stats: ev.Stats | None = None
    events: list[ev.Event] = field(default_factory=list)  # the rest, in order

    def __bool__(self) -> bool:
        return bool(self.tokens or self.tape or self.memory or self.stats or self.events)


class Batch:
    """Thread-safe: ``add`` from the worker, ``drain`` from the UI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._update = Update()
        self.added = 0  # events seen (for the benchmark's report)

    def add(self, e: ev.Event) -> None:
        with self._lock:
            self.added += 1
            u = self._update
            if isinstance(e, ev.Tokens):
                if u.start is None:
                    u.start = e.start
                elif e.start != u.start + len(u.tokens):
                    raise ValueError(f"Tokens at {e.start} after tokens ending at {u.start + len(u.tokens)}")
                u.tokens.extend(e.tokens)
                u.kinds.extend(e.kinds)
            elif isinstance(e, ev.TapeSnapshot):
                u.tape = e.snapshot
            elif isinstance(e, ev.MemorySnapshot):
                u.memory[e.tool] = e.snapshot
            elif isinstance(e, ev.Stats):
                u.stats = e
            else:
                u.events.append(e)

    def drain(self) -> Update:
        with self._lock:
            u, self._update = self._update, Update()
        return u
