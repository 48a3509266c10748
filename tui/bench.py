"""Decode rate with the TUI open against headless, same input, same machine:
``python -m tapehead.tui.bench [--digits 200] [--repeats 5]``.

Convention (docs/benchmarks.md): figures are printed, never asserted. Each mode runs as its own
process, alternating, on one torch thread:

- *headless*: ``tapehead run --task addition --input @FILE --json``;
- *TUI*: ``tapehead tui --task addition --input @FILE`` in a real pseudo-terminal (120x40,
  xterm-256color) whose output is read and thrown away as fast as a terminal would draw it; once
  the session database says the run ended, ``q`` quits the app.

Both rates are read the same way, from the session the run left in its database: generated
tokens / the run's own running time (``Trajectory.seconds``: time inside the graph's nodes, the
figure the status bar shows). The wall time of each process is printed beside it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import random
import resource
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time


def problem(digits: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    a = "".join(rng.choice("0123456789") for _ in range(digits)).lstrip("0") or "1"
    b = "".join(rng.choice("0123456789") for _ in range(digits)).lstrip("0") or "1"
    return f"{a}+{b}"


def session_rate(db: str, thread: str) -> tuple[float, int, float, str]:
    """(tokens/s, generated tokens, seconds, exit) of a stored session."""
    from tapehead.tui import records

    saver, index = records.open_index(db)
    try:
        s = records.load(saver, index, thread)
    finally:
        saver.conn.close()
    t = s.trajectory
    return t.generated / t.seconds, t.generated, t.seconds, s.status


def tapehead() -> list[str]:
    return [sys.executable, "-m", "tapehead"]


def run_headless(home: str, input_file: str, thread: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``tapehead run``."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([*tapehead(), "run", "--task", "addition", "--input", f"@{input_file}", "--thread", thread,
                    "--threads", "1", "--json"], env={**os.environ, "TAPEHEAD_HOME": home}, check=True,
                   capture_output=True)
    return time.perf_counter() - t0, _children_cpu() - c0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tui(home: str, input_file: str, thread: str, db: str, timeout: float = 900) -> tuple[float, float]:
    """The app in a pseudo-terminal, its output drained continuously: (wall seconds, CPU seconds)."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app on the pty's slave end
        os.environ.update(TAPEHEAD_HOME=home, TERM="xterm-256color", COLUMNS="120", LINES="40")
        os.execv(sys.executable, [*tapehead(), "tui", "--task", "addition", "--input", f"@{input_file}",
                                  "--thread", thread, "--threads", "1"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    drawn, quit_sent, cpu = 0, None, None
    try:
        while cpu is None:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal: it has exited
                    break
                if not chunk:
                    break
                drawn += len(chunk)
            if quit_sent is None and _finished(db, thread):
                os.write(fd, b"q")
                quit_sent = time.perf_counter()
            if quit_sent is not None and time.perf_counter() - quit_sent > 5:
                os.write(fd, b"\x03")  # ctrl+c, the app's quit too
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("the TUI run did not finish")
            pid_done, _, usage = os.wait4(pid, os.WNOHANG)
            if pid_done == pid:
                cpu = usage.ru_utime + usage.ru_stime
    finally:
        if cpu is None:
            _, _, usage = os.wait4(pid, 0)
            cpu = usage.ru_utime + usage.ru_stime
        os.close(fd)
    return time.perf_counter() - t0, cpu


def _finished(db: str, thread: str) -> bool:
    import sqlite3

    if not os.path.exists(db):
        return False
    con = sqlite3.connect(db, timeout=5)
    try:
        row = con.execute("SELECT status FROM tapehead_sessions WHERE thread_id = ?", (thread,)).fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()
    return bool(row) and row[0] not in ("running", "awaiting_approval")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--digits", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    home = tempfile.mkdtemp(prefix="tapehead-tui-bench-")
    db = os.path.join(home, "sessions.sqlite")
    input_file = os.path.join(home, "input.txt")
    with open(input_file, "w") as f:
        f.write(problem(args.digits))
    rows: dict[str, list[tuple[float, float]]] = {"headless": [], "tui": []}
    try:
        for i in range(args.repeats):
            for mode in ("headless", "tui") if i % 2 == 0 else ("tui", "headless"):
                thread = f"bench-{mode}-{i}"
                wall, cpu = run_headless(home, input_file, thread) if mode == "headless" else \
                    run_tui(home, input_file, thread, db)
                rate, n, secs, exit_ = session_rate(db, thread)
                if exit_ != "eos":
                    raise RuntimeError(f"{mode} run {i} ended with {exit_}")
                rows[mode].append((rate, wall))
                print(f"{mode:8s} run {i}: {rate:7.1f} tok/s ({n} tokens in {secs:.2f} s; process {wall:.1f} s "
                      f"wall, {cpu:.1f} s CPU; load {os.getloadavg()[0]:.1f})", flush=True)
        print(json.dumps({m: {"median_tok_s": round(statistics.median(r for r, _ in v), 1),
                              "min": round(min(r for r, _ in v), 1), "max": round(max(r for r, _ in v), 1)}
                          for m, v in rows.items()}))
        h = statistics.median(r for r, _ in rows["headless"])
        t = statistics.median(r for r, _ in rows["tui"])
        print(f"TUI / headless (medians): {t / h:.3f}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
