"""The agent graph's state: JSON-able records only (docs/design.md: the policy's state is a cache).

Convention: the token stream is stored as *chunks* (the prompt, then what each policy step added)
in a ``DeltaChannel``: a checkpoint stores only the chunk a step wrote (plus a full snapshot every
``SNAPSHOT_EVERY`` steps), not the whole trace, so a step's checkpoint costs O(step), not
O(episode). LangGraph marks ``DeltaChannel`` beta; it is the documented way to get this from
``SqliteSaver``, which otherwise serializes every channel into every checkpoint. The list of
side-effecting calls grows the same way. Everything else is a small last-value field.

Fields (all written by the nodes of ``agent/graph/build.py``):

- ``run``: what the run is (task, input, episode text, policy spec, approval modes, limits, step
  size, workspace, output file); set once, enough to rebuild the agent in another process;
- ``chunks``, ``n_tokens``, ``prompt_len``: the trace, each chunk the bytes of its tokens
  (``chunk_of``; sessions written before hold lists of ints, which ``tokens_of`` still reads);
- ``counts``, ``malformed_run``: the ``Episode`` counters (not derivable from tokens alone);
- ``steps``, ``seconds``: graph steps taken and running time, over every resume;
- ``pending``: a side-effecting call waiting for the tool node; ``result``: its answer, waiting
  for the next policy step; ``calls``: every side-effecting call with its answer;
- ``exit``, ``error``, ``answer``: how it ended (``exit`` is None while running).
"""

from __future__ import annotations

from array import array
from typing import Annotated, Any, TypedDict

from langgraph.channels import DeltaChannel

from tapehead.agent.trace.tokens import from_bytes, to_bytes, token_array

SNAPSHOT_EVERY = 64


def _concat(value: list, writes: list) -> list:
    """The reducer: each write is a list of items to append (batching-invariant, as required)."""
    out = list(value)
    for w in writes:
        out.extend(w)
    return out


class AgentState(TypedDict, total=False):
    run: dict[str, Any]
    prompt_len: int
    chunks: Annotated[list, DeltaChannel(_concat, list, snapshot_frequency=SNAPSHOT_EVERY)]
    n_tokens: int
    counts: dict[str, int]
    malformed_run: int
    steps: int
    seconds: float
    pending: dict[str, Any] | None
    result: dict[str, Any] | None
    calls: Annotated[list, DeltaChannel(_concat, list, snapshot_frequency=SNAPSHOT_EVERY)]
    exit: str | None
    error: str | None
    answer: str


def chunk_of(tokens) -> bytes:
    """A chunk as stored: the tokens' little-endian uint16 bytes (agent/trace/tokens.py), 2 bytes a
    token in memory and in the checkpoint, where a list of ints held ~20 once deserialized."""
    return to_bytes(tokens if isinstance(tokens, array) else token_array(tokens))


def _ids(chunk) -> array:
    return from_bytes(chunk) if isinstance(chunk, (bytes, bytearray)) else token_array(chunk)  # lists: older sessions


def tokens_of(state: dict) -> array:
    """The whole trace (prompt first) from the stored chunks, as an ``array('H')``."""
    out = token_array()
    for chunk in state.get("chunks") or ():
        out.extend(_ids(chunk))
    return out


def last_token(state: dict) -> int | None:
    """The trace's last token (None for an empty one), without joining the chunks."""
    chunk = next((c for c in reversed(state.get("chunks") or ()) if len(c)), None)
    return None if chunk is None else _ids(chunk)[-1]


def initial_state(run: dict, prompt) -> dict:
    return {
        "run": run, "prompt_len": len(prompt), "chunks": [chunk_of(prompt)], "n_tokens": len(prompt),
        "counts": dict(generated=0, observations=0, tool_calls=0, thoughts=0, outputs=0, malformed=0),
        "malformed_run": 0, "steps": 0, "seconds": 0.0, "pending": None, "result": None, "calls": [],
        "exit": None, "error": None, "answer": "",
    }
