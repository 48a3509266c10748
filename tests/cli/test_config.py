"""The configuration file (agent/cli/config.py): precedence user < project < flag with real files in a
temporary HOME, ``tapehead config`` naming each value's source, and one line (exit 2) for every
unusable file, key or value; a project file may not loosen approval or the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapehead.agent.cli import config
from tapehead.agent.cli.main import main
from tapehead.tools.sandbox.sandbox import Limits as SandboxLimits


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temporary HOME with the user file at its XDG place and a project directory below it."""
    h = tmp_path / "h"
    (h / ".config" / "tapehead").mkdir(parents=True)
    proj = h / "work" / "proj"
    (proj / "sub").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(proj / "sub")  # the project file is found in a parent
    return h, proj


def _effective(capsys) -> dict:
    capsys.readouterr()
    assert main(["config", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_user_then_project_then_flag(home, capsys):
    h, proj = home
    user = h / ".config" / "tapehead" / "config.toml"
    user.write_text('threads = 2\ndevice = "cpu"\n[limits]\nstep_tokens = 64\nmax_steps = 7\n'
                    '[approval]\nexec = "yolo"\n[sandbox]\ntimeout_s = 5.0\n')
    s = _effective(capsys)["settings"]
    assert s["threads"] == {"value": 2, "source": f"user {user}"}
    assert s["limits.step_tokens"]["value"] == 64 and s["approval.exec"]["value"] == "yolo"
    assert s["limits.max_tokens"] == {"value": None, "source": "default"}
    project = proj / "tapehead.toml"
    project.write_text("threads = 3\n[limits]\nstep_tokens = 32\n[approval]\nexec = \"confirm\"\n")
    s = _effective(capsys)["settings"]
    assert s["threads"] == {"value": 3, "source": f"project {project}"}  # the project overrides the user
    assert s["limits.step_tokens"]["value"] == 32 and s["approval.exec"]["value"] == "confirm"
    assert s["limits.max_steps"] == {"value": 7, "source": f"user {user}"}  # what the project leaves alone stays
    # a real run: the configured step size and step limit, then a flag over them
    assert main(["run", "--task", "addition", "9" * 30 + "+1", "--policy", "teacher", "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "max_steps" and res["steps"] == 8 and 7 * 32 <= res["tokens"] <= 7 * 64  # 32 written a step
    assert main(["run", "--task", "addition", "99+1", "--policy", "teacher", "--json", "--max-steps", "100",
                 "--step-tokens", "2048"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["exit"] == "eos" and res["steps"] == 1  # flags win
    # --help shows the configured default and its file
    with pytest.raises(SystemExit):
        from tapehead.agent.cli.main import build_parser

        p = build_parser()
        config.apply(p, config.load())
        p.parse_args(["run", "--help"])
    out = capsys.readouterr().out
    assert f"(default: 32, from project {project})" in " ".join(out.split())


def test_tapehead_config_env_and_approval_from_the_user_file(home, capsys, tmp_path, monkeypatch):
    h, proj = home
    alt = tmp_path / "alt.toml"
    alt.write_text(f'home = "{tmp_path / "elsewhere"}"\n[approval]\nall = "yolo"\n[policy]\naddition = "teacher"\n')
    monkeypatch.setenv("TAPEHEAD_CONFIG", str(alt))
    monkeypatch.delenv("TAPEHEAD_HOME")
    got = _effective(capsys)
    assert got["files"][0] == {"kind": "user", "path": str(alt), "found": True}
    assert got["settings"]["home"]["source"] == f"user {alt}"
    assert got["settings"]["policy.addition"]["value"] == "teacher"
    # the configured policy and home: the session lands in the configured home
    assert main(["run", "--task", "addition", "5+5", "--json", "--thread", "cfg-1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["policy"] == "teacher" and res["answer"] == "10"
    assert res["trajectory"] == str(tmp_path / "elsewhere" / "trajectories" / "cfg-1.json")
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "env-home"))  # the environment over the file
    assert _effective(capsys)["settings"]["home"] == {"value": str(tmp_path / "env-home"),
                                                       "source": "environment TAPEHEAD_HOME"}


def test_sandbox_keys_become_sandbox_limits(home):
    h, proj = home
    (h / ".config" / "tapehead" / "config.toml").write_text(
        "[sandbox]\ntimeout_s = 3\nmemory_mb = 512\nfile_mb = 8\nnproc = 32\nnetwork = false\n")
    lim = config.sandbox_limits(config.load())
    assert (lim.timeout_s, lim.memory_bytes, lim.file_bytes, lim.nproc, lim.network) == (3, 512 << 20, 8 << 20, 32, False)
    assert lim.cpu_s == SandboxLimits().cpu_s  # the rest stays the sandbox's default
    assert config.sandbox_limits(config.Settings()) is None


def test_every_sandbox_key_names_a_sandbox_limit():
    fields = set(SandboxLimits.__dataclass_fields__)
    assert {f for f, _ in config.SANDBOX_FIELDS.values()} <= fields
    assert {k for k in config.KEYS if k.startswith("sandbox.")} == {f"sandbox.{k}" for k in config.SANDBOX_FIELDS}


BAD_USER_FILES = [
    ("invalid-toml", "threads = \n", "not valid TOML"),
    ("unknown-key", "thread = 2\n", "unknown key 'thread' (did you mean threads?)"),
    ("unknown-table", "[limit]\nmax_steps = 2\n", "unknown table [limit]"),
    ("nested-table", "[limits.x]\ny = 1\n", "unknown table [limits.x]"),
    ("table-as-value", "limits = 3\n", "limits must be a table"),
    ("threads-zero", "threads = 0\n", "threads: must be >= 1"),
    ("threads-string", 'threads = "2"\n', "threads: must be an integer, got str"),
    ("threads-bool", "threads = true\n", "threads: must be an integer, got bool"),
    ("threads-float", "threads = 1.5\n", "threads: must be an integer, got float"),
    ("device-gpu", 'device = "gpu"\n', "device: must be cpu, cuda"),
    ("approval-maybe", '[approval]\nexec = "maybe"\n', "approval.exec: must be one of confirm, yolo"),
    ("approval-unknown-category", '[approval]\nnetwork = "yolo"\n', "unknown key 'approval.network'"),
    ("step-tokens-negative", "[limits]\nstep_tokens = -5\n", "limits.step_tokens: must be >= 1"),
    ("max-seconds-zero", "[limits]\nmax_seconds = 0\n", "limits.max_seconds: must be > 0"),
    ("memory-tiny", "[sandbox]\nmemory_mb = 1\n", "sandbox.memory_mb: must be >= 16"),
    ("network-string", '[sandbox]\nnetwork = "yes"\n', "sandbox.network: must be true or false"),
    ("policy-unknown-task", '[policy]\nnosuch = "x"\n', "[policy] nosuch: no such task"),
    ("policy-empty", '[policy]\naddition = ""\n', "policy.addition: must not be empty"),
    ("max-input-zero", "max_input_bytes = 0\n", "max_input_bytes: must be >= 1"),
    ("home-is-a-file", 'home = "/etc/passwd"\n', "home: /etc/passwd: exists and is not a directory"),
    ("not-utf8", b"threads = 1 # \xff\n", "not"),
]


@pytest.mark.parametrize("text, fragment", [c[1:] for c in BAD_USER_FILES], ids=[c[0] for c in BAD_USER_FILES])
def test_bad_user_file_is_one_line(home, capsys, text, fragment):
    h, proj = home
    f = h / ".config" / "tapehead" / "config.toml"
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    for argv in (["config"], ["solve", "addition", "1+1", "--teacher"], ["sessions"]):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and str(f) in lines[0] and fragment in lines[0] and "Traceback" not in err, err


BAD_PROJECT_FILES = [
    ("yolo", '[approval]\nexec = "yolo"\n', "may only tighten approval"),
    ("all-yolo", '[approval]\nall = "yolo"\n', "may only tighten approval"),
    ("network", "[sandbox]\nnetwork = true\n", "may not turn the sandbox's network on"),
    ("home", 'home = "/tmp/x"\n', "home may only be set in your user configuration"),
]


@pytest.mark.parametrize("text, fragment", [c[1:] for c in BAD_PROJECT_FILES], ids=[c[0] for c in BAD_PROJECT_FILES])
def test_a_project_file_may_not_loosen_what_runs_unasked(home, capsys, text, fragment):
    h, proj = home
    (h / ".config" / "tapehead" / "config.toml").write_text(text)  # the same line is fine from the user
    assert main(["config"]) == 0
    (proj / "tapehead.toml").write_text(text)
    capsys.readouterr()
    assert main(["config"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(proj / "tapehead.toml") in err and fragment in err


def test_missing_tapehead_config_file(home, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TAPEHEAD_CONFIG", str(tmp_path / "nope.toml"))
    assert main(["--version"]) == 2
    assert "TAPEHEAD_CONFIG" in capsys.readouterr().err


def test_config_key_defaults_are_the_schemas(home):
    """A key's default is its flag's default, and both take the same checks (one declaration)."""
    from tapehead.agent.cli import options

    for name, opt in options.SCHEMA.items():
        if opt.key:
            assert config.KEYS[opt.key].default == opt.default
            if opt.type is not None and opt.default is not None:
                assert config.KEYS[opt.key].type.typed(opt.default) == opt.default
    assert Path(config.user_file({"HOME": "/h", "XDG_CONFIG_HOME": "/x"})[0]) == Path("/x/tapehead/config.toml")


def test_every_key_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    rows = {ln.split("|")[1].strip().strip("`") for ln in doc.splitlines() if ln.startswith("| `")}
    assert set(config.KEYS) | {"policy.TASK"} == rows


def test_sandbox_limits_reach_the_execution_tool(home, capsys, tmp_path):
    """``[sandbox] timeout_s`` from the user file kills a real sandboxed command of `tapehead run`."""
    h, proj = home
    (h / ".config" / "tapehead" / "config.toml").write_text("[sandbox]\ntimeout_s = 1\n[approval]\nexec = \"yolo\"\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    script = tmp_path / "s.txt"
    script.write_text("[CALL]run sleep 20[/CALL][OBS][/OBS][ANS]done[EOS]")
    assert main(["run", "go", "--policy", f"script:{script}", "--workspace", str(src), "--json", "--thread", "sb-1"]) == 0
    res = json.loads(capsys.readouterr().out)
    from tapehead.agent.trace.trajectory import Trajectory

    call = Trajectory.load(res["trajectory"]).meta["calls"][0]
    obs = call["observation"]  # e.g. "[killed: wall-clock timeout after 1.2 s; ...]" (the default is 10 s)
    assert call["approved"] and "wall-clock timeout" in obs and float(obs.split("after ")[1].split(" s")[0]) < 5, obs
    assert main(["sessions", "delete", "sb-1", "--yes"]) == 0
