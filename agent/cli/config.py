"""The configuration file: the defaults a user sets once, in TOML, under the command line's flags.

Convention (as mini-swe-agent's and Aider's config files; TOML as pyproject.toml and ruff.toml):
settings come, lowest first, from tapehead's defaults, the user file, the project file, the
environment (``TAPEHEAD_HOME`` only) and the command line:

- user: ``$TAPEHEAD_CONFIG`` when set (it must exist), else ``$XDG_CONFIG_HOME/tapehead/config.toml``,
  else ``~/.config/tapehead/config.toml``;
- project: ``tapehead.toml`` in the current directory or its nearest parent that has one. A file of
  its own rather than ``[tool.tapehead]`` in pyproject.toml: the agent works on any repository, not
  only Python ones, and one file name found by walking up is one rule to explain. A project file
  comes with the repository, so it may not widen what runs unasked: approval modes there may only be
  ``confirm``, ``sandbox.network`` only ``false``, and ``home`` is not read from it (put those in
  the user file, or give the flag).

Every key is checked with the option schema's declarations (``agent/cli/options.py``: the same type
and bounds as the flag); an unknown key or a bad value is one line naming the file and the key
(exit 2). ``apply`` makes configured values the defaults of the flags that have a config key
(``--help`` shows them and their file); commands read the others from ``args.settings``.
``tapehead config`` prints every setting, its value and where it came from. ``docs/config.md``
documents every key.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10: tomli (a dependency there) is the same parser
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

from tapehead.agent.loops.episode import DEFAULT_MAX_INPUT_BYTES
from tapehead.tools.sandbox.sandbox import Limits as SandboxLimits

from . import options as o

PROJECT_FILE = "tapehead.toml"
# [sandbox] key -> (tools/sandbox/sandbox.py Limits field, its unit in bytes or 1)
SANDBOX_FIELDS = {"timeout_s": ("timeout_s", 1), "max_timeout_s": ("max_timeout_s", 1), "cpu_s": ("cpu_s", 1),
                  "memory_mb": ("memory_bytes", 1 << 20), "file_mb": ("file_bytes", 1 << 20), "nproc": ("nproc", 1),
                  "nofile": ("nofile", 1), "network": ("network", 1)}


@dataclass(frozen=True)
class Key:
    type: o.Type
    default: Any
    doc: str
    project: bool = True  # may a project file set it (to any value the check allows)?
    project_check: Any = None  # f(value) -> None, or a reason a project file may not set it


def _confirm_only(v):
    return None if v == "confirm" else "a project file may only tighten approval (confirm)"


def _no_network(v):
    return None if v is False else "a project file may not turn the sandbox's network on"


def _keys() -> dict[str, Key]:
    keys = {
        "home": Key(o.PathCheck(lambda p: "exists and is not a directory" if os.path.exists(p) and not os.path.isdir(p)
                            else None, "directory path"), "~/.local/state/tapehead",
                    "sessions database and trajectory files (TAPEHEAD_HOME overrides it)", project=False),
        "max_input_bytes": Key(o.integer(1, 1 << 30), DEFAULT_MAX_INPUT_BYTES,
                               "the largest task input in bytes (TAPEHEAD_MAX_INPUT_BYTES overrides it)"),
    }
    for name, opt in o.SCHEMA.items():
        if opt.key:
            t = o.Device(check_available=False) if name == "device" else opt.type
            keys[opt.key] = Key(t, opt.default, opt.help)
    for cat in ("read", "edit", "exec", "git", "all"):
        keys[f"approval.{cat}"] = Key(o.Choice("confirm", "yolo"), None if cat == "all" else
                                      ("yolo" if cat == "read" else "confirm"),
                                      f"approval mode of {cat} tools" if cat != "all" else "every category's mode",
                                      project_check=_confirm_only)
    lim = SandboxLimits()
    s = {k: getattr(lim, f) // u if u > 1 else getattr(lim, f) for k, (f, u) in SANDBOX_FIELDS.items()}
    keys.update({
        "sandbox.timeout_s": Key(o.number(0, 86400, lo_open=True), s["timeout_s"], "wall-clock seconds of one run"),
        "sandbox.max_timeout_s": Key(o.number(0, 86400, lo_open=True), s["max_timeout_s"],
                                     "the most a call may ask for"),
        "sandbox.cpu_s": Key(o.integer(1, 86400), s["cpu_s"], "CPU seconds (RLIMIT_CPU)"),
        "sandbox.memory_mb": Key(o.integer(16, 1 << 20), s["memory_mb"], "address space per process, MiB (RLIMIT_AS)"),
        "sandbox.file_mb": Key(o.integer(1, 1 << 20), s["file_mb"], "largest file written, MiB (RLIMIT_FSIZE)"),
        "sandbox.nproc": Key(o.integer(1, 1 << 16), s["nproc"], "processes (RLIMIT_NPROC and pids.max)"),
        "sandbox.nofile": Key(o.integer(16, 1 << 20), s["nofile"], "open files (RLIMIT_NOFILE)"),
        "sandbox.network": Key(o.boolean, s["network"], "keep the host's network (no network namespace)",
                               project_check=_no_network),
    })
    return keys


KEYS = _keys()
TABLES = ("policy", "approval", "limits", "sandbox")


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)  # key -> value, from a file (not the defaults)
    sources: dict[str, str] = field(default_factory=dict)  # key -> the file it came from
    files: list[tuple[str, str, bool]] = field(default_factory=list)  # (user|project, path, found)
    env_home: str | None = None  # TAPEHEAD_HOME as it was when the files were read

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.values:
            return self.values[key]
        k = KEYS.get(key)
        return k.default if k is not None and default is None else default

    def table(self, name: str) -> dict[str, Any]:
        """The keys of one table, e.g. ``table("approval") == {"exec": "yolo"}`` (configured ones only)."""
        n = len(name) + 1
        return {k[n:]: v for k, v in self.values.items() if k.startswith(name + ".")}

    def policy_for(self, task: str | None) -> str | None:
        return self.values.get(f"policy.{task}") if task else None


class ConfigError(ValueError):
    """A configuration file that cannot be used; one line naming the file and the key."""


def user_file(env=os.environ) -> tuple[str, bool]:
    """(path, must exist): ``$TAPEHEAD_CONFIG``, else the XDG location."""
    if env.get("TAPEHEAD_CONFIG"):
        return os.path.expanduser(env["TAPEHEAD_CONFIG"]), True
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tapehead", "config.toml"), False


def project_file(cwd: str | None = None) -> str | None:
    d = Path(cwd or os.getcwd()).resolve()
    for p in (d, *d.parents):
        f = p / PROJECT_FILE
        if f.is_file():
            return str(f)
    return None


def _flatten(path: str, data: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            if k not in TABLES:
                raise ConfigError(f"{path}: unknown table [{k}]; tables: {', '.join(TABLES)}")
            for k2, v2 in v.items():
                if isinstance(v2, dict):
                    raise ConfigError(f"{path}: unknown table [{k}.{k2}]")
                flat[f"{k}.{k2}"] = v2
        elif k in TABLES:
            raise ConfigError(f"{path}: {k} must be a table ([{k}] with its keys)")
        else:
            flat[k] = v
    return flat


def check(key: str, value: Any, path: str = "<config>", project: bool = False) -> Any:
    """The checked value of ``key`` (ConfigError otherwise)."""
    if key.startswith("policy."):
        task = key[len("policy."):]
        if task not in o.task_names():
            raise ConfigError(f"{path}: [policy] {task}: no such task; tasks: {', '.join(o.task_names())}")
        t: o.Type = o.text
    elif key in KEYS:
        k = KEYS[key]
        if project and not k.project:
            raise ConfigError(f"{path}: {key} may only be set in your user configuration or the environment, "
                              "not in a project file")
        t = k.type
    else:
        import difflib

        near = difflib.get_close_matches(key, list(KEYS), n=1)
        raise ConfigError(f"{path}: unknown key {key!r}" + (f" (did you mean {near[0]}?)" if near else
                                                           "; `tapehead config` lists the keys"))
    try:
        value = t.typed(value)
    except ValueError as e:
        raise ConfigError(f"{path}: {key}: {e}") from None
    if project and key in KEYS and KEYS[key].project_check:
        why = KEYS[key].project_check(value)
        if why:
            raise ConfigError(f"{path}: {key} = {json.dumps(value)}: {why}; set it in your user configuration "
                              "or on the command line")
    return value


def read_file(path: str, project: bool = False) -> dict[str, Any]:
    if tomllib is None:
        raise ConfigError(f"{path}: reading it needs Python 3.11, or tomli (pip install tomli)")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return {k: check(k, v, path, project) for k, v in _flatten(path, data).items()}


def load(cwd: str | None = None, env=os.environ) -> Settings:
    """The settings of the user and project files (ConfigError for an unusable one)."""
    s = Settings(env_home=env.get("TAPEHEAD_HOME") or None)
    upath, must = user_file(env)
    found = os.path.isfile(upath)
    if must and not found:
        raise ConfigError(f"TAPEHEAD_CONFIG={upath}: no such file")
    s.files.append(("user", upath, found))
    ppath = project_file(cwd)
    if ppath and found and os.path.samefile(ppath, upath):
        ppath = None  # the user file found again by walking up from the home directory
    s.files.append(("project", ppath or os.path.join(cwd or os.getcwd(), PROJECT_FILE), bool(ppath)))
    for kind, path, exists in s.files:
        if exists:
            for k, v in read_file(path, project=kind == "project").items():
                s.values[k], s.sources[k] = v, f"{kind} {path}"
    return s


def apply(parser: argparse.ArgumentParser, settings: Settings) -> dict[str, Any]:
    """Configured values become the defaults of the flags declared with their key (flags override;
    ``options.given`` tells a flag from a default); returns {dest: configured value}."""
    applied = {}
    for action in _actions(parser):
        key = getattr(action, "config_key", None)
        if key and key in settings.values:
            action.default = applied[action.dest] = settings.values[key]
            action.config_source = settings.sources[key]
    return applied


def _actions(parser):
    for a in parser._actions:  # argparse keeps no public list of a parser's actions
        yield a
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                yield from _actions(sub)


@contextlib.contextmanager
def environment(settings: Settings):
    """``home`` from a file as ``TAPEHEAD_HOME`` for one command (the environment wins over files)."""
    home = settings.values.get("home")
    if not home or settings.env_home or os.environ.get("TAPEHEAD_HOME"):
        yield
        return
    os.environ["TAPEHEAD_HOME"] = home
    try:
        yield
    finally:
        os.environ.pop("TAPEHEAD_HOME", None)


def sandbox_limits(settings: Settings):
    """``tools.sandbox.sandbox.Limits`` with the configured ``[sandbox]`` keys, or None (the defaults)."""
    t = settings.table("sandbox")
    if not t:
        return None
    from dataclasses import replace

    return replace(SandboxLimits(), **{SANDBOX_FIELDS[k][0]: v * SANDBOX_FIELDS[k][1] if SANDBOX_FIELDS[k][1] > 1
                                       else v for k, v in t.items()})


def effective(settings: Settings) -> list[dict]:
    """Every key: its value and where it came from (``tapehead config``)."""
    rows = []
    env_home = settings.env_home
    for key, k in KEYS.items():
        if key == "home" and env_home:
            rows.append({"key": key, "value": env_home, "source": "environment TAPEHEAD_HOME", "doc": k.doc})
        elif key in settings.values:
            rows.append({"key": key, "value": settings.values[key], "source": settings.sources[key], "doc": k.doc})
        else:
            rows.append({"key": key, "value": k.default, "source": "default", "doc": k.doc})
    for key in sorted(x for x in settings.values if x.startswith("policy.")):
        rows.append({"key": key, "value": settings.values[key], "source": settings.sources[key],
                     "doc": f"policy of task {key[7:]}"})
    return rows


def register_config(sub) -> None:
    p = sub.add_parser("config", help="print the effective settings and where each came from",
                       description="Settings from the user file, the project file (tapehead.toml), the environment "
                                   "and the defaults; flags override them all. Every key: docs/config.md.")
    o.add(p, "json")
    p.set_defaults(func=cmd_config)


def cmd_config(args) -> int:
    from .common import out

    s: Settings = args.settings
    rows = effective(s)
    if args.json:
        print(json.dumps({"files": [{"kind": k, "path": p, "found": f} for k, p, f in s.files],
                          "settings": {r["key"]: {"value": r["value"], "source": r["source"]} for r in rows}}))
        return 0
    for kind, path, found in s.files:
        out.print(f"{kind} file: {path}" + ("" if found else " (none)"), markup=False, highlight=False)
    from rich.table import Table

    t = Table("key", "value", "source", "what", box=None)
    for r in rows:
        t.add_row(r["key"], json.dumps(r["value"]) if r["value"] is not None else "-", r["source"], r["doc"])
    out.print(t)
    return 0
