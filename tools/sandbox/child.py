"""The child half of the sandbox: isolate a fresh single-threaded process, then exec the command.

``tools/sandbox/sandbox.py`` runs ``python -I -S tools/sandbox/child.py STATUS_FD [--key=value ...] -- ARGV``
(with ``start_new_session``, a scrubbed environment and the workspace as cwd). Doing the set-up
here, in a new interpreter, instead of in a ``preexec_fn`` keeps the agent's (threaded) process out
of fork-time hazards, and lets every step be tried and reported. Stdlib only (and the siblings
``cgroup.py``, ``syscalls.py``), and no json/socket/re imports: this file's start-up is part of
every sandboxed run.

Convention: every isolation step is *tried*; what was achieved is written to STATUS_FD as
``key=value`` lines (``error=...`` for each step that failed) just before exec. A failed step lowers
isolation but does not stop the run (one exception: a user namespace entered whose uid map could not
be written exits 125); the parent reports what was really in force.

Steps (Linux), in order:

0. L dies with the agent: ``PR_SET_PDEATHSIG(SIGKILL)`` at once, then exit if the parent is no
   longer the agent (``--ppid``: it died before the prctl, the race); the signal comes when the
   agent's *thread* that started L ends, and that thread waits in ``Sandbox.run`` for L's end.
   L arms its own wall-clock timer (``--timeout``, the agent's plus a grace), so a stopped or stuck
   agent cannot leave an unbounded run: at the deadline L kills C, sweeps, writes
   ``launcher_timeout=1`` and kills itself with SIGKILL. Then L forks the janitor
   (``tools/sandbox/cgroup.py``), outside the cgroup and every namespace, which removes the run's
   cgroup once L is gone, however it went;
1. join the pids cgroup given by ``--cgroup`` (process-count limit that binds even for root);
2. launcher L: ``unshare(CLONE_NEWPID | CLONE_NEWNET)`` (non-root: a user namespace first), then
   ``CLONE_NEWIPC`` (SysV shared memory, semaphores and message queues of the run live and die in
   its own namespace; the host's are invisible) and ``CLONE_NEWUTS`` (hostname ``sandbox``), each
   tried and reported alone; then fork: the child C is pid 1 of the new pid namespace, so killing
   it (or L, through ``PR_SET_PDEATHSIG``) kills every process the command started;
3. C: ``unshare(CLONE_NEWNS)`` and build a new root on a tmpfs: read-only binds of ``--ro`` paths
   (system directories and the Python installation), read-write binds of ``--rw`` paths (the
   workspace tree and its tmp), a minimal ``/dev`` (null, zero, full, random, urandom, tty), a
   private ``/tmp`` tmpfs, a read-only ``/proc`` of the new pid namespace; ``pivot_root`` into it
   and detach the old root (the user's directory and everything else is simply absent);
4. C: bring ``lo`` up (loopback only: the namespace has no other interface);
5. C (root only): ``unshare(CLONE_NEWUSER | CLONE_NEWNS)`` with L writing the map
   ``0 -> 65534 (nobody), 1 -> 0``: the command runs as "root" of its own user namespace but as
   kuid 65534 on the host, so mounts are locked, capabilities over the host are gone, and
   ``RLIMIT_NPROC`` binds; host-root-owned workspace files stay writable (owner mapped as uid 1;
   CAP_SETUID is dropped in step 6, so the command cannot switch to that uid);
6. C: drop every capability but file-access ones from the bounding set, set no_new_privs, set the
   rlimits (CPU, AS, FSIZE, NPROC, NOFILE, CORE=0), then fork the command (pid 2: the init of a pid
   namespace ignores default-action signals such as SIGXCPU; it gets ``PR_SET_PDEATHSIG`` too, so
   without a pid namespace it still dies with C) and stay as its reaper; when the command ends C
   reports its wait status to L and exits, which kills whatever the command left behind.
7. L is the *subreaper* of everything below it, so with no pid namespace it still finds and kills
   orphans (a ``setsid`` daemon) before reproducing the command's exit status or signal itself.
"""

import fcntl
import os
import resource
import signal
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import cgroup  # noqa: E402  (tools/sandbox/cgroup.py: the janitor)
from syscalls import (  # noqa: E402  (tools/sandbox/syscalls.py)
    CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, LINUX, MNT_DETACH, MS_BIND,
    MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, PR_CAPBSET_DROP,
    PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, SYS_PIVOT_ROOT, check, libc, mount,
    pivot_root, prctl, sethostname, umount, unshare, write_map)

