"""The option schema of every ``tapehead`` command: value types with bounds, and each option declared once.

Every command module -- the agent's own (``run``, ``sessions``, ``replay``), the evals' (``solve``,
``eval``, ``eval suite``, ``train``) and any new one (``policies``, ``accept``/``undo``/``discard``,
``fix``, ``bench``, ``tui``) -- adds its options through this module, so a numeric or constrained
option is validated in exactly one place, and the configuration file (``agent/cli/config.py``)
checks its values with the same declarations:

- value types (``positive_int``, ``nonneg_int``, ``integer(lo, hi)``, ``number(lo, hi)``,
  ``int_list``, ``name_list``, ``existing_dir``, ``existing_file``, ``out_file``, ``out_dir``,
  ``db_file``, ``device``, ``thread_id``, ``approval_answer``, ``approval_modes``): each is an argparse
  ``type=`` callable on the command-line string, and ``.value(obj)`` checks a typed value (a TOML
  value, a Python argument). Digits are ASCII ``[0-9]`` only (``int()`` would take ``١٢٣``);
- ``SCHEMA``: option name -> ``Option`` (flags, type, default, help, config key);
  ``add(parser, "threads", "device", ...)`` adds them (keyword overrides for a command's own default
  or help), tagging each argparse action with its config key so that ``config.apply`` can put the
  configured value in as the default (flags override it; ``--help`` shows it and where it came from);
- ``read_input(value, max_bytes)``: a task input given as text, ``@FILE`` or ``-`` (stdin), read
  with a size limit; ``apply_threads(n)``: torch's CPU threads.

A type raises ``Bad`` (an ``argparse.ArgumentTypeError`` and a ``ValueError``) with one line naming what is
wrong; argparse prefixes the option (``argument --n: must be >= 1, got -1``).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")  # ASCII digits only: not str.isdigit, not int()'s Unicode
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class Bad(argparse.ArgumentTypeError, ValueError):
    """A value refused by a type; its message is one line."""


class Type:
    """A value type: ``t(text)`` parses a command-line string, ``t.value(obj)`` checks a typed value."""

    kind = "str"  # the TOML / Python type a config value must have: str, int, float, bool, list
    name = "value"

    def __call__(self, text: str):
        return self.value(text)

    def value(self, v):
        return v

    def typed(self, v):
        """A typed value (a TOML value, a Python argument): its type first (no string parsing:
        ``threads = "2"`` is refused), then ``value``'s checks."""
        want = _KINDS[self.kind]
        if not isinstance(v, want) or (self.kind in ("int", "float") and isinstance(v, bool)):
            raise Bad(f"must be {_ARTICLE[self.kind]}, got {type(v).__name__} {_short(v)}")
        return self.value(v)

    def __repr__(self) -> str:  # argparse names the type in some messages
        return self.name


_KINDS = {"int": int, "float": (int, float), "str": str, "bool": bool, "list": (list, tuple)}
_ARTICLE = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false", "list": "a list"}


def _short(v, n: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 1] + "…"


class Integer(Type):
    kind, name = "int", "integer"

    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi

    def value(self, v):
        if isinstance(v, str):
            s = v.strip()
            if not _INT.fullmatch(s):
                raise Bad(f"must be an integer (ASCII digits), got {_short(v)}")
            v = int(s.replace("_", ""))
        elif isinstance(v, bool) or not isinstance(v, int):
            raise Bad(f"must be an integer, got {type(v).__name__} {_short(v)}")
        if self.lo is not None and v < self.lo:
            raise Bad(f"must be >= {self.lo}, got {v}")
        if self.hi is not None and v > self.hi:
            raise Bad(f"must be <= {self.hi:,}, got {v:,}")
        return v


