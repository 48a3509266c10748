"""Sessions: every run is a LangGraph thread, checkpointed in one SQLite file, with a summary row.

Convention: the database is ``--db``, else ``$TAPEHEAD_HOME/sessions.sqlite``, else
``~/.local/state/tapehead/sessions.sqlite`` (WAL journal, ``synchronous=NORMAL``: see ``open_saver``).
LangGraph's ``SqliteSaver`` owns its tables
(``checkpoints``, ``writes``); this module adds ``tapehead_sessions`` (one row per thread: task,
input, policy, status, size, times) so that listing sessions does not have to rebuild any state, and
shares the saver's connection and lock. Status is the exit status, ``running`` (not finished: still
running, or killed -- ``tapehead run --resume ID`` continues it) or ``awaiting_approval``.
Session ids name files (``TAPEHEAD_HOME/trajectories/ID.json``), so they follow one rule,
``check_thread_id``: 1-128 ASCII letters, digits and ``._-``, starting with a letter or digit (no
``/``, no ``..``). ``find`` takes an id or a unique prefix of one, never an empty one.
Deleting a session deletes the thread's checkpoints, its row, its workspace scratch copy, and its
trajectory file when that is the default one (``TAPEHEAD_HOME/trajectories/ID.json``), and its
in-flight records (``tapehead_inflight``, ``agent/graph/inflight.py``).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from tapehead.agent.errors import NotFound

from .inflight import InFlight

COLUMNS = ("thread_id", "created", "updated", "task", "input", "policy", "status", "tokens", "steps", "answer",
           "out", "workspace", "run")


THREAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_thread_id(thread_id) -> str:
    """``thread_id`` if it follows the rule (module docstring); ValueError naming it otherwise."""
    if not isinstance(thread_id, str) or not THREAD_ID.fullmatch(thread_id):
        shown = repr(thread_id) if len(repr(thread_id)) <= 60 else repr(thread_id)[:59] + "…"
        raise ValueError(f"a session id is 1-128 ASCII letters, digits and ._- starting with a letter or digit; "
                         f"got {shown}")
    return thread_id


def home() -> Path:
    env = os.environ.get("TAPEHEAD_HOME")
    return Path(env).expanduser() if env else Path.home() / ".local" / "state" / "tapehead"


def default_db() -> str:
    return str(home() / "sessions.sqlite")


def open_saver(db: str | None, synchronous: str = "NORMAL"):
    """A checkpointer: ``SqliteSaver`` on ``db`` (made if needed), or ``InMemorySaver`` for ``":memory:"``.

    ``synchronous=NORMAL`` (WAL mode): a commit is in the OS's hands, not fsynced -- a process killed
    at any moment (SIGKILL included) loses no committed step; an OS crash or power loss may lose
    the last steps, never the database. ``FULL`` fsyncs every commit (about 3 ms each here, three
    commits per step)."""
    if db == ":memory:":
        return InMemorySaver()
    path = os.path.abspath(os.path.expanduser(db or default_db()))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    saver = SqliteSaver(conn)
    saver.setup()  # WAL journal
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return saver


class SessionIndex:
    """The summary rows, in the saver's SQLite database (or in memory for an in-memory saver)."""

    def __init__(self, saver):
        self.saver = saver
        self.conn: sqlite3.Connection | None = getattr(saver, "conn", None)
        self.lock = getattr(saver, "lock", None) or threading.Lock()
        self._mem: dict[str, dict] = {}
        if self.conn is not None:
            with self.lock:
                self.conn.execute(
                    "CREATE TABLE IF NOT EXISTS tapehead_sessions (thread_id TEXT PRIMARY KEY, created REAL, "
                    "updated REAL, task TEXT, input TEXT, policy TEXT, status TEXT, tokens INTEGER, steps INTEGER, "
                    "answer TEXT, out TEXT, workspace TEXT, run TEXT)")
                self.conn.commit()

    def add(self, thread_id: str, *, task: str, input: str, policy: str, out: str | None,
            workspace: dict | None, run: dict | None = None) -> None:
        now = time.time()
        row = {"thread_id": thread_id, "created": now, "updated": now, "task": task, "input": input,
               "policy": policy, "status": "running", "tokens": 0, "steps": 0, "answer": "", "out": out or "",
               "workspace": json.dumps(workspace) if workspace else "", "run": json.dumps(run or {})}
        if self.conn is None:
            self._mem[thread_id] = row
            return
        with self.lock:
            self.conn.execute(f"INSERT OR REPLACE INTO tapehead_sessions ({', '.join(COLUMNS)}) "
                              f"VALUES ({', '.join('?' * len(COLUMNS))})", [row[c] for c in COLUMNS])
            self.conn.commit()

    def update(self, thread_id: str, **fields) -> None:
        fields = {k: v for k, v in fields.items() if k in COLUMNS and k != "thread_id"}
        fields.setdefault("updated", time.time())
        if self.conn is None:
            if thread_id in self._mem:
                self._mem[thread_id].update(fields)
            return
        with self.lock:
            self.conn.execute(f"UPDATE tapehead_sessions SET {', '.join(f'{k} = ?' for k in fields)} "
                              "WHERE thread_id = ?", [*fields.values(), thread_id])
            self.conn.commit()

    def get(self, thread_id: str) -> dict | None:
        rows = self.list(thread_id)
        return rows[0] if rows else None

    def list(self, thread_id: str | None = None) -> list[dict]:
        if self.conn is None:
            rows = [dict(r) for r in self._mem.values() if thread_id in (None, r["thread_id"])]
        else:
            q = f"SELECT {', '.join(COLUMNS)} FROM tapehead_sessions"
            args: list = []
            if thread_id is not None:
                q += " WHERE thread_id = ?"
                args.append(thread_id)
            with self.lock:
                rows = [dict(zip(COLUMNS, r)) for r in self.conn.execute(q + " ORDER BY created", args)]
        for r in rows:
            for k in ("workspace", "run"):
                v = r.get(k)
                r[k] = (json.loads(v) if v else None) if isinstance(v, str) else v
        return sorted(rows, key=lambda r: r["created"])

    def find(self, prefix: str) -> str:
        """The full id of the session whose id starts with ``prefix`` (ids are long); KeyError for no
        match or several, ValueError for an empty prefix or one no id could start with."""
        if not prefix:
            raise ValueError("give a session id (or a unique prefix of one), not an empty string")
        check_thread_id(prefix)
        ids = [r["thread_id"] for r in self.list() if r["thread_id"].startswith(prefix)]
        if len(ids) == 1:
            return ids[0]
        if prefix in ids:
            return prefix
        if not ids:
            raise NotFound(f"no session {prefix!r} (tapehead sessions lists them)")
        raise NotFound(f"{len(ids)} sessions start with {prefix!r}: give more of the id")

    def delete(self, thread_id: str) -> str:
        """Delete the thread's checkpoints, row, workspace copy and default trajectory file; says what was done."""
        row = self.get(thread_id)
        self.saver.delete_thread(thread_id)
        if self.conn is not None:
            InFlight(self.conn, self.lock).forget(thread_id)
        notes = ["deleted checkpoints"]
        ws = (row or {}).get("workspace")
        if ws and ws.get("scratch") and os.path.isdir(ws["scratch"]):
            try:
                from .toolset import Toolset

                notes.append(Toolset.reattach(ws).workspace.discard())
            except Exception as e:  # the copy may be half gone; never keep the row because of it
                notes.append(f"workspace not discarded: {e}")
        out = (row or {}).get("out") or ""
        default_dir = os.path.realpath(home() / "trajectories")
        # files the user named are theirs to keep; the row is read from a file, so compare real paths
        if out and os.path.dirname(os.path.realpath(out)) == default_dir and os.path.isfile(out) \
                and os.path.basename(out) == f"{thread_id}.json":
            os.remove(out)
            notes.append(f"removed {out}")
        if self.conn is None:
            self._mem.pop(thread_id, None)
        else:
            with self.lock:
                self.conn.execute("DELETE FROM tapehead_sessions WHERE thread_id = ?", [thread_id])
                self.conn.commit()
        return "; ".join(notes)
