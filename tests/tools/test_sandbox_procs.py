"""Hostile processes: a sandboxed command that tries to outlive its run, or to reach the host's
processes, IPC objects, sockets and kernel settings (issue 12, classes 4 and 5).

Real subprocesses in real namespaces, on a workspace made from a real git repository. Every case
ends by checking the host the way an administrator would (``tests/leftovers.py``): no process
carrying the case's marker (in argv or environment), no ``tapehead-*`` cgroup of this process, no
SysV IPC object under the case's keys -- and that the user's directory is byte-identical. Where a
layer is missing on the machine the case skips, naming the fact (``Sandbox.isolation()``).
"""

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from leftovers import EMPTY, IPC_CREAT, IPC_RMID, ipc_exists, left_behind, libc, nothing_left
from workspace_helpers import HOSTILE_LIMITS, make_user_repo, tree_digest

from tapehead.tools.sandbox import cgroup
from tapehead.tools.sandbox.sandbox import CHILD, Sandbox
from tapehead.tools.workspace.workspace import Workspace

TOKEN = secrets.token_hex(4)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    base = tmp_path_factory.mktemp("procs")
    user = make_user_repo(base / "user")
    ws = Workspace.create(user, scratch_parent=str(base))
    sb = Sandbox(ws, HOSTILE_LIMITS)
    state = {"ws": ws, "sb": sb, "facts": sb.isolation(), "user": user, "digest": tree_digest(user)}
    yield state
    ws.discard()


def need(box, key, prefix="isolated"):
    fact = box["facts"][key]
    if not (fact is True or (isinstance(fact, str) and fact.startswith(prefix))):
        pytest.skip(f"not on this machine: {key} = {fact!r}")


def sh(box, case: str, script: str, timeout_s: float | None = None):
    """Run ``script`` with the case's marker exported (so every process of it carries the marker)."""
    mark = f"th{TOKEN}{case}"
    r = box["sb"].run(["/bin/sh", "-c", f"export TH_MARK={mark}; {script}"], timeout_s)
    return r, mark


def py(box, case: str, code: str, timeout_s: float | None = None, prelude: str = ""):
    """Run a Python file of the workspace whose name carries the marker (forks keep the argv)."""
    mark = f"th{TOKEN}{case}"
    path = os.path.join(box["ws"].root, f"{mark}.py")
    with open(path, "w") as f:
        f.write(prelude + textwrap.dedent(code))
    try:
        return box["sb"].run([sys.executable, path], timeout_s), mark
    finally:
        os.remove(path)


def clean(box, mark, keys=()):
    assert nothing_left(mark, keys=keys) == EMPTY
    assert tree_digest(box["user"]) == box["digest"]


def key_of(case: str) -> int:
    return int(secrets.token_hex(3), 16) << 4 | len(case)  # a SysV key no other test uses