class Number(Type):
    kind, name = "float", "number"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def value(self, v):
        if isinstance(v, str):
            s = v.strip()
            if not _FLOAT.fullmatch(s):
                raise Bad(f"must be a number, got {_short(v)}")
            v = float(s)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Bad(f"must be a number, got {type(v).__name__} {_short(v)}")
        v = float(v)
        if not math.isfinite(v):
            raise Bad(f"must be a finite number, got {v}")
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            raise Bad(f"must be {'>' if self.lo_open else '>='} {self.lo:g}, got {v:g}")
        if self.hi is not None and v > self.hi:
            raise Bad(f"must be <= {self.hi:g}, got {v:g}")
        return v


class Boolean(Type):
    kind, name = "bool", "boolean"

    def value(self, v):
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise Bad(f"must be true or false, got {_short(v)}")


class Choice(Type):
    name = "choice"

    def __init__(self, *choices: str):
        self.choices = choices

    def value(self, v):
        if not isinstance(v, str) or v not in self.choices:
            raise Bad(f"must be one of {', '.join(self.choices)}; got {_short(v)}")
        return v


class Text(Type):
    """A non-empty string without control characters, at most ``max_len`` characters."""

    name = "text"

    def __init__(self, max_len: int = 4096):
        self.max_len = max_len

    def value(self, v):
        if not isinstance(v, str):
            raise Bad(f"must be a string, got {type(v).__name__}")
        if not v.strip():
            raise Bad("must not be empty")
        if len(v) > self.max_len or any(ord(c) < 32 for c in v):
            raise Bad(f"must be at most {self.max_len} printable characters, got {_short(v)}")
        return v


class IntList(Type):
    """Comma-separated integers with ``item``'s bounds (``5,10,1_000``); a TOML array of integers."""

    kind, name = "list", "list of integers"

    def __init__(self, item: Integer):
        self.item = item

    def value(self, v):
        items = [s for s in v.split(",") if s.strip()] if isinstance(v, str) else v
        if not isinstance(items, (list, tuple)) or not items:
            raise Bad(f"must be comma-separated integers, got {_short(v)}")
        try:
            return [self.item.value(s) for s in items]
        except Bad as e:
            raise Bad(f"{e} (in {_short(v)})") from None


class NameList(Type):
    """Comma-separated names, each one of ``choices`` (when given)."""

    kind, name = "list", "list of names"

    def __init__(self, choices: Callable[[], list[str]] | None = None):
        self.choices = choices

    def value(self, v):
        items = [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else v
        if not isinstance(items, (list, tuple)) or not items or not all(isinstance(s, str) for s in items):
            raise Bad(f"must be comma-separated names, got {_short(v)}")
        known = self.choices() if self.choices else None
        for s in items:
            if known is not None and s not in known:
                raise Bad(f"unknown name {s!r}; choose from {', '.join(known)}")
        return list(items)


class Path_(Type):
    """A path; ``check(path)`` says what is wrong with it (or None). ``~`` is expanded."""

    name = "path"

    def __init__(self, check: Callable[[str], str | None], what: str):
        self.check, self.name = check, what

    def value(self, v):
        if not isinstance(v, str) or not v or "\0" in v:
            raise Bad(f"must be a {self.name}, got {_short(v)}")
        p = os.path.expanduser(v)
        why = self.check(p)
        if why:
            raise Bad(f"{v}: {why}")
        return p


def _nearest_existing(p: str) -> str:
    d = os.path.dirname(os.path.abspath(p))
    while not os.path.exists(d):
        d = os.path.dirname(d)
    return d


def _writable_parent(p: str) -> str | None:
    d = _nearest_existing(p)
    if not os.path.isdir(d):
        return f"{d} is not a directory"
    if not os.access(d, os.W_OK | os.X_OK):
        return f"cannot write in {d}"
    return None


def _is_dir(p):
    return None if os.path.isdir(p) else ("not a directory" if os.path.exists(p) else "no such directory")


def _is_file(p):
    if os.path.isdir(p):
        return "is a directory, not a file"
    return None if os.path.isfile(p) else "no such file"


def _out_file(p):
    if os.path.isdir(p):
        return "is a directory: give a file name"
    if os.path.exists(p) and not os.path.isfile(p):
        return "is not a regular file"
    return _writable_parent(p)


def _out_dir(p):
    if os.path.exists(p) and not os.path.isdir(p):
        return "exists and is not a directory"
    return None if os.path.isdir(p) else _writable_parent(p)


_SQLITE_MAGIC = b"SQLite format 3\0"


def _db_file(p):
    """A sessions database: absent (made), empty, or a SQLite file -- never opened otherwise, so
    that a wrong path is not written into."""
    if p == ":memory:":
        return None
    if os.path.isdir(p):
        return "is a directory, not a sessions database"
    if os.path.exists(p):
        if not os.path.isfile(p):
            return "is not a regular file"
        try:
            with open(p, "rb") as f:
                head = f.read(100)
        except OSError as e:
            return f"cannot read it ({e.strerror})"
        if not head:
            return None
        if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
            return "is not a SQLite database (not a tapehead sessions file)"
        return _tapehead_tables(p)
    return _writable_parent(p)


def _tapehead_tables(p: str) -> str | None:
    """None if the SQLite file ``p`` is empty of tables or holds tapehead's; read-only, so another
    program's database is never written into."""
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(os.path.abspath(p))}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as e:
        return f"is not a usable SQLite database ({e})"
    if tables and not tables & {"checkpoints", "tapehead_sessions"}:
        return f"is another program's SQLite database (tables: {', '.join(sorted(tables)[:5])}), not tapehead's sessions"
    return None


