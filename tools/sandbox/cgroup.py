"""The run's pids cgroup: made, limited, killed and removed -- also when the agent is SIGKILLed.

Follows the kernel's cgroup interfaces (Documentation/admin-guide/cgroup-v1/pids.rst and
cgroup-v2.rst): ``pids.max`` bounds the process count even for root, ``cgroup.procs`` lists the
members, ``cgroup.kill`` (v2, Linux 5.14+) kills them all at once; a cgroup is removed with
``rmdir`` once it has no live member. Stdlib only and no relative imports: ``sandbox.py`` imports
this as ``tapehead.tools.sandbox.cgroup``, the launcher (``child.py``, run as a script with
``python -I -S``) loads it by path.

A run's cgroup is ``tapehead-OWNER.START-N`` under the pids hierarchy: OWNER is the agent's pid and
START its start time (clock ticks since boot, ``/proc/OWNER/stat`` field 22), so a reused pid is
never taken for a live owner. It is removed on three lines, each enough alone:

1. the agent, after every run (``Sandbox.run``'s ``finally``): kill the members, ``rmdir``;
2. the *janitor* (``spawn_janitor``): forked by the launcher L as its first act, before L joins the
   cgroup (so the janitor is outside it, and outside every namespace L then enters), detached from
   L twice over (its own session, re-parented away from L by a double fork, so neither L's orphan
   sweep nor the agent's kills reach it). It blocks reading a pipe whose only write end L holds;
   when L ends -- normally, at its own timeout, or by its parent-death SIGKILL when the agent dies
   -- the read returns EOF and the janitor kills what is left in the cgroup (and L's process
   group: the fallback without a cgroup), removes it and exits. It holds the write end of the
   agent's ``done`` pipe until then, so a living agent knows when the clean-up is over;
3. the *sweep* (``sweep``), at every ``Sandbox`` start: any ``tapehead-*`` cgroup whose owner is
   gone (a janitor that could not finish: the machine was rebooted mid-run, the janitor itself was
   killed) is killed and removed.
"""

import itertools
import os
import signal
import time

V1, V2 = "/sys/fs/cgroup/pids", "/sys/fs/cgroup"
_counter = itertools.count()  # (atomic under threads; no re or __future__: the launcher imports this file)


def parse_name(name: str) -> tuple[int, int | None] | None:
    """(owner pid, owner start time or None) of a ``tapehead-OWNER[.START]-N`` name (an older name
    had no ``.START``); None for any other name."""
    head, _, n = name.rpartition("-")
    if not head.startswith("tapehead-") or not n.isdigit():
        return None
    owner, dot, start = head[len("tapehead-"):].partition(".")
    if not owner.isdigit() or (dot and not start.isdigit()):
        return None
    return int(owner), int(start) if start else None


def start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/PID/stat`` (after the parenthesised command name), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def base() -> str | None:
    """The writable pids hierarchy: v1's ``pids`` mount, or a v2 root with the pids controller."""
    if os.path.isfile(os.path.join(V1, "cgroup.procs")) and os.access(V1, os.W_OK):
        return V1
    try:
        with open(os.path.join(V2, "cgroup.subtree_control")) as f:
            if "pids" in f.read().split() and os.access(V2, os.W_OK):
                return V2
    except OSError:
        pass
    return None


def make(limit: int) -> str | None:
    """A new cgroup of this process with ``pids.max = limit``, or None where none can be made."""
    root = base()
    if root is None:
        return None
    me = os.getpid()
    path = os.path.join(root, f"tapehead-{me}.{start_time(me)}-{next(_counter)}")
    try:
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(limit))
        return path
    except OSError:
        remove(path)
        return None


def pids(path: str) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def kill(path: str, seconds: float = 1.0) -> bool:
    """SIGKILL every member until none is left (``cgroup.kill`` where the kernel has it; else each
    pid, again and again: ``pids.max`` bounds what a fork loop can add meanwhile). True if empty."""
    end = time.monotonic() + seconds
    killer = os.path.join(path, "cgroup.kill")
    while True:
        members = pids(path)
        if not members:
            return True
        if time.monotonic() > end:
            return False
        try:
            with open(killer, "w") as f:
                f.write("1")
        except OSError:
            sigkill(members)
        time.sleep(0.002)


def sigkill(pids) -> None:
    """SIGKILL each pid; one already gone (or not ours to signal) is skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def remove(path: str | None, seconds: float = 1.0) -> bool:
    """Kill the members and ``rmdir`` (retried: a killed member leaves the cgroup when it exits)."""
    if not path:
        return True
    end = time.monotonic() + seconds
    while True:
        if not os.path.isdir(path):
            return True
        kill(path, max(0.0, end - time.monotonic()))
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > end:
                return False
            time.sleep(0.005)


def owner_alive(name: str) -> bool:
    """Whether the agent that made cgroup ``name`` still runs (pid and start time both match)."""
    parsed = parse_name(name)
    if parsed is None:
        return True  # not ours to judge
    started = start_time(parsed[0])
    return started is not None and (parsed[1] is None or parsed[1] == started)


def sweep() -> list[str]:
    """Remove every ``tapehead-*`` cgroup whose owner is gone; the paths removed."""
    root = base()
    if root is None:
        return []
    try:
        names = os.listdir(root)
    except OSError:
        return []
    done = []
    for name in names:
        if parse_name(name) is not None and not owner_alive(name):
            path = os.path.join(root, name)
            if remove(path, seconds=2.0):
                done.append(path)
    return done


def spawn_janitor(path: str | None, done_fd: int | None) -> int:
    """Called by the launcher L first thing: start the janitor; returns the pipe end L must hold
    for the rest of its life (non-inheritable, so no command ever holds it; L's fork C closes it)."""
    launcher = os.getpid()
    alive_r, alive_w = os.pipe()
    mid = os.fork()
    if mid == 0:
        try:
            os.close(alive_w)
            os.setsid()  # before the second fork: the janitor is never in L's process group
            if os.fork() == 0:
                _janitor(path, alive_r, done_fd, launcher)
        finally:
            os._exit(0)
    os.close(alive_r)
    os.waitpid(mid, 0)
    return alive_w


def _janitor(path: str | None, alive_r: int, done_fd: int | None, launcher: int) -> None:
    """Wait for L to end, then kill and remove the cgroup and L's process group; never returns."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # hold none of the agent's output pipes
            os.dup2(null, fd)
        keep = {0, 1, 2, alive_r, done_fd}
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in keep:
                try:
                    os.close(int(name))
                except OSError:
                    pass
        os.chdir("/")
        while os.read(alive_r, 1):
            pass
        try:  # at once (L's pid is not reused while its group has members): the fallback without a cgroup
            os.killpg(launcher, signal.SIGKILL)
        except OSError:
            pass
        remove(path, seconds=10.0)
    finally:
        os._exit(0)
