"""The execution tools and the sandbox: behaviour, refusals, and a hostile-snippet suite.

Real subprocesses, real namespaces where the machine allows them. Where it does not (no
``unshare``), the tests check that the isolation facts *say so* instead of pretending; each skip
says which fact was missing. The hostile suite shares one workspace made from a real git repo: after
every snippet the run tool still works and the user's directory is byte-identical (every file
hashed), until ``accept``.
"""

import os
import resource
import secrets

import pytest
from workspace_helpers import HOSTILE_LIMITS, make_user_repo, tools, tree_digest, user_repo, ws  # noqa: F401

from tapehead.tools.code.workspace_tools import tools_by_name
from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace

TOKEN = secrets.token_hex(6)


def lines(obs):
    return obs.text.splitlines()


# ------------------------------------------------------------------ behaviour
def test_run_reports_exit_code_and_merged_output(tools, ws):
    obs = tools["run"].call(command="echo out; echo err >&2; pwd; exit 3")
    assert obs.ok and lines(obs)[0].startswith("[exit 3;")
    assert lines(obs)[1:] == ["out", "err", ws.root]
    assert obs.data["returncode"] == 3 and obs.data["cut_bytes"] == 0


def test_run_python_runs_a_workspace_file_with_args(tools, ws):
    assert tools["create_file"].call(path="prog.py", content="import sys\nprint(sys.argv[1:])\n").ok
    obs = tools["run_python"].call(path="prog.py", args="a 'b c'")
    assert lines(obs)[1] == "['a', 'b c']" and obs.data["returncode"] == 0
    assert "no such Python file" in tools["run_python"].call(path="nope.py").text
    assert "'..' is refused" in tools["run_python"].call(path="../x.py").text
    assert "cannot split" in tools["run_python"].call(path="prog.py", args="'open").text


def test_run_refusals(tools):
    assert not tools["run"].call(command="   ").ok
    assert "timeout_s must be" in tools["run"].call(command="true", timeout_s=0).text
    assert "timeout_s must be" in tools["run"].call(command="true", timeout_s=1e9).text
    missing = tools["run"].call(command="definitely-not-a-command-xyz")
    assert missing.ok and missing.data["returncode"] == 127


def test_environment_is_scrubbed(tools, ws, monkeypatch):
    monkeypatch.setenv("TAPEHEAD_FAKE_API_KEY", "sk-" + TOKEN)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    obs = tools["run"].call(command="env")
    env = dict(line.split("=", 1) for line in lines(obs)[1:] if "=" in line)
    assert TOKEN not in obs.text and "PYTHONPATH" not in env
    assert env["HOME"] == ws.tmp and env["TMPDIR"] == ws.tmp
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TERM", "USER", "PWD", "SHLVL", "_",
                        "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONNOUSERSITE"}


def test_output_is_cut_to_head_and_tail_with_a_count(ws):
    sb = Sandbox(ws, Limits(head_bytes=100, tail_bytes=50))
    r = sb.run(["python", "-c", "for i in range(10000): print(f'line {i:05d}')"])
    assert r.total_bytes == 110000 and r.cut_bytes == 110000 - 150
    text = r.text()
    assert "line 00000" in text and "line 09999" in text and "line 05000" not in text
    assert f"[{110000 - 150} bytes of output cut]" in text


def test_snapshot_reports_last_run_and_isolation(tools):
    tools["run"].call(command="echo hi")
    snap = tools["run"].snapshot()
    assert snap["last_run"]["outcome"] == "exit 0" and snap["last_run"]["total_bytes"] == 3
    facts = snap["isolation"]
    for key in ("network", "filesystem", "processes", "ipc", "hostname", "agent_death", "user",
                "nproc_rlimit_binds", "pids_cgroup"):
        assert key in facts
    assert snap["limits"]["nproc"] == HOSTILE_LIMITS.nproc