existing_dir = Path_(_is_dir, "directory")
existing_file = Path_(_is_file, "file")
out_file = Path_(_out_file, "file path")
out_dir = Path_(_out_dir, "directory path")
db_file = Path_(_db_file, "sessions database path")


class Device(Type):
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``; a CUDA device must exist in this torch (checked lazily:
    torch is imported only for a device other than ``cpu``)."""

    name = "device"
    _RX = re.compile(r"cpu|cuda(?::[0-9]{1,2})?|mps")

    def __init__(self, check_available: bool = True):
        self.check_available = check_available  # False: the spelling only (a config file, read by every command)

    def value(self, v):
        if not isinstance(v, str) or not self._RX.fullmatch(v.strip()):
            raise Bad(f"must be cpu, cuda, cuda:N or mps; got {_short(v)}")
        v = v.strip()
        if v == "cpu" or not self.check_available:
            return v
        try:
            import torch
        except ImportError:
            raise Bad(f"{v}: torch is not installed") from None
        if v == "mps":
            if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
                raise Bad("mps: this machine's torch has no MPS device; use --device cpu")
            return v
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else "no visible GPU"
            raise Bad(f"{v}: this torch ({torch.__version__}) has no CUDA device ({build}); use --device cpu")
        if ":" in v and int(v.split(":")[1]) >= torch.cuda.device_count():
            raise Bad(f"{v}: only {torch.cuda.device_count()} CUDA device(s) here")
        return v


class ThreadId(Type):
    """A session id, by ``agent/graph/sessions.py``'s rule (``check_thread_id``: it names a file)."""

    name = "session id"

    def value(self, v):
        from tapehead.agent.graph.sessions import check_thread_id

        try:
            return check_thread_id(v)
        except ValueError as e:
            raise Bad(str(e)) from None


class IdPrefix(ThreadId):
    """A session id or a unique prefix of one: non-empty, same characters as an id."""

    name = "session id prefix"

    def value(self, v):
        if not isinstance(v, str) or not v:
            raise Bad("give a session id (or a unique prefix of one), not an empty string")
        return super().value(v)


class ApprovalAnswer(Type):
    """An answer to a pending approval (``agent/graph/approval.py``'s strict parser)."""

    name = "answer"

    def value(self, v):
        from tapehead.agent.graph.approval import parse_answer

        try:
            parse_answer(v)
        except ValueError as e:
            raise Bad(str(e)) from None
        return v


