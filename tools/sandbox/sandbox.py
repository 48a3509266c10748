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
  namespace the kernel also kills everything left when the run's init exits. RLIMIT_CPU: SIGXCPU,
  then SIGKILL one second later (the command runs as pid 2, so SIGXCPU is delivered);
- memory: RLIMIT_AS per process (MemoryError / failed mmap); total memory is bounded only as
  (process count) x (RLIMIT_AS) plus the small tmpfs mounts;
- files: RLIMIT_FSIZE (SIGXFSZ / EFBIG); RLIMIT_NOFILE;
- processes: a pids cgroup (``pids.max``) when ``/sys/fs/cgroup/pids`` (v1) or a cgroup v2 with the
  pids controller is writable; and RLIMIT_NPROC, which binds only for a non-root host uid: as root
  it binds because the command runs as kuid 65534 in its own user namespace (both are reported);
- network: a new network namespace with only loopback up (no route out; localhost works);
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

import itertools
import os
import selectors
import signal
import sys
import time
from dataclasses import dataclass, field

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
SYSTEM_RO = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives",
             "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd", "/etc/group",
             "/etc/nsswitch.conf", "/etc/hosts", "/etc/localtime", "/etc/mime.types")
_counter = itertools.count()


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
        cgroup = _make_cgroup(lim.nproc) if lim.cgroup else None
        opts = [f"--root={os.path.join(self.ws.scratch, 'sandbox-root')}", f"--cwd={self.ws.root}",
                f"--rw={self.ws.root}", f"--rw={self.ws.tmp}", f"--cpu={lim.cpu_s}",
                f"--as={lim.memory_bytes}", f"--fsize={lim.file_bytes}", f"--nproc={lim.nproc}",
                f"--nofile={lim.nofile}", f"--net={int(lim.network)}", f"--ns={int(lim.isolate)}",
                *(f"--ro={p}" for p in self._ro_paths())]
        if cgroup:
            opts.append(f"--cgroup={cgroup}")
        status_r, status_w = os.pipe()
        out_r, out_w = os.pipe()
        import subprocess

        t0 = time.monotonic()
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", CHILD, str(status_w), *opts, "--", *argv],
                                    stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                    cwd=self.ws.root, env=self.env(), pass_fds=(status_w,),
                                    start_new_session=True, close_fds=True)
        finally:
            os.close(status_w)
            os.close(out_w)
        try:
            head, tail, total, timed_out = _collect(proc, out_r, t0 + timeout, lim, cgroup)
        finally:
            os.close(out_r)
            _kill(proc, cgroup)
            proc.wait()
            _remove_cgroup(cgroup)
        wall = time.monotonic() - t0
        report = _read_status(status_r)
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


def _sigkill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _kill(proc, cgroup: str | None) -> None:
    """SIGKILL everything the run started: descendants, the pids cgroup, the process group."""
    if proc.poll() is None and os.path.isdir("/proc"):
        for _ in range(3):
            pids = _descendants(proc.pid)
            if not pids:
                break
            _sigkill(pids)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroup:
        for _ in range(50):
            pids = _cgroup_pids(cgroup)
            if not pids:
                break
            _sigkill(pids)
            time.sleep(0.005)


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
        "nproc_rlimit_binds": on("nproc_binds"),
        "pids_cgroup": cgroup and on("cgroup"),
        "process_limit": lim.nproc if (on("nproc_binds") or (cgroup and on("cgroup"))) else None,
        "limits": {"cpu_s": lim.cpu_s, "memory_bytes": lim.memory_bytes, "file_bytes": lim.file_bytes,
                   "nproc": lim.nproc, "nofile": lim.nofile},
        "no_new_privs": on("nonewprivs"),
        "errors": r.get("errors", []),
    }


# ----------------------------------------------------------------- pids cgroup (optional)
def _cgroup_base() -> str | None:
    v1 = "/sys/fs/cgroup/pids"
    if os.path.isfile(os.path.join(v1, "cgroup.procs")) and os.access(v1, os.W_OK):
        return v1
    v2 = "/sys/fs/cgroup"
    try:
        with open(os.path.join(v2, "cgroup.subtree_control")) as f:
            if "pids" in f.read().split() and os.access(v2, os.W_OK):
                return v2
    except OSError:
        pass
    return None


def _make_cgroup(limit: int) -> str | None:
    base = _cgroup_base()
    if base is None:
        return None
    path = os.path.join(base, f"tapehead-{os.getpid()}-{next(_counter)}")
    try:
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(limit))
        return path
    except OSError:
        _remove_cgroup(path)
        return None


def _cgroup_pids(path: str) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _remove_cgroup(path: str | None) -> None:
    if not path:
        return
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
