"""What a sandboxed run could leave behind on the host, looked up the way an administrator would.

Shared by the sandbox's hostile-process cases (tests/tools/) and the agent's crash test
(tests/agent/); importable by its bare name because tests/ (conftest.py's folder) is on sys.path.
Processes are found by a marker in their argv or environment (``/proc/PID/cmdline``,
``/proc/PID/environ``), cgroups by the owner pid in their name (``tools/sandbox/cgroup.py``), SysV
IPC objects by key (``shmget``/``semget``/``msgget`` with no IPC_CREAT: ENOENT when there is none).
"""

from __future__ import annotations

import ctypes
import os
import time

from tapehead.tools.sandbox import cgroup

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_RMID = 0o1000, 0
for _f in (libc.shmget, libc.semget, libc.msgget):
    _f.restype = ctypes.c_int
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]


def marked(marker: str) -> list[int]:
    """Pids (other than this process) whose argv or environment holds ``marker``."""
    needle, me, out = marker.encode(), os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        blob = b""
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{d}/{part}", "rb") as f:
                    blob += f.read()
            except OSError:
                pass
        if needle in blob:
            out.append(int(d))
    return out


def cgroups_of(pid: int) -> list[str]:
    """The ``tapehead-*`` pids cgroups whose owner is ``pid``."""
    root = cgroup.base()
    if root is None:
        return []
    return sorted(n for n in os.listdir(root) if (cgroup.parse_name(n) or (None,))[0] == pid)


def ipc_exists(key: int) -> dict:
    """Whether a SysV shared memory segment, semaphore set, message queue with ``key`` exists here."""
    return {"shm": libc.shmget(key, 0, 0) != -1, "sem": libc.semget(key, 0, 0) != -1,
            "msg": libc.msgget(key, 0) != -1}


def left_behind(marker: str, owner: int | None = None, keys=()) -> dict:
    """Everything of a run still on the host: marked processes, the owner's cgroups, IPC keys."""
    owner = os.getpid() if owner is None else owner
    return {"processes": marked(marker), "cgroups": cgroups_of(owner),
            "ipc": {k: v for k in keys if any((v := ipc_exists(k)).values())}}


def nothing_left(marker: str, owner: int | None = None, keys=(), within: float = 0.0) -> dict:
    """``left_behind`` once it is empty, or when ``within`` seconds are up (then what is left)."""
    end = time.monotonic() + within
    while True:
        found = left_behind(marker, owner, keys)
        if not any(found.values()) or time.monotonic() >= end:
            return found
        time.sleep(0.02)


EMPTY = {"processes": [], "cgroups": [], "ipc": {}}