class ApprovalModes(Type):
    """``CATEGORY=MODE,...`` (``exec=yolo,edit=confirm``, ``all=yolo``) -> a dict."""

    name = "approval modes"

    def value(self, v):
        from tapehead.agent.graph.approval import parse_modes

        try:
            return parse_modes(v)
        except ValueError as e:
            raise Bad(str(e)) from None


positive_int = Integer(1)
nonneg_int = Integer(0)


def integer(lo: int | None = None, hi: int | None = None) -> Integer:
    return Integer(lo, hi)


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> Number:
    return Number(lo, hi, lo_open)


def int_list(lo: int = 1, hi: int | None = None) -> IntList:
    return IntList(Integer(lo, hi))


def name_list(choices: Callable[[], list[str]] | None = None) -> NameList:
    return NameList(choices)


def task_names() -> list[str]:
    from tapehead.agent.tasks import task_names as names

    return names()


device = Device()
thread_id = ThreadId()
id_prefix = IdPrefix()
approval_answer = ApprovalAnswer()
approval_modes = ApprovalModes()
boolean = Boolean()
text = Text()


# --- the declarations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    type: Type | None  # None: a switch (store_true)
    default: Any = None
    help: str = ""
    metavar: str | None = None
    key: str | None = None  # the configuration file's key (agent/cli/config.py), when it has one
    extra: dict = field(default_factory=dict)  # more add_argument keywords (required, nargs, ...)


