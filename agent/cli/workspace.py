"""``tapehead accept ID``, ``tapehead undo ID``, ``tapehead discard ID``: the user's decisions on a
session's workspace (the scratch copy made by ``tapehead run --workspace DIR``).

Registered as plugins of ``agent/cli/main.py`` (entry points in pyproject.toml). Top-level commands,
not ``sessions`` actions: they act on the user's own tree (``sessions`` only keeps the records), and
they are what a user types most after a run. Each reattaches to the session's scratch copy with
``Toolset.reattach`` and calls the Workspace API (``diff_text``, ``accept``, ``undo``, ``discard``;
``tools/workspace/``), the only code that writes to the user's directory:

- ``accept`` shows the diff, asks (or ``--yes``), and writes the changes into the user's directory;
- ``undo`` puts back what the last accept overwrote (accepts made by another process included);
- ``discard`` removes the scratch copy; the session keeps its record (``sessions delete`` removes both).

Exit status: 0 done, 1 refused (a conflict, an answer of no, nothing to undo), 2 a user error (no
such session, no workspace, the copy already discarded).
"""

from __future__ import annotations

import json
import os
import sys

from .common import db_option, err, out


def _parser(sub, name: str, help_: str, func):
    p = sub.add_parser(name, help=help_, description=help_ + ". ID is a session id (a unique prefix is enough).")
    p.add_argument("id", help="session id (tapehead sessions lists them)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    db_option(p)
    p.set_defaults(func=func)
    return p


def register_accept(sub) -> None:
    p = _parser(sub, "accept", "show a session's workspace diff and write it into your directory", cmd_accept)
    p.add_argument("--yes", "-y", action="store_true", help="accept without asking")


def register_undo(sub) -> None:
    _parser(sub, "undo", "undo the last accept of a session's workspace (restore your files)", cmd_undo)


def register_discard(sub) -> None:
    _parser(sub, "discard", "remove a session's scratch copy (your directory is not touched)", cmd_discard)


class _Session:
    """The session's index row and, when its scratch copy is still there, its reattached workspace."""

    def __init__(self, args):
        from tapehead.agent.graph.sessions import SessionIndex, default_db, open_saver

        from .main import UserError

        db = args.db or default_db()
        if not os.path.exists(db):
            raise UserError(f"no sessions yet ({db})")
        self.saver = open_saver(db)
        self.index = SessionIndex(self.saver)
        try:
            self.id = self.index.find(args.id)
            self.snap = (self.index.get(self.id) or {}).get("workspace")
            if not self.snap:
                raise UserError(f"session {self.id} has no workspace (it ran without --workspace)")
        except BaseException:
            self.close()
            raise

    def gone(self) -> bool:
        return bool(self.snap.get("closed")) or not os.path.isdir(str(self.snap.get("scratch", "")))

    def workspace(self):
        from tapehead.agent.graph.toolset import Toolset

        from .main import UserError

        if self.gone():
            raise UserError(f"session {self.id}: its scratch copy was discarded; nothing to accept or undo")
        return Toolset.reattach(self.snap).workspace

    def record(self, ws) -> None:
        """Keep the session's record of its workspace current (closed, base, accepts)."""
        self.index.update(self.id, workspace=json.dumps(ws.snapshot()))

    def close(self) -> None:
        conn = getattr(self.saver, "conn", None)
        if conn is not None:
            conn.close()


def _finish(args, s: _Session, ok: bool, message: str, **extra) -> int:
    if args.json:
        print(json.dumps({"session": s.id, "ok": ok, "message": message, **extra}, ensure_ascii=False))
    else:
        (out if ok else err).print(message, highlight=False, markup=False)
    return 0 if ok else 1


def cmd_accept(args) -> int:
    from .main import UserError

    s = _Session(args)
    try:
        ws = s.workspace()
        diff = ws.diff_text()
        if not diff.strip():
            return _finish(args, s, True, f"session {s.id}: nothing to accept, the workspace matches "
                                           f"{ws.source} as it started", files=[])
        if not args.json:
            out.print(diff, highlight=False, markup=False, end="" if diff.endswith("\n") else "\n")
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError(f"not accepted: give --yes to accept session {s.id}'s diff without a terminal to ask on")
            try:
                answer = input(f"accept these changes into {ws.source}? [y/N] ").strip().lower()
            except EOFError:
                answer = ""
            if answer not in ("y", "yes"):
                return _finish(args, s, False, "not accepted; your directory is unchanged")
        obs = ws.accept()
        s.record(ws)
        return _finish(args, s, obs.ok, obs.text, files=(obs.data or {}).get("files", []),
                       diff=diff if args.json else None)
    finally:
        s.close()


def cmd_undo(args) -> int:
    s = _Session(args)
    try:
        ws = s.workspace()
        obs = ws.undo()
        s.record(ws)
        return _finish(args, s, obs.ok, obs.text, files=(obs.data or {}).get("files", []))
    finally:
        s.close()


def cmd_discard(args) -> int:
    s = _Session(args)
    try:
        if s.gone():
            return _finish(args, s, True, f"session {s.id}: the scratch copy was already discarded")
        ws = s.workspace()
        note = ws.discard()
        s.record(ws)
        return _finish(args, s, True, f"session {s.id}: {note}; the session's record stays "
                                      f"(`tapehead sessions delete {s.id}` removes it)")
    finally:
        s.close()
