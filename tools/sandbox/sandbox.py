"""Sandboxed execution: run a command in a child process inside the workspace, contained.

Convention (DESIGN.md, "Tools"): code runs in a child process in the scratch copy, with a wall-clock
timeout that kills the whole process group, resource limits, a scrubbed environment, no network
where the OS allows it, and output cut to head and tail. The child-side set-up lives in
``tools/sandbox/child.py`` (a fresh ``python -I -S`` process that isolates itself and then execs the
command); this module starts it, streams its output, enforces the timeout and cleans up. Every
result says which isolation was actually in force: nothing is assumed.

What is contained, and how (measured on the 2-core dev machine, Linux 6.18, running as root, where
every layer below is in force; ``Sandbox.isolation()`` reports the facts on any machine):

- time: wall-clock timeout -> SIGKILL to every descendant of the launcher (found in /proc; the
  launcher is their subreaper, so a ``setsid`` daemon is still below it), to every pid in the run's
  pids cgroup, and to the process group (``start_new_session`` + ``os.killpg``); with a pid
  namespace the kernel also kills everything left when the run's init exits. The launcher keeps
  its own deadline (``LAUNCHER_GRACE_S`` later), so a stopped or stuck agent cannot hold a run
  open. RLIMIT_CPU: SIGXCPU, then SIGKILL one second later (the command runs as pid 2, so SIGXCPU
  is delivered);
- the agent's death (SIGKILL included): the launcher has a parent-death signal, the run's init and
  command have one from their parents, and a janitor outside the run removes its pids cgroup
  (``tools/sandbox/cgroup.py``); every ``Sandbox`` start sweeps the cgroups of dead agents;
- memory: RLIMIT_AS per process (MemoryError / failed mmap); total memory is bounded only as
  (process count) x (RLIMIT_AS) plus the small tmpfs mounts;
- files: RLIMIT_FSIZE (SIGXFSZ / EFBIG); RLIMIT_NOFILE;
- processes: a pids cgroup (``pids.max``) when ``/sys/fs/cgroup/pids`` (v1) or a cgroup v2 with the
  pids controller is writable; and RLIMIT_NPROC, which binds only for a non-root host uid: as root
  it binds because the command runs as kuid 65534 in its own user namespace (both are reported);
- network: a new network namespace with only loopback up (no route out; localhost works; the host's
  abstract unix sockets are out of reach);
- IPC and hostname: a new IPC namespace (SysV shared memory, semaphores and message queues of the
  run die with it; the host's are invisible) and a new UTS namespace (hostname ``sandbox``);
- filesystem: a new mount namespace and a pivot_root into a tmpfs root that holds only read-only
  system directories (/usr, /bin, /lib*, a few /etc files, the Python installation), the
  workspace tree and its tmp (read-write), a private /tmp and /dev/shm (tmpfs), a minimal /dev and
  a read-only /proc of the run's own pid namespace. The user's directory, /root, /home, /work and
  the rest of the host are absent; writes outside the workspace fail or land in the per-run tmpfs;
- privileges: root inside a user namespace (host kuid 65534), capabilities reduced to file access
  (chown, dac_override, dac_read_search, fowner, fsetid, kill), no_new_privs;
- environment: PATH of system dirs and the interpreter's dir, HOME=TMPDIR=workspace tmp, C.UTF-8
  locale, nothing inherited (no tokens, no proxies, no PYTHONPATH);
- output: stdout and stderr merged, read in 1 MiB chunks keeping only head and tail, so any amount
  of output costs bounded memory; the count of bytes cut is reported.

Not contained: CPU share (no cgroup cpu limit: a run may use every core until its limits hit),
disk space (per-file size only: many files can still fill the workspace's disk), disk bandwidth,
and read access to the exposed system directories and the Python installation (if the user's
directory lies under one of those, it is visible read-only, and the facts say so). Without namespaces (another OS,
a container that forbids unshare) the run falls back to rlimits + process-group kill + scrubbed
environment in the workspace cwd, and the result says that network and filesystem are NOT isolated:
absolute-path writes anywhere the user may write would then succeed.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys
import time
from dataclasses import dataclass, field

from . import cgroup as cg

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
SYSTEM_RO = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives",
             "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd", "/etc/group",
             "/etc/nsswitch.conf", "/etc/hosts", "/etc/localtime", "/etc/mime.types")
LAUNCHER_GRACE_S = 1.0  # the launcher's own deadline: the agent's plus this (the agent kills first)


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0  # wall clock
    max_timeout_s: float = 600.0  # the most a call may ask for
    cpu_s: int = 30
    memory_bytes: int = 2 << 30  # RLIMIT_AS, per process
    file_bytes: int = 256 << 20  # RLIMIT_FSIZE
    nproc: int = 128  # RLIMIT_NPROC and pids.max
    nofile: int = 1024
    head_bytes: int = 4000
    tail_bytes: int = 4000
    network: bool = False  # True: keep the host network (no network namespace)
    isolate: bool = True  # False: no namespaces at all (rlimits, process group, scrubbed env only)
    cgroup: bool = True  # use a pids cgroup when one is writable
    extra_ro: tuple[str, ...] = ()  # more read-only paths to expose
    path_first: tuple[str, ...] = ()  # directories put first on PATH (a repository's own venv/bin)


@dataclass
class RunResult:
    argv: list[str]
    returncode: int | None
    timed_out: bool
    wall_s: float
    head: bytes
    tail: bytes
    total_bytes: int
    isolation: dict = field(default_factory=dict)

    @property
    def cut_bytes(self) -> int:
        return self.total_bytes - len(self.head) - len(self.tail)

    @property
    def outcome(self) -> str:
        rc = self.returncode
        if self.timed_out:
            return f"killed: wall-clock timeout after {self.wall_s:.1f} s"
        if rc is not None and rc < 0:
            sig = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
            why = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)",
                   "SIGKILL": " (killed; the CPU hard limit sends SIGKILL)"}.get(sig, "")
            return f"killed by {sig}{why}"
        if rc == 125:
            return "refused: the sandbox could not be set up (exit 125)"
        return f"exit {rc}"

    def text(self) -> str:
        out = self.head.decode("utf-8", "replace")
        if self.cut_bytes:
            out += f"\n... [{self.cut_bytes} bytes of output cut] ...\n"
        out += self.tail.decode("utf-8", "replace")
        return f"[{self.outcome}; {self.wall_s:.2f} s; {self.total_bytes} bytes of output]\n{out}"

    def to_json(self) -> dict:
        return {"argv": self.argv, "returncode": self.returncode, "timed_out": self.timed_out,
                "outcome": self.outcome, "wall_s": round(self.wall_s, 4),
                "total_bytes": self.total_bytes, "cut_bytes": self.cut_bytes,
                "isolation": self.isolation}


class Sandbox:
    """Runs argv lists in ``ws.root`` under ``limits``; ``isolation()`` says what is enforced."""

    def __init__(self, ws, limits: Limits = Limits()):
        self.ws = ws
        self.limits = limits
        self._facts: dict | None = None
        self.last: RunResult | None = None
        self.swept = cg.sweep() if limits.cgroup else []  # cgroups of dead agents (cgroup.py, line 3)

    def env(self) -> dict:
        path = [*self.limits.path_first, os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        return {"PATH": ":".join(dict.fromkeys(path)), "HOME": self.ws.tmp, "TMPDIR": self.ws.tmp,
                "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb", "USER": "sandbox",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1"}

    def _ro_paths(self) -> list[str]:
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)}
        prefixes |= {os.path.realpath(p) for p in prefixes}
        return [*SYSTEM_RO, *sorted(prefixes), *self.limits.extra_ro]

    def run(self, argv: list[str], timeout_s: float | None = None) -> RunResult:
        self.ws.check_open()
        lim = self.limits
        timeout = min(timeout_s or lim.timeout_s, lim.max_timeout_s)
        cgroup = cg.make(lim.nproc) if lim.cgroup else None
        status_r, status_w = os.pipe()
        out_r, out_w = os.pipe()
        done_r, done_w = os.pipe()  # the janitor holds done_w until the run's clean-up is over
        opts = [f"--root={os.path.join(self.ws.scratch, 'sandbox-root')}", f"--cwd={self.ws.root}",
                f"--rw={self.ws.root}", f"--rw={self.ws.tmp}", f"--cpu={lim.cpu_s}",
                f"--as={lim.memory_bytes}", f"--fsize={lim.file_bytes}", f"--nproc={lim.nproc}",
                f"--nofile={lim.nofile}", f"--net={int(lim.network)}", f"--ns={int(lim.isolate)}",
                f"--ppid={os.getpid()}", f"--timeout={timeout + LAUNCHER_GRACE_S:.3f}", f"--done={done_w}",
                *(f"--ro={p}" for p in self._ro_paths())]
        if cgroup:
            opts.append(f"--cgroup={cgroup}")
        import subprocess

        t0 = time.monotonic()
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", CHILD, str(status_w), *opts, "--", *argv],
                                    stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                    cwd=self.ws.root, env=self.env(), pass_fds=(status_w, done_w),
                                    start_new_session=True, close_fds=True)
        finally:
            os.close(status_w)
            os.close(out_w)
            os.close(done_w)
        try:
            head, tail, total, timed_out = _collect(proc, out_r, t0 + timeout, lim, cgroup)
        finally:
            os.close(out_r)
            _kill(proc, cgroup)
            proc.wait()
            cg.remove(cgroup)
            _wait_closed(done_r, 5.0)
        wall = time.monotonic() - t0
        report = _read_status(status_r)
        timed_out = timed_out or report.get("launcher_timeout") == "1"
        facts = _facts(report, cgroup is not None, lim)
        exposed = [p for p in self._ro_paths() if _within(self.ws.source, p)]
        if exposed and facts["filesystem"].startswith("isolated"):
            facts["filesystem"] += f"; but the user's directory lies under exposed {exposed[0]} (read-only)"
        result = RunResult(list(argv), proc.returncode, timed_out, wall, head, tail, total, facts)
        self.last = result
        if self._facts is None and report:
            self._facts = result.isolation
        return result

    def isolation(self) -> dict:
        """What this machine enforces (measured by running ``true`` once, then cached)."""
        if self._facts is None:
            self.run(["true"], timeout_s=10)
        return dict(self._facts or {})


def _within(path: str, parent: str) -> bool:
    parent = os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _collect(proc, fd: int, deadline: float, lim: Limits, cgroup: str | None):
    """Stream output, keeping head + tail only; kill on the deadline. Bounded memory."""
    head, tail, total, timed_out = bytearray(), bytearray(), 0, False
    os.set_blocking(fd, False)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    ended_at = None
    try:
        while True:
            now = time.monotonic()
            if ended_at is None and proc.poll() is not None:
                ended_at = now
                _kill(proc, cgroup)  # leftovers that still hold the pipe
            if ended_at is None and now >= deadline:
                timed_out, ended_at = True, now
                _kill(proc, cgroup)
            if ended_at is not None and now - ended_at > 1.0:
                break  # something we could not kill keeps the pipe open: stop reading
            if not sel.select(0.05 if ended_at is None else 0.02):
                continue
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                break
            total += len(chunk)
            room = lim.head_bytes - len(head)
            if room > 0:
                head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                tail = bytearray(chunk[-lim.tail_bytes:]) if len(chunk) >= lim.tail_bytes \
                    else (tail + chunk)[-lim.tail_bytes:]
    finally:
        sel.close()
    return bytes(head), bytes(tail), total, timed_out


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (from /proc; the launcher is a subreaper, so orphans stay below)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _kill(proc, cgroup: str | None) -> None:
    """SIGKILL everything the run started: descendants, the pids cgroup, the process group."""
    if proc.poll() is None and os.path.isdir("/proc"):
        for _ in range(3):
            pids = _descendants(proc.pid)
            if not pids:
                break
            cg.sigkill(pids)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroup:
        cg.kill(cgroup, 0.25)


def _wait_closed(fd: int, seconds: float) -> None:
    """Wait (bounded) until every write end of pipe ``fd`` is closed: the janitor has finished."""
    try:
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        end = time.monotonic() + seconds
        while time.monotonic() < end and sel.select(end - time.monotonic()):
            if not os.read(fd, 64):
                break
        sel.close()
    finally:
        os.close(fd)


def _read_status(fd: int) -> dict:
    data = b""
    os.set_blocking(fd, False)
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    report: dict = {"errors": []}
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key == "error":
            report["errors"].append(value)
        elif key:
            report[key] = value
    return report


def _facts(r: dict, cgroup: bool, lim: Limits) -> dict:
    """Plain-words isolation facts from the child's report."""
    on = lambda k: r.get(k) == "1"  # noqa: E731
    return {
        "network": "isolated: own network namespace, loopback only" if on("netns") else
                   ("host network (Limits.network=True)" if lim.network else
                    "NOT isolated: the host network is reachable"),
        "filesystem": "isolated: private root (read-only system dirs, read-write workspace and tmp; "
                      "the user's directory is not visible)" if on("fs") else
                      "NOT isolated: cwd is the workspace, but absolute-path reads and writes "
                      "reach the host filesystem with the caller's permissions",
        "processes": ("own pid namespace (all descendants die with the run)" if on("pidns") else
                      "host pid namespace: process-group kill plus a sweep of the launcher's "
                      "descendants (it is their subreaper)" + (" and of the pids cgroup" if cgroup else "")),
        "user": ("root in an own user namespace = host uid 65534, capabilities reduced"
                 if r.get("userns") == "1" else
                 f"host uid {r.get('host_uid', os.geteuid())}" +
                 (", capabilities reduced" if on("capdrop") else "")),
        "ipc": "isolated: own IPC namespace (SysV shared memory, semaphores and message queues die with "
               "the run; the host's are invisible)" if on("ipcns") else
               "NOT isolated: the host's IPC namespace (SysV objects outlive the run; world-readable host "
               "segments can be read)",
        "hostname": "own UTS namespace (hostname 'sandbox')" if on("utsns") else "NOT isolated: the host's",
        "agent_death": _agent_death(r, cgroup),
        "nproc_rlimit_binds": on("nproc_binds"),
        "pids_cgroup": cgroup and on("cgroup"),
        "process_limit": lim.nproc if (on("nproc_binds") or (cgroup and on("cgroup"))) else None,
        "limits": {"cpu_s": lim.cpu_s, "memory_bytes": lim.memory_bytes, "file_bytes": lim.file_bytes,
                   "nproc": lim.nproc, "nofile": lim.nofile},
        "no_new_privs": on("nonewprivs"),
        "errors": r.get("errors", []),
    }


def _agent_death(r: dict, cgroup: bool) -> str:
    """What happens to the run when the agent dies (SIGKILL included), from the launcher's report."""
    if r.get("pdeathsig") != "1":
        return "NOT contained: the launcher has no parent-death signal; it stops at its own timeout"
    what = ["the launcher dies with it (parent-death signal)",
            "the command with it (pid namespace)" if r.get("pidns") == "1" else
            "the command with the launcher's child (parent-death signal; no pid namespace: its own "
            "children are killed by the janitor through the cgroup or the process group only)"]
    if r.get("janitor") == "1":
        what.append("a janitor outside the run then kills what is left in the pids cgroup and removes it"
                    if cgroup and r.get("cgroup") == "1" else
                    "a janitor outside the run then kills the launcher's process group (no pids cgroup)")
    return "; ".join(what)