# Bounds: the lower one is what makes sense (a count of 0 loops for ever or does nothing); the upper
# one stops a typo from allocating gigabytes (d_model 10^9) or running for a year.
_BIG = 10**9
DEFAULT_THREADS = 1  # measured: docs/benchmarks.md, "CPU threads"
SCHEMA: dict[str, Option] = {
    # the run of a model
    "device": Option(("--device",), device, "cpu", "torch device: cpu, cuda, cuda:N", key="device"),
    "threads": Option(("--threads",), integer(1, 1024), DEFAULT_THREADS,
                      "torch CPU threads (measured: docs/benchmarks.md, CPU threads)", "N", key="threads"),
    "policy": Option(("--policy",), text, None, "a checkpoint path (no suffix) or a shipped policy's name; "
                     "default: the configured one for the task ([policy] TASK), else the task's shipped one"),
    "json": Option(("--json",), None, False, "print one JSON object (machine output)"),
    "trace": Option(("--trace",), None, False, "print the coloured trace (thoughts, commands, observations, outputs)"),
    # limits of one episode / run (agent/loops/episode.py Limits)
    "max_tokens": Option(("--max-tokens",), integer(1, _BIG), None,
                         "stop after this many tokens after the input (default: the task's bound)", "N",
                         key="limits.max_tokens"),
    "max_steps": Option(("--max-steps",), integer(1, _BIG), None, "graph steps", "N", key="limits.max_steps"),
    "max_tool_calls": Option(("--max-tool-calls",), integer(1, _BIG), None, "tool calls, tape commands included",
                             "N", key="limits.max_tool_calls"),
    "max_seconds": Option(("--max-seconds",), number(0, 10**7, lo_open=True), None, "running time in seconds",
                          "S", key="limits.max_seconds"),
    "max_malformed": Option(("--max-malformed",), integer(1, 10**6), None,
                            "consecutive malformed outputs (default 3)", "N", key="limits.max_malformed"),
    "step_tokens": Option(("--step-tokens",), integer(1, 1 << 20), 2048, "tokens decoded per graph step "
                          "(a checkpoint each)", "N", key="limits.step_tokens"),
    # sessions
    "db": Option(("--db",), db_file, None, "sessions database (default: TAPEHEAD_HOME/sessions.sqlite)", "FILE"),
    "thread": Option(("--thread",), thread_id, None, "the new session's id (letters, digits, ._-; "
                     "default: time + random)", "ID"),
    "resume": Option(("--resume",), id_prefix, None, "continue session ID (after a kill, or to answer an "
                     "approval); a unique prefix is enough", "ID"),
    "answer": Option(("--answer",), approval_answer, None, "with --resume: the answer to the pending approval: "
                     "yes or no, or '{\"approve\": true, \"note\": \"...\"}'", "ANSWER"),
    "workspace": Option(("--workspace",), existing_dir, None, "give the agent the workspace tools on a scratch "
                        "copy of this directory", "DIR"),
    "approve": Option(("--approve",), approval_modes, None, "approval modes per category (read, edit, exec, git, "
                      "all): confirm or yolo, over the configured ones", "CAT=MODE,..."),
    "yes": Option(("--yes", "-y"), None, False, "do it without asking"),
    # evaluation
    "sizes": Option(("--sizes",), int_list(1, 10**8), "5,10,100,1000", "comma-separated sizes", "N,N,..."),
    "n": Option(("--n",), integer(1, 10**7), 100, "random problems per size", "N"),
    "n_large": Option(("--n-large",), integer(1, 10**7), None, "problems per size for sizes >= --large-from "
                      "(default: --n)", "N"),
    "large_from": Option(("--large-from",), integer(1, 10**8), 2000, "the size from which --n-large applies",
                         "N"),
    "eval_batch": Option(("--batch",), integer(1, 1 << 16), 64, "episodes decoded in lockstep", "B"),
    "seed": Option(("--seed",), nonneg_int, 0, "random seed", "N"),
    "stop_below": Option(("--stop-below",), number(0, 1), None, "skip the larger sizes once a size scores below "
                         "this on answers and trajectories (listed as not run)", "FRACTION"),
    "workers": Option(("--workers",), integer(0, 1024), 0, "processes building training traces (0: inline)", "N"),
    # training
    "steps": Option(("--steps",), integer(1, _BIG), 2000, "training steps", "N"),
    "train_batch": Option(("--batch",), integer(1, 1 << 20), 128, "training batch (rows per step)", "B"),
    "lr": Option(("--lr",), number(0, 10, lo_open=True), 3e-3, "peak learning rate", "LR"),
    "micro_tokens": Option(("--micro-tokens",), integer(0, 1 << 40), 0, "split a step into micro-batches of rows "
                           "of similar length, each at most this many padded tokens (0: one batch per step)", "N"),
    "train_size": Option(("--train-size",), integer(1, 10**6), None, "train on sizes up to this instead of each "
                         "task's own (cells named ARCH-nN)", "N"),
    "max_size": Option(("--max-size",), integer(1, 10**6), None, "largest training size (default: the task's)", "N"),
    "seq_len": Option(("--seq-len",), integer(0, 1 << 24), 0, "longest training trace (0: the task's bound)", "N"),
    "weight_decay": Option(("--weight-decay",), number(0, 10), 0.01, "AdamW weight decay", "W"),
    "warmup": Option(("--warmup",), integer(0, _BIG), 100, "warmup steps (at most a tenth of --steps)", "N"),
    "d_model": Option(("--d-model",), integer(1, 1 << 16), 256, "model width", "N"),
    "layers": Option(("--layers",), integer(1, 1024), 4, "layers", "N"),
    "d_state": Option(("--d-state",), integer(1, 4096), 64, "Mamba-2 SSM state size per head", "N"),
    "headdim": Option(("--headdim",), integer(1, 4096), 64, "Mamba-2 head dimension", "N"),
    "chunk_size": Option(("--chunk-size",), integer(1, 1 << 16), 64, "Mamba-2 SSD scan chunk", "N"),
    "checkpoint_every": Option(("--checkpoint-every",), integer(1, _BIG), 500, "steps between checkpoints", "N"),
    "val_every": Option(("--val-every",), integer(1, _BIG), 250, "steps between validations", "N"),
}