def test_fallback_without_namespaces_is_reported_not_hidden(ws):
    sb = Sandbox(ws, Limits(isolate=False, timeout_s=5))
    facts = sb.isolation()
    assert facts["network"].startswith("NOT isolated") and facts["filesystem"].startswith("NOT isolated")
    assert facts["ipc"].startswith("NOT isolated") and facts["hostname"].startswith("NOT isolated")
    assert "janitor" in facts["agent_death"] and "no pid namespace" in facts["agent_death"]
    r = sb.run(["sh", "-c", "setsid sleep 61 & sleep 30"], timeout_s=1)
    assert r.timed_out and "wall-clock timeout" in r.outcome
    assert not _alive("sleep 61")


# ------------------------------------------------------------------ hostile suite
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    user = make_user_repo(base / "user")
    outside = base / "outside-secret.txt"
    outside.write_text(f"OUTSIDE-{TOKEN}\n")
    w = Workspace.create(user, scratch_parent=str(base))
    os.symlink(str(outside), os.path.join(w.root, "peek"))  # a link the agent might plant
    t = tools_by_name(w, HOSTILE_LIMITS)
    facts = t["run"].sandbox.isolation()
    state = {"ws": w, "tools": t, "user": user, "outside": str(outside), "facts": facts,
             "digest": tree_digest(user), "base": str(base)}
    yield state
    w.discard()


def contained(h):
    """After every hostile snippet: the tool still works and the user's directory is untouched."""
    ok = h["tools"]["run"].call(command="echo still-ok")
    assert ok.ok and lines(ok)[1] == "still-ok"
    assert tree_digest(h["user"]) == h["digest"]


def _alive(marker: str) -> bool:
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read().replace(b"\0", b" "):
                        return True
            except OSError:
                pass
    return False


def test_infinite_loop_is_killed_at_the_timeout(hostile):
    obs = hostile["tools"]["run"].call(command="python -c 'while True: pass'", timeout_s=1)
    assert obs.data["timed_out"] and "wall-clock timeout" in lines(obs)[0]
    assert obs.data["wall_s"] < 3
    contained(hostile)


def test_cpu_time_limit(hostile):
    sb = Sandbox(hostile["ws"], Limits(cpu_s=1, timeout_s=10))
    r = sb.run(["python", "-c", "while True: pass"])
    assert not r.timed_out and "SIGXCPU" in r.outcome and "CPU time limit" in r.outcome
    contained(hostile)


def test_process_count_is_limited(hostile):
    code = ("import os, time\nn = 0\ntry:\n    while n < 200:\n        if os.fork() == 0:\n"
            "            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError as e:\n"
            "    print('forks', n, e.errno)\nelse:\n    print('forks', n)\n")
    obs = hostile["tools"]["run"].call(command=f"python -c \"{code}\"  # {TOKEN}-count")
    forks = int(lines(obs)[1].split()[1])
    if hostile["facts"]["process_limit"] is None:
        pytest.skip("no pids cgroup and RLIMIT_NPROC does not bind here: process count not limited "
                    f"(facts: {hostile['facts']['processes']})")
    assert forks < HOSTILE_LIMITS.nproc and lines(obs)[1].endswith(" 11")  # EAGAIN
    assert not _alive(f"{TOKEN}-count")  # the sleeping children died with the run
    contained(hostile)


def test_fork_bomb_is_contained(hostile):
    if hostile["facts"]["process_limit"] is None:
        pytest.skip("a real fork bomb needs a binding process limit; this machine has none "
                    "(no pids cgroup, NPROC exempt): not run")
    bomb = f"import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass  # {TOKEN}-bomb"
    obs = hostile["tools"]["run"].call(command=f"python -c '{bomb}'", timeout_s=1.5)
    assert obs.data["timed_out"]
    assert not _alive(f"{TOKEN}-bomb")
    contained(hostile)


def test_memory_bomb_fails_inside_the_limit(hostile):
    obs = hostile["tools"]["run"].call(command="python -c 'a = []\nwhile True: a.append(bytearray(10**7))'")
    assert obs.data["returncode"] == 1 and "MemoryError" in obs.text
    contained(hostile)


def test_file_size_limit(hostile):
    obs = hostile["tools"]["run"].call(command="python -c \"open('big.bin','wb').write(b'x' * (2 << 20))\"")
    assert obs.data["returncode"] != 0 and "File too large" in obs.text
    os.remove(os.path.join(hostile["ws"].root, "big.bin"))
    contained(hostile)