KEEP_CAPS = {0, 1, 2, 3, 4, 5}  # chown, dac_override, dac_read_search, fowner, fsetid, kill
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
NOBODY = 65534


def parse(argv):
    status_fd, opts, i = int(argv[1]), {"ro": [], "rw": []}, 2
    while i < len(argv) and argv[i] != "--":
        key, _, value = argv[i][2:].partition("=")
        if key in ("ro", "rw"):
            opts[key].append(value)
        else:
            opts[key] = value
        i += 1
    return status_fd, opts, argv[i + 1:]


def bind(src, root, flags):
    """Bind ``src`` at the same path under ``root``; symlinks are recreated, not followed."""
    dst = root + src
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        open(dst, "a").close()
    mount(src, dst, None, MS_BIND | MS_REC)
    mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | flags | kept_flags(src))


def kept_flags(path):
    """The source mount's flags that a user namespace may not clear (noexec, atime flags, ro)."""
    f = os.statvfs(path).f_flag
    pairs = ((1, MS_RDONLY), (8, MS_NOEXEC), (1024, 1024), (2048, 2048), (4096, 1 << 21))
    return sum(ms for st, ms in pairs if f & st)


def build_root(opts, has_pidns):
    """Step 3 (before pivot): a tmpfs root holding only what the command may see."""
    root = opts["root"]
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    os.makedirs(root + "/tmp")
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={opts.get('tmpsize', '64m')},mode=1777")
    for p in opts["ro"]:
        if os.path.lexists(p) and not os.path.lexists(root + p):
            bind(p, root, MS_RDONLY)
    for p in opts["rw"]:
        bind(p, root, 0)
    os.makedirs(root + "/dev", exist_ok=True)
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    for n in DEV_NODES:
        if os.path.exists("/dev/" + n):
            open(f"{root}/dev/{n}", "a").close()
            mount("/dev/" + n, f"{root}/dev/{n}", None, MS_BIND)
    for n, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                      ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{n}")
    os.makedirs(root + "/dev/shm")
    mount(None, root + "/dev", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")
    os.makedirs(root + "/proc", exist_ok=True)
    if has_pidns:
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    else:  # no pid namespace: the host's processes stay visible (read-only)
        bind("/proc", root, MS_RDONLY)
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    os.chdir(root)
    pivot_root(b".", b".")
    umount(b".", MNT_DETACH)  # the old root
    os.chdir("/")


def loopback_up():
    """Step 4: set IFF_UP on lo (SIOCGIFFLAGS / SIOCSIFFLAGS on a datagram socket)."""
    fd = libc.socket(2, 2, 0)
    if fd < 0:
        check(-1, "socket")
    try:
        req = bytearray(b"lo".ljust(16, b"\0") + bytes(24))
        fcntl.ioctl(fd, 0x8913, req)
        req[16:18] = (int.from_bytes(req[16:18], "little") | 1).to_bytes(2, "little")
        fcntl.ioctl(fd, 0x8914, bytes(req))
    finally:
        os.close(fd)


def set_limits(opts, report):
    limits = (("cpu", resource.RLIMIT_CPU, 1), ("as", resource.RLIMIT_AS, 0),
              ("fsize", resource.RLIMIT_FSIZE, 0), ("nproc", resource.RLIMIT_NPROC, 0),
              ("nofile", resource.RLIMIT_NOFILE, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, res, hard_extra in limits:
        if opts.get(key):
            n = int(opts[key])
            try:  # CPU: SIGXCPU at the soft limit, SIGKILL one second later
                resource.setrlimit(res, (n, n + hard_extra))
            except (OSError, ValueError) as e:
                report.append(f"error=rlimit {key}: {e}")


def child(opts, report, status_fd, to_l, from_l, has_pidns, netns):
    """C: everything from step 3 on, then exec (never returns)."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError as e:
        report.append(f"error={e}")
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # a fork inherits L's handler, not its timer: the deadline is L's
    root_host = os.geteuid() == 0
    fs = False
    if opts.get("root") and SYS_PIVOT_ROOT:
        try:
            unshare(CLONE_NEWNS)
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            build_root(opts, has_pidns)
            fs = True
        except OSError as e:
            report.append(f"error=filesystem isolation: {e}")
    report.append(f"fs={int(fs)}")
    if netns:
        try:
            loopback_up()
            report.append("loopback=1")
        except OSError as e:
            report.append(f"error=loopback: {e}")
    host_uid = os.geteuid()
    if root_host and fs:
        try:
            unshare(CLONE_NEWUSER | CLONE_NEWNS)
            os.write(to_l, b"m")
            if os.read(from_l, 1) != b"1":
                raise OSError(0, "uid/gid map was not written")
            os.setgroups([])
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
            host_uid = NOBODY
            report.append("userns=1")
        except OSError as e:
            report.append(f"error=user namespace: {e}")
            if "map" in str(e):  # half-entered namespace: refuse to run
                os.write(status_fd, ("\n".join(report) + "\n").encode())
                os._exit(125)
    report.append(f"host_uid={host_uid}")
    try:
        last = int(open("/proc/sys/kernel/cap_last_cap").read()) if os.path.exists(
            "/proc/sys/kernel/cap_last_cap") else 40
        for cap in range(last + 1):
            if cap not in KEEP_CAPS:
                prctl(PR_CAPBSET_DROP, cap)
        report.append("capdrop=1")
    except OSError as e:
        report.append(f"error=capability drop: {e}")
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        report.append("nonewprivs=1")
    except OSError as e:
        report.append(f"error=no_new_privs: {e}")
    set_limits(opts, report)
    report.append(f"nproc_binds={int(host_uid != 0)}")
    try:
        os.chdir(opts.get("cwd", "/"))
    except OSError as e:
        report.append(f"error=chdir: {e}")
    os.write(status_fd, ("\n".join(report) + "\n").encode())
    os.close(status_fd)
    target = os.fork()  # the command runs as pid 2: pid 1 ignores default-action signals (SIGXCPU)
    if target == 0:
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with C even without a pid namespace
            os.execv(which(ARGV[0]), ARGV)
        except OSError as e:
            os.write(2, f"sandbox: cannot run {ARGV[0]!r}: {e.strerror}\n".encode())
        os._exit(127)
    while True:  # C is the init of the pid namespace: reap everything, return when the command ends
        pid, status = os.waitpid(-1, 0)
        if pid == target:
            os.write(to_l, f"s{status}".encode())
            os._exit(0)


def which(name):
    """PATH lookup after pivot_root, without the imports os.execvp would need (stdlib may be absent)."""
    if "/" in name:
        return name
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(2, "command not found", name)


def sweep_orphans():
    """Kill and reap every process left re-parented to L (background jobs, setsid escapes)."""
    me = str(os.getpid())
    for _ in range(1000):
        kids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == me:
                            kids.append(int(d))
                except (OSError, IndexError):
                    pass
        if not kids:
            return
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, 0)[0]:
                pass
        except ChildProcessError:
            pass


TIMER = {"c": None, "fired": False, "status_fd": None}


def on_alarm(signum, frame):
    """L's own deadline (step 0): kill C (its pid namespace dies with it); before C exists, exit."""
    TIMER["fired"] = True
    if TIMER["c"] is None:
        os.write(TIMER["status_fd"], b"\nlauncher_timeout=1\n")
        os._exit(124)
    try:
        os.kill(TIMER["c"], signal.SIGKILL)
    except OSError:
        pass


def die_with_agent(opts, status_fd, report) -> int | None:
    """Step 0: parent-death signal, the race check, L's timer, the janitor; returns the pipe end
    that keeps the janitor waiting (None where there is no janitor)."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        report.append("pdeathsig=1")
    except OSError as e:
        report.append(f"error=parent-death signal: {e}")
    if opts.get("ppid") and os.getppid() != int(opts["ppid"]):
        os._exit(125)  # the agent died before the prctl: nobody would stop this run
    if opts.get("timeout"):
        TIMER["status_fd"] = status_fd
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(opts["timeout"]))
    if not LINUX:
        return None
    try:
        alive = cgroup.spawn_janitor(opts.get("cgroup"), int(opts["done"]) if opts.get("done") else None)
        report.append("janitor=1")
    except OSError as e:
        report.append(f"error=janitor: {e}")
        alive = None
    if opts.get("done"):
        os.close(int(opts["done"]))  # the janitor's alone now
    return alive


def enter_namespaces(opts, report, namespaces):
    """Step 2 before the fork: pid + network, then IPC and UTS, each tried and reported."""
    pidns = netns = False
    want_net = opts.get("net", "0") == "0"
    tries = ((CLONE_NEWPID | CLONE_NEWNET) if want_net else CLONE_NEWPID, CLONE_NEWPID, 0)
    for flags in tries if namespaces else (0,):
        try:
            if flags:
                unshare(flags)
            pidns, netns = bool(flags & CLONE_NEWPID), bool(flags & CLONE_NEWNET)
            break
        except OSError as e:
            report.append(f"error=unshare {flags:#x}: {e}")
    report += [f"pidns={int(pidns)}", f"netns={int(netns)}"]
    for key, flag in (("ipcns", CLONE_NEWIPC), ("utsns", CLONE_NEWUTS)) if namespaces else ():
        try:
            unshare(flag)
            report.append(f"{key}=1")
        except OSError as e:
            report.append(f"error=unshare {key}: {e}")
    if "utsns=1" in report:
        try:
            sethostname(b"sandbox")
        except OSError as e:
            report.append(f"error={e}")
    return pidns, netns


def main():
    status_fd, opts, argv = parse(sys.argv)
    global ARGV
    ARGV = argv
    report = [f"launcher_pid={os.getpid()}"]
    alive = die_with_agent(opts, status_fd, report)
    if opts.get("cgroup"):
        try:
            with open(opts["cgroup"] + "/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
            report.append("cgroup=1")
        except OSError as e:
            report.append(f"error=cgroup: {e}")
    namespaces = opts.get("ns", "1") == "1"
    if not namespaces:
        opts.pop("root", None)
        report.append("error=namespaces switched off (Limits.isolate=False)")
    if os.geteuid() != 0 and namespaces:  # unprivileged: a user namespace first, mapping our own ids
        try:
            uid, gid = os.geteuid(), os.getegid()
            unshare(CLONE_NEWUSER)
            write_map("self", "setgroups", "deny")
            write_map("self", "uid_map", f"{uid} {uid} 1")
            write_map("self", "gid_map", f"{gid} {gid} 1")
            report.append("userns=unprivileged")
        except OSError as e:
            report.append(f"error=user namespace: {e}")
    pidns, netns = enter_namespaces(opts, report, namespaces)
    try:  # orphans of the command re-parent to L (not init), so L can sweep them (no pid namespace)
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError as e:
        report.append(f"error=subreaper: {e}")
    c_to_l, l_from_c = os.pipe()[::-1]
    l_to_c, c_from_l = os.pipe()[::-1]
    pid = os.fork()
    if pid == 0:
        os.close(l_from_c)
        os.close(l_to_c)
        if alive is not None:
            os.close(alive)  # the janitor waits for L alone
        try:
            child(opts, report, status_fd, c_to_l, c_from_l, pidns, netns)
        except BaseException as e:  # never unwind into L's code in the child
            os.write(2, f"sandbox: set-up failed: {type(e).__name__}: {e}\n".encode())
        finally:
            os._exit(126)
    TIMER["c"] = pid
    os.close(c_to_l)
    os.close(c_from_l)
    messages = b""
    while True:  # C asks for its uid/gid map ("m"), then reports the command's wait status ("s<n>")
        chunk = os.read(l_from_c, 64)
        if not chunk:
            break
        messages += chunk
        if messages.startswith(b"m"):
            messages = messages[1:]
            ok = b"1"
            try:
                write_map(pid, "uid_map", f"0 {NOBODY} 1\n1 0 1")
                write_map(pid, "gid_map", f"0 {NOBODY} 1\n1 0 1")
            except OSError:
                ok = b"0"
            os.write(l_to_c, ok)
    _, status = os.waitpid(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    TIMER["c"] = None
    if messages.startswith(b"s") and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        status = int(messages[1:])
    sweep_orphans()
    if TIMER["fired"]:  # L's own deadline: reported, then the same death as the agent's kill
        os.write(status_fd, b"\nlauncher_timeout=1\n")
        status = signal.SIGKILL
    os.close(status_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


if __name__ == "__main__":
    main()
