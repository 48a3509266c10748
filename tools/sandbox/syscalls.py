"""Linux system calls the sandbox's launcher needs and the stdlib lacks, through ctypes.

Follows the man pages of unshare(2), mount(2), umount2(2), prctl(2), pivot_root(2) and
sethostname(2); the flag values are the kernel's (``<sched.h>``, ``<sys/mount.h>``,
``<linux/prctl.h>``). A failed call raises ``OSError`` with errno and the call named, so every
step of ``child.py`` can be tried and reported. Stdlib only, no relative imports (loaded by path by
``child.py``, which runs as a script); elsewhere than Linux every call raises ENOSYS.
"""

import ctypes
import os
import sys

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWUTS, CLONE_NEWIPC = 0x04000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 24, 36, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)

libc = ctypes.CDLL(None, use_errno=True)
LINUX = sys.platform.startswith("linux") and all(hasattr(libc, f) for f in ("unshare", "mount", "prctl"))
if LINUX:
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def check(ret, what):
    """Raise OSError (errno, the call named) for a libc call that returned non-zero."""
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(s):
    return None if s is None else os.fsencode(s)


def unshare(flags):
    if not LINUX:
        raise OSError(38, "namespaces need Linux")
    check(libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(src, dst, fstype, flags, data=None):
    if not LINUX:
        raise OSError(38, "mounts need Linux")
    check(libc.mount(_b(src), _b(dst), _b(fstype), flags, _b(data)), f"mount {dst}")


def prctl(option, arg):
    if not LINUX:
        raise OSError(38, "prctl needs Linux")
    check(libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def pivot_root(new_root: bytes, put_old: bytes):
    if not LINUX or SYS_PIVOT_ROOT is None:
        raise OSError(38, "pivot_root needs Linux on x86_64 or aarch64")
    check(libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), new_root, put_old), "pivot_root")


def umount(path: bytes, flags: int):
    check(libc.umount2(path, flags), f"umount {path!r}")


def sethostname(name: bytes):
    if not LINUX:
        raise OSError(38, "sethostname needs Linux")
    check(libc.sethostname(name, len(name)), "sethostname")


def write_map(pid, name, text):
    """Write a ``/proc/PID/{uid_map,gid_map,setgroups}`` file in one write, as the kernel requires."""
    fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
