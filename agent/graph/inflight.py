"""The in-flight record: which side-effecting call was running when the agent stopped.

Convention: LangGraph checkpoints a node when it returns (``agent/graph/tool_step.py``), so a tool
node killed mid-call is entered again on resume and would run its call a second time, blindly.
So before an ``edit``, ``exec`` or ``git`` call starts, the tool node commits a row to
``tapehead_inflight`` in the sessions database (outside graph state: durable before the call can
have any effect) naming the call -- thread, call index (the trace index of its ``[CALL]``), tool,
a digest of tool and arguments, start time, the agent's pid -- and records the answer in that row
once the call returns. Entered again for a call with a row:

- *unfinished* (the agent died during the call): the node says so -- an ``InFlightCall`` event,
  and a request of kind ``"rerun"`` through the same ``interrupt()`` as approval ("this run call
  was running when the agent stopped (it started at 14:02:07); run it again?") -- or follows the
  approval mode: ``yolo`` runs it again and the observation starts with a note saying it is a
  re-run; a denial answers the policy that the call was not re-run;
- *finished* (the call returned but the agent died before its step was checkpointed): the
  recorded answer is the observation and nothing runs again.

``read`` calls change nothing and are not recorded (a killed one simply runs again). In-memory
sessions (no database) keep no record: they cannot outlive their process. The resume side
(``Agent``) uses ``current_request``: LangGraph keeps the approval interrupt answered before the
crash as still pending, so the request shown is the re-run question instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

RECORDED = ("edit", "exec", "git")  # categories whose calls change something


def digest(tool: str, args: dict) -> str:
    text = json.dumps({"tool": tool, "args": args}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


@dataclass(frozen=True)
class Record:
    thread_id: str
    index: int
    tool: str
    digest: str
    started: float
    pid: int
    finished: float | None
    ok: bool | None
    observation: str | None

    @property
    def running(self) -> bool:
        return self.finished is None

    def question(self) -> str:
        return (f"this {self.tool} call was running when the agent stopped (it started at "
                f"{clock(self.started)}); run it again?")

    def rerun_note(self) -> str:
        return (f"note: this call was running when the agent stopped (it started at {clock(self.started)}); "
                "it was run again\n")

    def not_rerun_text(self, note: str = "") -> str:
        return (f"not re-run: this {self.tool} call was running when the agent stopped (it started at "
                f"{clock(self.started)}); the user chose not to run it again" + (f" ({note})" if note else ""))


def rerun_request(call: dict, record: Record) -> dict:
    """The interrupt payload: the approval request's fields, kind ``"rerun"``, and the question."""
    return {"kind": "rerun", "tool": call["tool"], "category": call["category"], "args": call["args"],
            "index": call["index"], "started": record.started, "message": record.question()}


class InFlight:
    """The ``tapehead_inflight`` table, on the saver's SQLite connection and lock."""

    COLUMNS = ("thread_id", "call_index", "tool", "digest", "started", "pid", "finished", "ok", "observation")

    def __init__(self, conn, lock):
        self.conn, self.lock = conn, lock
        with self.lock:
            self.conn.execute("CREATE TABLE IF NOT EXISTS tapehead_inflight (thread_id TEXT, call_index INTEGER, "
                              "tool TEXT, digest TEXT, started REAL, pid INTEGER, finished REAL, ok INTEGER, "
                              "observation TEXT, PRIMARY KEY (thread_id, call_index))")
            self.conn.commit()

    @classmethod
    def of(cls, saver) -> "InFlight | None":
        """The record of a saver with a SQLite database; None for in-memory sessions."""
        conn = getattr(saver, "conn", None)
        return cls(conn, saver.lock) if conn is not None else None

    def get(self, thread_id: str, index: int, tool: str, args: dict) -> Record | None:
        """The row of this call (same index, same tool and arguments), or None."""
        with self.lock:
            row = self.conn.execute(f"SELECT {', '.join(self.COLUMNS)} FROM tapehead_inflight "
                                    "WHERE thread_id = ? AND call_index = ?", [thread_id, index]).fetchone()
        if row is None or row[3] != digest(tool, args):
            return None  # none, or another call at this index (a session forked from an older step)
        ok = None if row[7] is None else bool(row[7])
        return Record(row[0], row[1], row[2], row[3], row[4], row[5], row[6], ok, row[8])

    def begin(self, thread_id: str, index: int, tool: str, args: dict) -> None:
        """Committed before the call runs (WAL: a SIGKILL right after loses nothing)."""
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO tapehead_inflight (thread_id, call_index, tool, digest, "
                              "started, pid) VALUES (?, ?, ?, ?, ?, ?)",
                              [thread_id, index, tool, digest(tool, args), time.time(), os.getpid()])
            self.conn.commit()

    def end(self, thread_id: str, index: int, observation: str, ok: bool) -> None:
        with self.lock:
            self.conn.execute("UPDATE tapehead_inflight SET finished = ?, ok = ?, observation = ? "
                              "WHERE thread_id = ? AND call_index = ?",
                              [time.time(), int(ok), observation, thread_id, index])
            self.conn.commit()

    def forget(self, thread_id: str) -> None:
        with self.lock:
            self.conn.execute("DELETE FROM tapehead_inflight WHERE thread_id = ?", [thread_id])
            self.conn.commit()

    def current_request(self, thread_id: str, request: dict | None) -> dict | None:
        """The request a resumed run really waits for: an approval answered before the agent died
        during the call is the re-run question now; None when the call had finished (its recorded
        answer will be used: nobody needs asking)."""
        if not request or request.get("kind") != "approval":
            return request
        record = self.get(thread_id, request.get("index", -1), request.get("tool", ""), request.get("args") or {})
        if record is None:
            return request
        return rerun_request(request, record) if record.running else None
