"""Typed, UI-free events streamed by the agent graph (for the TUI, the CLI's ``--events``, scripts).

Convention: every event is a frozen dataclass holding JSON-able fields only, with a ``type`` name
(``to_json()`` gives ``{"type": ..., **fields}``). The graph's nodes emit them through LangGraph's
``get_stream_writer()``, so they arrive with ``graph.stream(..., stream_mode="custom")``;
``Agent.stream()`` yields them directly and adds the two that come from the driver rather than a
node (``ApprovalRequested`` when the run pauses at an ``interrupt()``, ``RunFinished``).

Granularity: ``Tokens`` come at most ``token_events`` tokens at a time (``Agent(token_events=...)``,
default: one event per policy step); snapshots and ``Stats`` once per step. Nothing here imports a
UI toolkit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Event:
    thread_id: str

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    task: str
    input: str
    policy: str
    resumed: bool = False  # True when the policy's state was rebuilt from recorded tokens


@dataclass(frozen=True)
class Tokens(Event):
    """Tokens appended to the episode: ``tokens[i]`` sits at index ``start + i`` of the trace;
    ``kinds`` are ``codec.Kind`` values (input, thought, command, observation, ...)."""

    start: int
    tokens: list[int]
    kinds: list[str]


@dataclass(frozen=True)
class ToolCall(Event):
    """A side-effecting call the policy wrote, about to run in the tool node."""

    tool: str
    category: str
    args: dict
    index: int  # trace index of its [CALL]
    needs_approval: bool


@dataclass(frozen=True)
class ToolResult(Event):
    tool: str
    text: str
    ok: bool
    approved: bool
    seconds: float


@dataclass(frozen=True)
class InFlightCall(Event):
    """A side-effecting call that was running when the agent stopped (``agent/graph/inflight.py``),
    met again on resume: ``action`` is ``"rerun"`` (approved, or yolo mode), ``"not_rerun"``
    (denied: the policy is told) or ``"recovered"`` (it had finished: its recorded answer is used,
    nothing runs again)."""

    tool: str
    category: str
    args: dict
    index: int  # trace index of its [CALL]
    started: float  # when it had started (time.time())
    action: str


@dataclass(frozen=True)
class MalformedCall(Event):
    """A call the agent could not run (unknown tool, bad arguments): answered with an error."""

    text: str
    error: str


@dataclass(frozen=True)
class TapeSnapshot(Event):
    """``PointerTape.snapshot(window=...)``: length, head positions, symbols around each head."""

    snapshot: dict


@dataclass(frozen=True)
class MemorySnapshot(Event):
    """Snapshot of another in-process memory tool (the search memory) after a step."""

    tool: str
    snapshot: dict


@dataclass(frozen=True)
class Stats(Event):
    tokens: int  # trace length so far (prompt included)
    step_tokens: int  # tokens this step added
    tokens_per_s: float | None  # this step's rate
    state_bytes: int  # the policy's recurrent state (constant for an SSM)
    steps: int
    tool_calls: int
    malformed: int
    seconds: float  # running time so far, over all resumes


@dataclass(frozen=True)
class ApprovalRequested(Event):
    """The run paused at an ``interrupt()``: answer with ``Agent.resume(thread_id, approve=...)``
    (or ``Command(resume=...)``). ``request`` is the interrupt's JSON payload."""

    request: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunFinished(Event):
    exit: str
    answer: str
    counts: dict = field(default_factory=dict)
    error: str | None = None