class _Store(argparse._StoreAction):
    """argparse's store, remembering that the flag was on the command line (``given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _mark(namespace, self.dest)


class _StoreTrue(argparse._StoreTrueAction):
    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _mark(namespace, self.dest)


def _mark(namespace, dest: str) -> None:
    given = getattr(namespace, "given_flags", None)
    if given is None:
        given = set()
        setattr(namespace, "given_flags", given)
    given.add(dest)


def given(args, dest: str) -> bool:
    """Was option ``dest`` on the command line (rather than its default, or the configured one)?
    E.g. a resumed session keeps its recorded limits unless a flag says otherwise."""
    return dest in (getattr(args, "given_flags", None) or ())


def add(p, *names: str, **overrides) -> None:
    """Add the declared options ``names`` to parser ``p``. ``overrides``: ``NAME_default=``,
    ``NAME_help=``, ``NAME_required=``, ``NAME_flags=``, ``NAME_dest=`` (e.g. ``add(p, "steps",
    steps_default=2000)``); an unknown override is a TypeError (a typo must not pass silently)."""
    known = {f"{n}_{k}" for n in names for k in ("default", "help", "required", "flags", "dest")}
    if set(overrides) - known:
        raise TypeError(f"options.add: unknown override(s) {sorted(set(overrides) - known)}")
    for name in names:
        opt = SCHEMA[name]
        kw = dict(opt.extra)
        kw["default"] = overrides.get(f"{name}_default", opt.default)
        kw["help"] = overrides.get(f"{name}_help", opt.help)
        if f"{name}_required" in overrides:
            kw["required"] = overrides[f"{name}_required"]
        if opt.type is None:
            kw["action"] = _StoreTrue
        else:
            kw["action"] = _Store
            kw["type"] = opt.type
            kw["metavar"] = opt.metavar or name.upper()
        if f"{name}_dest" in overrides:
            kw["dest"] = overrides[f"{name}_dest"]
        action = p.add_argument(*overrides.get(f"{name}_flags", opt.flags), **kw)
        action.config_key = opt.key


# --- input and threads -----------------------------------------------------------------------------------
DEFAULT_MAX_INPUT_BYTES = 1 << 20  # 1 MiB of task text (issue 12, class 6; `max_input_bytes` in the config)


def read_input(value: str | None, max_bytes: int = DEFAULT_MAX_INPUT_BYTES, what: str = "input") -> str:
    """A task's input as given: the text itself, ``@FILE`` (read from a file) or ``-`` (read from
    stdin), at most ``max_bytes`` bytes (read no further, so a huge file costs nothing). ValueError
    with one line otherwise."""
    if value is None:
        raise ValueError(f"give the {what}")
    if value == "-":
        data = sys.stdin.buffer.read(max_bytes + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read(max_bytes + 1).encode()
        source = "stdin"
    elif value.startswith("@"):
        path = os.path.expanduser(value[1:])
        if not path or not os.path.isfile(path):
            raise ValueError(f"no such input file: {value[1:]!r}" if not os.path.isdir(path)
                             else f"input file {value[1:]!r} is a directory")
        try:
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise ValueError(f"cannot read input file {value[1:]!r}: {e.strerror}") from None
        source = value[1:]
    else:
        data = value.encode("utf-8", "surrogateescape")
        source = "the command line"
    if len(data) > max_bytes:
        raise ValueError(f"the {what} from {source} is over the input-size limit of {max_bytes:,} bytes; "
                         f"raise it with max_input_bytes in the configuration (tapehead config)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"the {what} from {source} is not UTF-8 text (byte {e.start})") from None


def apply_threads(n: int | None) -> int:
    """Set torch's intra-op CPU threads (``None``: the measured default); returns the number set."""
    import torch

    n = DEFAULT_THREADS if n is None else n
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