IPC = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
"""


# ------------------------------------------------------------------ processes that try to stay
def test_setsid_daemon_dies_with_the_run(box):
    r, mark = sh(box, "setsid", "setsid sh -c 'sleep 120' </dev/null >/dev/null 2>&1 & echo started")
    assert r.returncode == 0 and b"started" in r.head and not r.timed_out
    clean(box, mark)


def test_double_fork_daemon_dies_with_the_run(box):
    r, mark = py(box, "dfork", """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(120)
            os._exit(0)
        os.wait()
        print("parent done", flush=True)
    """)
    assert r.returncode == 0 and b"parent done" in r.head
    clean(box, mark)


def test_nohup_job_dies_with_the_run(box):
    r, mark = sh(box, "nohup", "nohup sleep 120 >/dev/null 2>&1 & echo started")
    assert r.returncode == 0 and b"started" in r.head
    clean(box, mark)


def test_process_ignoring_sigterm_and_sighup_is_killed(box):
    r, mark = py(box, "noterm", """
        import os, signal, time
        if os.fork() == 0:
            for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(s, signal.SIG_IGN)
            while True:
                time.sleep(0.1)
        print("left it running", flush=True)
    """)
    assert r.returncode == 0 and b"left it running" in r.head
    clean(box, mark)


def test_background_job_after_the_command_exits(box):
    t0 = time.monotonic()
    r, mark = sh(box, "bg", "sleep 120 & sleep 121 & exit 0")
    assert r.returncode == 0 and not r.timed_out and time.monotonic() - t0 < 3  # not held to the timeout
    clean(box, mark)


def test_fork_loop_is_bounded_by_pids_max(box):
    need(box, "pids_cgroup")
    r, mark = py(box, "forks", """
        import os, time
        n = 0
        try:
            while n < 500:
                if os.fork() == 0:
                    time.sleep(120)
                    os._exit(0)
                n += 1
        except OSError as e:
            print("forks", n, e.errno, flush=True)
    """)
    forks, errno = map(int, r.head.split()[1:3])
    assert errno == 11 and forks < HOSTILE_LIMITS.nproc  # EAGAIN at pids.max
    clean(box, mark)


# ------------------------------------------------------------------ IPC (class 5)
def test_sysv_objects_made_inside_are_invisible_and_gone_after_the_run(box):
    need(box, "ipc")
    key = key_of("sysv")
    flag = os.path.join(box["ws"].root, f"made-{TOKEN}")
    seen_during: list = []

    def watch():  # while the run holds its objects, the host must not see them
        while not os.path.exists(flag):
            time.sleep(0.01)
        seen_during.append(ipc_exists(key))

    watcher = threading.Thread(target=watch)
    watcher.start()
    r, mark = py(box, "sysv", prelude=IPC, code=f"""
    import os, time
    shm = libc.shmget({key}, 4096, 0o1666)
    addr = libc.shmat(shm, None, 0)
    ctypes.memmove(addr, b"left behind", 11)
    print("ids", shm, libc.semget({key}, 1, 0o1666), libc.msgget({key}, 0o1666), flush=True)
    if os.fork() == 0:  # a daemon keeps the segment attached
        os.setsid()
        time.sleep(120)
    open({flag!r}, "w").close()
    time.sleep(0.5)
    """)
    watcher.join(10)
    os.remove(flag)
    ids = [int(x) for x in r.head.split()[1:4]]
    assert r.returncode == 0 and all(i >= 0 for i in ids), r.text()
    assert seen_during == [{"shm": False, "sem": False, "msg": False}]
    clean(box, mark, keys=[key])


def test_ipcmk_objects_are_gone_after_the_run(box):
    need(box, "ipc")
    r, mark = sh(box, "ipcmk", "ipcmk -M 4096 && ipcmk -S 2 && ipcmk -Q && ipcs")
    if r.returncode == 127:
        pytest.skip("no ipcmk on this machine (the ctypes case covers shmget/semget/msgget)")
    keys = [int(w, 16) for w in r.head.decode().split() if w.startswith("0x") and int(w, 16)]
    assert r.returncode == 0 and len(keys) == 3, r.text()  # the run's ipcs lists its three objects only
    clean(box, mark, keys=keys)


def test_world_readable_host_segment_is_invisible_inside(box):
    need(box, "ipc")
    key = key_of("hostshm")
    shm = libc.shmget(key, 4096, IPC_CREAT | 0o666)
    assert shm >= 0
    addr = libc.shmat(shm, None, 0)
    secret = f"HOST-SHM-{TOKEN}".encode()
    ctypes.memmove(addr, secret, len(secret))
    try:
        r, mark = py(box, "hostshm", prelude=IPC, code=f"""
        import os
        print("by key", libc.shmget({key}, 0, 0), ctypes.get_errno())
        addr = libc.shmat({shm}, None, 0)
        print("by id", "refused" if addr in (None, 2**64 - 1) else ctypes.string_at(addr, 20))
        """)
        assert r.head.split(b"\n")[0] == b"by key -1 2"  # ENOENT: no such key in the run's namespace
        assert b"by id refused" in r.head and secret not in r.head + r.tail
        clean(box, mark)
    finally:
        libc.shmdt(ctypes.c_void_p(addr))
        libc.shmctl(shm, IPC_RMID, None)


# ------------------------------------------------------------------ sockets, /dev/shm, hostname
def test_host_abstract_unix_socket_is_unreachable(box):
    need(box, "network")
    name = f"\0tapehead-{TOKEN}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(name)
    srv.listen()
    try:
        r, mark = py(box, "abstract", f"""
        import socket
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect({name!r})
            print("CONNECTED")
        except OSError as e:
            print("refused", e.errno)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind({name + "-in"!r})
        s.listen()
        print("bound inside")
        """)
        assert b"refused 111" in r.head and b"CONNECTED" not in r.head and b"bound inside" in r.head
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with pytest.raises(ConnectionRefusedError):  # the run's own name never reached the host
            probe.connect(name + "-in")
        probe.close()
        clean(box, mark)
    finally:
        srv.close()


def test_dev_shm_is_private(box):
    need(box, "filesystem")
    host_file = f"/dev/shm/tapehead-host-{TOKEN}"
    with open(host_file, "w") as f:
        f.write(f"HOST-DEVSHM-{TOKEN}")
    try:
        r, mark = sh(box, "devshm", f"cat {host_file}; echo x > /dev/shm/tapehead-in-{TOKEN} && echo wrote")
        assert b"HOST-DEVSHM" not in r.head and b"wrote" in r.head
        assert not os.path.exists(f"/dev/shm/tapehead-in-{TOKEN}")
        clean(box, mark)
    finally:
        os.remove(host_file)


def test_hostname_is_the_runs_own(box):
    need(box, "hostname", "own")
    before = socket.gethostname()
    r, mark = sh(box, "uts", "hostname; hostname evil 2>&1; echo rc=$?; hostname")
    out = r.head.split(b"\n")
    assert out[0] == out[3] == b"sandbox" and out[2] == b"rc=1"  # refused: no CAP_SYS_ADMIN
    assert socket.gethostname() == before
    clean(box, mark)


# ------------------------------------------------------------------ host processes and kernel settings
def test_kill_and_ptrace_of_a_host_pid_are_refused(box):
    need(box, "processes", "own pid namespace")
    victim = subprocess.Popen(["sleep", "60"])
    try:
        r, mark = py(box, "ptrace", f"""
        import ctypes, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        for sig in (signal.SIGKILL, signal.SIGSTOP):
            try:
                os.kill({victim.pid}, sig)
                print("SIGNALLED")
            except OSError as e:
                print("kill refused", e.errno)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        print("ptrace", libc.ptrace(16, {victim.pid}, None, None), ctypes.get_errno())  # PTRACE_ATTACH
        print("visible", os.path.exists("/proc/{victim.pid}/status"))
        os.kill(-1, signal.SIGKILL)  # everything it may signal: only the run's own processes
        """)
        assert r.head.count(b"kill refused 3") == 2 and b"SIGNALLED" not in r.head  # ESRCH
        assert b"ptrace -1 3" in r.head and b"visible False" in r.head
        assert victim.poll() is None and open(f"/proc/{victim.pid}/stat").read().split()[2] != "T"
        clean(box, mark)
    finally:
        victim.kill()
        victim.wait()


def test_writes_to_proc_sys_are_refused(box):
    need(box, "filesystem")
    targets = ["/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger",
               "/proc/sys/kernel/hostname", "/proc/sys/net/ipv4/ip_forward"]
    before = {t: open(t).read() for t in targets if os.access(t, os.R_OK) and os.stat(t).st_mode & 0o444}
    script = "".join(f"(echo 1 > {t}) 2>/dev/null && echo WROTE {t} || echo refused {t}; " for t in targets)
    r, mark = sh(box, "procsys", script)
    assert r.head.count(b"refused") == len(targets) and b"WROTE" not in r.head, r.text()
    assert {t: open(t).read() for t in before} == before
    clean(box, mark)


# ------------------------------------------------------------------ the agent dies or stops
AGENT = """
import sys, time
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace
ws = Workspace.create(sys.argv[1], scratch_parent=sys.argv[2])
sb = Sandbox(ws, Limits(timeout_s=60, isolate=sys.argv[4] == "1"))
print("started", flush=True)
r = sb.run(["/bin/sh", "-c", open(sys.argv[3]).read()], timeout_s=float(sys.argv[5]))
print("result", r.timed_out, r.returncode, round(r.wall_s, 2), flush=True)
ws.discard()
"""
ESCAPES = ("sleep 300 & setsid sleep 301 </dev/null >/dev/null 2>&1 & nohup sleep 302 >/dev/null 2>&1 & "
           "(sleep 303 &) ; echo ready > ready-{mark}; sleep 60")


def agent_process(box, tmp_path, mark, isolate=True, timeout_s=60):
    script = tmp_path / "command.sh"  # (a file: the agent's own argv must not carry the marker)
    script.write_text(f"export TH_MARK={mark}; " + ESCAPES.format(mark=mark))
    p = subprocess.Popen([sys.executable, "-c", AGENT, box["user"], str(tmp_path), str(script), str(int(isolate)),
                          str(timeout_s)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stdout.readline() == "started\n"
    end = time.monotonic() + 20
    while not any(n.startswith("tapehead-ws-") and os.path.exists(tmp_path / n / "tree" / f"ready-{mark}")
                  for n in os.listdir(tmp_path)):
        assert time.monotonic() < end, "the command never started"
        time.sleep(0.02)
    return p


@pytest.mark.parametrize("isolate", [True, False], ids=["namespaces", "no-namespaces"])
def test_sigkilled_agent_leaves_no_process_and_no_cgroup(box, tmp_path, isolate):
    if not isolate and not box["facts"]["pids_cgroup"]:
        pytest.skip("without namespaces only the pids cgroup finds a setsid daemon: none here")
    mark = f"th{TOKEN}kill{int(isolate)}"
    p = agent_process(box, tmp_path, mark, isolate)
    before = left_behind(mark, p.pid)
    assert len(before["processes"]) >= 7  # launcher, janitor, init, sh, five sleeps (with namespaces)
    assert len(before["cgroups"]) == int(bool(box["facts"]["pids_cgroup"]))
    p.kill()
    p.wait()
    assert nothing_left(mark, p.pid, within=5.0) == EMPTY


def test_stopped_agent_cannot_hold_a_run_past_the_launchers_deadline(box, tmp_path):
    mark = f"th{TOKEN}stop"
    p = agent_process(box, tmp_path, mark, timeout_s=1.0)
    os.kill(p.pid, signal.SIGSTOP)  # the agent can kill nothing now: the launcher's own timer must
    try:
        assert nothing_left(mark, p.pid, within=8.0)["processes"] == []
    finally:
        os.kill(p.pid, signal.SIGCONT)
    timed_out, rc, wall = p.stdout.readline().split()[1:]
    p.wait()
    assert timed_out == "True" and rc == "-9" and float(wall) >= 1.0
    assert nothing_left(mark, p.pid) == EMPTY


def test_launcher_refuses_to_start_when_its_agent_is_already_gone(tmp_path):
    flag = tmp_path / "ran"
    r, w = os.pipe()
    try:  # --ppid names another parent than the real one: the agent died before the prctl
        p = subprocess.run([sys.executable, "-I", "-S", CHILD, str(w), f"--ppid={os.getpid() + 1}",
                            "--ns=0", "--", "/bin/sh", "-c", f"touch {flag}"], pass_fds=(w,), timeout=20)
    finally:
        os.close(w)
        os.close(r)
    assert p.returncode == 125 and not flag.exists()


def test_every_sandbox_start_sweeps_cgroups_of_dead_agents(box):
    root = cgroup.base()
    if root is None:
        pytest.skip("no writable pids cgroup hierarchy here")
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = [os.path.join(root, f"tapehead-{gone.pid}.1-0"),  # its owner exited
             os.path.join(root, f"tapehead-{os.getpid()}.1-0")]  # a live pid, but not the process that made it
    live = os.path.join(root, f"tapehead-{os.getpid()}.{cgroup.start_time(os.getpid())}-999")
    sleepers = []
    for path in stale + [live]:
        os.mkdir(path)
        s = subprocess.Popen(["sleep", "60"])
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(s.pid))
        sleepers.append(s)
    try:
        sb = Sandbox(box["ws"], HOSTILE_LIMITS)
        assert sorted(sb.swept) == sorted(stale)
        assert not any(os.path.exists(p) for p in stale) and os.path.isdir(live)
        assert [s.wait(5) for s in sleepers[:2]] == [-9, -9] and sleepers[2].poll() is None
    finally:
        for s in sleepers:
            s.kill()
            s.wait()
        cgroup.remove(live)