def test_a_gigabyte_of_output_costs_bounded_memory(hostile):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = "import os\nb = b'y' * (1 << 20)\nfor _ in range(1024): os.write(1, b)"
    obs = hostile["tools"]["run"].call(command=f"python -c \"{code}\"", timeout_s=30)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert obs.data["total_bytes"] == 1 << 30 and obs.data["returncode"] == 0
    assert obs.data["cut_bytes"] == (1 << 30) - HOSTILE_LIMITS.head_bytes - HOSTILE_LIMITS.tail_bytes
    assert len(obs.text) < 10_000 and grown_mib < 64
    contained(hostile)


def test_writing_outside_the_workspace(hostile):
    user, ws = hostile["user"], hostile["ws"]
    if not hostile["facts"]["filesystem"].startswith("isolated"):
        assert "NOT isolated" in hostile["facts"]["filesystem"]
        pytest.skip("no mount namespace here: absolute-path writes are not prevented (reported)")
    targets = [os.path.join(user, "pwned.txt"), os.path.join(user, "README.md"),
               f"/tmp/{TOKEN}-pwned", "/usr/pwned", os.path.join(ws.scratch, "pwned.txt")]
    script = "".join(f"try:\n    open({t!r}, 'w').write('x')\n    print('wrote', {t!r})\n"
                     f"except OSError as e:\n    print('refused', e.errno)\n" for t in targets)
    script += "open('../escaped.txt', 'w').write('x')\nprint('wrote ../escaped.txt')\n"
    assert hostile["tools"]["create_file"].call(path="w.py", content=script).ok
    obs = hostile["tools"]["run_python"].call(path="w.py")
    assert obs.data["returncode"] == 0, obs.text
    for t in targets[:2] + targets[3:4]:  # absent from the sandbox's root, or read-only
        assert f"wrote {t!r}" not in obs.text
    for t in targets + [os.path.join(ws.scratch, "escaped.txt")]:
        assert t in (targets[1],) or not os.path.exists(t), t  # nothing reached the host
    os.remove(os.path.join(ws.root, "w.py"))
    contained(hostile)


def test_reading_outside_the_workspace(hostile):
    user, outside = hostile["user"], hostile["outside"]
    depth = "/".join([".."] * 12)
    attempts = [outside, f"{depth}{outside}", "peek", os.path.join(user, "secret.txt"),
                f"{depth}{user}/secret.txt", "/etc/shadow"]
    if not hostile["facts"]["filesystem"].startswith("isolated"):
        pytest.skip("no mount namespace here: absolute-path reads are not prevented (reported)")
    code = "".join(f"try:\n    print(open({a!r}).read())\nexcept OSError as e:\n    print('refused', e.errno)\n"
                   for a in attempts)
    assert hostile["tools"]["create_file"].call(path="r.py", content=code).ok
    obs = hostile["tools"]["run_python"].call(path="r.py")
    assert f"OUTSIDE-{TOKEN}" not in obs.text and obs.text.count("refused") == len(attempts)
    assert "TOP-SECRET" not in obs.text.replace(os.path.join(user, "secret.txt"), "")
    assert not hostile["tools"]["read_file"].call(path="peek").ok  # the file tools refuse it too
    os.remove(os.path.join(hostile["ws"].root, "r.py"))
    contained(hostile)


def test_network_connection_is_refused(hostile):
    code = ("import socket\nsrv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
            "socket.create_connection(srv.getsockname(), timeout=2).close(); print('loopback ok')\n"
            "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('refused', e)\n")
    assert hostile["tools"]["create_file"].call(path="n.py", content=code).ok
    obs = hostile["tools"]["run_python"].call(path="n.py")
    os.remove(os.path.join(hostile["ws"].root, "n.py"))
    if not hostile["facts"]["network"].startswith("isolated"):
        assert "NOT isolated" in hostile["facts"]["network"]
        pytest.skip("no network namespace here: the network is reachable (reported)")
    assert "loopback ok" in obs.text and "CONNECTED" not in obs.text and "refused" in obs.text
    contained(hostile)


