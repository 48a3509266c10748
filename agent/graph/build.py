"""The agent as a LangGraph graph: a policy node, a tool node and a typed router.

::

    START -> policy --(route)--> policy      another step of decoding (step_tokens reached)
                       |-------> tools       the policy wrote a call to an action tool
                       '-------> END         the episode ended (exit is set)
             tools  ----------> policy       the answer is fed in the next policy step

Convention: the nodes are ``agent/graph/policy_step.py`` and ``agent/graph/tool_step.py``; everything they
need that is not JSON-able state -- the codec, the tools, the policy cache, the limits, the
approval modes -- is a ``GraphContext`` bound to them, owned by whoever builds the graph
(``agent/agent.py``'s ``Agent``; or a user with ``build_graph``). The graph may be compiled with any
checkpointer; with one, every step is a checkpoint (use ``durability="sync"`` to have each step on
disk before the next starts, which is what ``Agent`` does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, Literal

from langgraph.graph import END, START, StateGraph

from tapehead.agent.loops import limits as lim
from tapehead.agent.loops.episode import Limits
from tapehead.agent.trace.codec import Codec
from tapehead.agent.trace.trajectory import Trajectory
from tapehead.agent.trace.trajectory_file import write_trajectory
from .policy_step import policy_node
from .runtime import RuntimeCache
from .state import AgentState
from .tool_step import tool_node
from .toolset import Toolset


@dataclass
class GraphContext:
    codec: Codec
    toolset: Toolset
    runtimes: RuntimeCache
    policy_name: str
    limits: Limits | None = None  # None: each run's own (recorded in its state); else this, for every run
    limit_overrides: dict = field(default_factory=dict)  # Limits fields set on top of either
    modes: dict = field(default_factory=dict)  # approval mode per category (agent/graph/approval.py)
    step_tokens: int = 2048  # written tokens per policy step (a SIGKILL loses at most one step)
    token_events: int | None = None  # Tokens events every N tokens (None: once per step)
    snapshot_window: int = 16  # tape symbols shown around each head in TapeSnapshot events
    on_step: Callable[[str, dict], None] | None = None  # (thread_id, summary) after every step
    inflight: Any = None  # agent/graph/inflight.py's InFlight: side-effecting calls recorded durably (None: not)

    def limits_for(self, run: dict) -> Limits:
        base = self.limits if self.limits is not None else lim.from_json(run.get("limits"))
        return replace(base, **self.limit_overrides) if self.limit_overrides else base

    def save_trajectory(self, state: dict, thread: str, tokens: list[int], answer: str, update: dict,
                        state_bytes: int | None) -> None:
        """The run's trajectory file, rewritten atomically after every step (when the run has one),
        and the session summary."""
        run = state["run"]
        exit_ = update.get("exit") or lim.RUNNING
        counts = update.get("counts", state.get("counts") or {})
        if run.get("out"):
            calls = list(state.get("calls") or []) + list(update.get("calls") or [])
            meta = {"thread_id": thread, "steps": update["steps"], "calls": calls, "run": run,
                    "error": update.get("error", state.get("error"))}
            if state_bytes is not None:
                meta["state_bytes"] = state_bytes
            write_trajectory(run["out"], Trajectory(
                task=run.get("task", ""), input=run["text"], prompt_len=state["prompt_len"], tokens=tokens,
                answer=answer, exit=exit_, counts=dict(counts), seconds=round(update["seconds"], 6),
                policy=self.policy_name, meta=meta))
        if self.on_step is not None:
            self.on_step(thread, {"status": exit_, "tokens": len(tokens), "steps": update["steps"],
                                  "answer": answer[:200], "updated": time.time()})


def route(state: AgentState) -> Literal["policy", "tools", "__end__"]:
    """Where the graph goes after a policy step."""
    if state.get("exit"):
        return END
    if state.get("pending"):
        return "tools"
    return "policy"


def build_graph(ctx: GraphContext) -> StateGraph:
    """The uncompiled graph; compile with ``.compile(checkpointer=...)``."""
    g = StateGraph(AgentState)
    g.add_node("policy", partial(_policy, ctx))
    g.add_node("tools", partial(_tools, ctx))
    g.add_edge(START, "policy")
    g.add_conditional_edges("policy", route, {"policy": "policy", "tools": "tools", END: END})
    g.add_edge("tools", "policy")
    return g


def _policy(ctx: GraphContext, state: AgentState, config) -> dict:
    return policy_node(ctx, state, config)


def _tools(ctx: GraphContext, state: AgentState, config) -> dict:
    return tool_node(ctx, state, config)


def run_config(thread_id: str, limits: Limits | None = None, **configurable) -> dict:
    """The ``config`` for ``invoke``/``stream`` of one thread, with the recursion limit from the limits."""
    return {"configurable": {"thread_id": thread_id, **configurable},
            "recursion_limit": lim.recursion_limit(limits or Limits())}
