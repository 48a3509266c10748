"""Shared pieces of the agent-graph tests: the codec, teacher traces, small workspaces, scripts."""

from __future__ import annotations

import os

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec
from tapehead.agent.tasks import get_task
from tapehead.agent.trace.markup import parse_markup

C = codec()
ADD = get_task("addition")


def teacher(text: str):
    """The teacher's trajectory for an addition (canonical text, e.g. "358+64=")."""
    return run_episode(ADD.teacher(C), C, text, task="addition")


def script(markup: str) -> list[int]:
    return parse_markup(C, markup)


def scripted(markup: str):
    """A scripted policy writing ``markup``'s tokens; its ``[OBS][/OBS]`` placeholders are skipped
    whatever the tools answer (ReplayPolicy)."""
    from tapehead.agent.policies.replay_policy import ReplayPolicy

    return ReplayPolicy(parse_markup(C, markup), C)


def source_dir(tmp_path, name: str = "src") -> str:
    """A tiny project to make workspaces from."""
    d = tmp_path / name
    d.mkdir()
    (d / "a.py").write_text("print('hello from a.py')\n")
    (d / "README").write_text("a tiny project\n")
    return str(d)


def checkpoint_sizes(db: str, thread_id: str) -> list[int]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute(
            "SELECT length(checkpoint) FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id", (thread_id,))]
    finally:
        con.close()


def exists_in_scratch(agent, rel: str) -> bool:
    return os.path.exists(os.path.join(agent.toolset.workspace.root, rel))
