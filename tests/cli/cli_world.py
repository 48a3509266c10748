"""A small world of user state for the bad-input tests, and the check every bad input must pass.

The world (``make_world``): a TAPEHEAD_HOME with a sessions database holding two finished runs and
one paused at an approval (with a workspace scratch copy), their trajectory files, a copy of the
shipped addition checkpoint, a project directory, and a shelf of bad files (a directory, garbage,
a truncated database, another program's SQLite file, bad JSON, non-UTF-8 bytes). ``snapshot``
fingerprints all of it -- SQLite files by their content (a read may fold the WAL into the file),
everything else by its bytes -- so that a test can say "nothing was lost or changed".

``refused(argv, fragment, capsys)``: ``tapehead ARGV`` in process exits 2, prints exactly one line
on stderr that contains ``fragment``, nothing on stdout, no traceback, and the world is unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

from tapehead.agent.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "evals" / "policies" / "addition"
WAIT_SCRIPT = "[CALL]run python a.py[/CALL][OBS][/OBS][ANS]done[EOS]"


def _db_content(path: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def snapshot(root: Path) -> dict[str, str]:
    """path -> fingerprint of every file under ``root``: a SQLite file's content (journals folded in:
    a read may checkpoint the WAL), every other file's size and modification time (any write
    changes them; cheaper than hashing the checkpoints for every case)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink() or not p.is_file() or p.name.endswith(("-wal", "-shm", "-journal")):
            continue
        rel = str(p.relative_to(root))
        content = _db_content(p) if p.suffix == ".sqlite" else None
        st = p.stat()
        out[rel] = content or f"{st.st_size}:{st.st_mtime_ns}"
    return out


def make_world(root: Path) -> dict[str, str]:
    """Build the world under ``root`` (TAPEHEAD_HOME must already point at root/home); its paths."""
    from tapehead.agent.agent import Agent

    home, bad, proj = root / "home", root / "bad", root / "project"
    for d in (home, bad, proj, root / "ckpt", root / "empty-dir"):
        d.mkdir(parents=True, exist_ok=True)
    src, script = project(root)
    for suffix in (".json", ".safetensors"):
        shutil.copy(str(SHIPPED) + suffix, root / "ckpt" / f"addition{suffix}")
    db = str(home / "sessions.sqlite")
    assert main(["run", "--task", "addition", "12+34", "--policy", "teacher", "--thread", "done-1", "--json"]) == 0
    assert main(["run", "--task", "addition", "99+1", "--policy", "teacher", "--thread", "done-2", "--json"]) == 0
    assert main(["run", "run it", "--policy", f"script:{script}", "--workspace", src, "--thread", "wait-1",
                 "--no-prompt", "--json"]) == 3
    # bad files
    (bad / "garbage.sqlite").write_bytes(os.urandom(3000))
    shutil.copy(db, bad / "copy.sqlite")
    with open(bad / "copy.sqlite", "rb") as f:
        head = f.read(8192)
    (bad / "truncated.sqlite").write_bytes(head)
    conn = sqlite3.connect(bad / "other.sqlite")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('ada')")
    conn.commit()
    conn.close()
    (bad / "not-utf8.txt").write_bytes(b"12\xff+34")
    (bad / "empty.txt").write_text("")
    (bad / "big.txt").write_text("1" * 3000 + "+1")
    (bad / "list.json").write_text("[1, 2, 3]")
    (bad / "garbage.json").write_text("{not json")
    (bad / "no-format.json").write_text('{"tokens": [1, 2]}')
    (bad / "a-file").write_text("x")
    (bad / "ckpt-bad.json").write_text("{not json")
    shutil.copy(str(SHIPPED) + ".safetensors", bad / "ckpt-bad.safetensors")
    shutil.copy(str(SHIPPED) + ".json", bad / "ckpt-trunc.json")
    (bad / "ckpt-trunc.safetensors").write_bytes(Path(str(SHIPPED) + ".safetensors").read_bytes()[:100])
    (bad / "script-strings.json").write_text('["a", "b"]')
    head = '{"format": "tapehead-trajectory", "version": 1, "task": "addition", "input": "1+1=", '
    for name, rest in (("traj-no-tokens", '"prompt_len": 2}'), ("traj-float", '"prompt_len": 2, "tokens": [1.5, 2]}'),
                       ("traj-oov", '"prompt_len": 2, "tokens": [99999]}'),
                       ("traj-negative-prompt", '"prompt_len": -1, "tokens": [1, 2]}'),
                       ("traj-huge-prompt", '"prompt_len": 1000000000, "tokens": [1]}'),
                       ("traj-version", '"prompt_len": 1, "tokens": [1]}')):
        (bad / f"{name}.json").write_text(head.replace('"version": 1', '"version": 99') + rest if name == "traj-version"
                                          else head + rest)
    cfg = json.loads(Path(str(SHIPPED) + ".json").read_text())
    cfg["model_config"]["d_model"] = 10**7  # a 2 KB file that would ask for gigabytes
    (bad / "ckpt-huge.json").write_text(json.dumps(cfg))
    shutil.copy(str(SHIPPED) + ".safetensors", bad / "ckpt-huge.safetensors")
    return {"root": str(root), "home": str(home), "db": db, "bad": str(bad), "src": src, "proj": str(proj),
            "ckpt": str(root / "ckpt" / "addition"), "dir": str(root / "empty-dir"), "script": script}


def project(tmp_path: Path) -> tuple[str, str]:
    """A tiny source directory and a script whose one call (``run python a.py``) waits for approval."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("print('hello from a.py')\n")
    script = tmp_path / "calls.txt"
    script.write_text(WAIT_SCRIPT)
    return str(src), str(script)


def fill(argv, world: dict[str, str]):
    """``{root}``, ``{bad}``, ... replaced by the world's paths (in a list of arguments, or one string)."""
    if isinstance(argv, str):
        for k, v in world.items():
            argv = argv.replace("{" + k + "}", v)
        return argv
    return [fill(a, world) for a in argv]


def stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def refused(argv: list[str], fragment: str, capsys, root: Path) -> str:
    """Run ``tapehead ARGV`` in process; assert the bad-input contract (module docstring); the line."""
    before = snapshot(root)
    capsys.readouterr()
    rc = main(argv)
    got = capsys.readouterr()
    lines = [ln for ln in got.err.splitlines() if ln.strip()]
    assert rc == 2, (rc, got.err, got.out)
    assert "Traceback" not in got.err + got.out
    assert len(lines) == 1, got.err
    assert fragment in lines[0], lines[0]
    assert "internal error" not in lines[0]
    assert got.out == "", got.out
    assert snapshot(root) == before, "the command changed the user's files"
    return lines[0]