def test_escaping_the_process_group_does_not_outlive_the_run(hostile):
    obs = hostile["tools"]["run"].call(command=f"setsid sh -c 'sleep 120 # {TOKEN}-bg' & echo started")
    assert lines(obs)[1] == "started"
    assert not _alive(f"{TOKEN}-bg")
    contained(hostile)


def test_privileges_inside(hostile):
    if hostile["facts"]["user"].startswith("root in an own user namespace"):
        obs = hostile["tools"]["run"].call(command="grep -E '^(Uid|CapEff|NoNewPrivs)' /proc/self/status; "
                                                   "mount -o remount,rw / 2>&1; echo rc=$?")
        assert "CapEff:\t000000000000003f" in obs.text and "NoNewPrivs:\t1" in obs.text
        assert "rc=0" not in obs.text
    contained(hostile)


def test_user_directory_changes_only_on_accept(hostile):
    t, user = hostile["tools"], hostile["user"]
    assert t["run"].call(command="echo made-by-run > made.txt").ok
    assert tree_digest(user) == hostile["digest"]
    assert [c["path"] for c in t["git_status"].call().data["changes"]] == ["made.txt", "peek"]
    os.remove(os.path.join(hostile["ws"].root, "peek"))
    assert hostile["ws"].accept().ok
    after = tree_digest(user)
    assert set(after) - set(hostile["digest"]) == {"made.txt"}
    assert {k: v for k, v in after.items() if k != "made.txt"} == hostile["digest"]
    assert hostile["ws"].undo().ok and tree_digest(user) == hostile["digest"]


def test_unprivileged_launcher_path():
    """The non-root path (user namespace mapping the caller's own uid), run as uid 65534 with the
    system Python (the launcher is stdlib-only). Needs root to switch uid, and /usr/bin/python3."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from tapehead.tools.sandbox.sandbox import CHILD

    py = shutil.which("python3", path="/usr/bin:/bin")
    if os.geteuid() != 0 or py is None or not os.access(CHILD, os.R_OK):
        pytest.skip("needs root (to become uid 65534) and a system python3")
    holder = tempfile.TemporaryDirectory(prefix="tapehead-nobody-")  # pytest's tmp is root-only
    base = Path(holder.name) / "nobody"
    for d in ("tree", "tmp", "root"):
        (base / d).mkdir(parents=True)
    os.chmod(holder.name, 0o755)
    shutil.chown(base, 65534, 65534)
    for d in ("tree", "tmp", "root"):
        shutil.chown(base / d, 65534, 65534)
    r, w = os.pipe()
    opts = [f"--root={base}/root", f"--cwd={base}/tree", f"--rw={base}/tree", f"--rw={base}/tmp",
            "--ro=/usr", "--ro=/bin", "--ro=/lib", "--ro=/lib64", "--nproc=12", "--cpu=5"]
    script = ("echo x > made.txt && echo wrote; ls /; "
              "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)\" 2>&1 | tail -1")
    try:
        p = subprocess.run([py, "-I", "-S", CHILD, str(w), *opts, "--", "/bin/sh", "-c", script],
                           user=65534, group=65534, extra_groups=[], pass_fds=(w,), capture_output=True,
                           text=True, env={"PATH": "/usr/bin:/bin"}, cwd=str(base / "tree"),
                           start_new_session=True, timeout=20)
    finally:
        os.close(w)
    made = (base / "tree" / "made.txt").exists() and (base / "tree" / "made.txt").stat().st_uid
    holder.cleanup()
    report = os.read(r, 65536).decode()
    os.close(r)
    if "userns=unprivileged" not in report:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {report!r}")
    assert p.returncode == 0 and "wrote" in p.stdout and "Network is unreachable" in p.stdout
    assert "nproc_binds=1" in report and "fs=1" in report and "netns=1" in report
    assert sorted(p.stdout.split("\n")[1:-2]) == ["bin", "dev", "lib", "lib64", "proc", "tmp", "usr"]
    assert made == 65534
