"""The value types of tapehead's options: each an argparse ``type=`` callable with its bounds.

Convention (argparse's ``type=``): ``t(text)`` parses the command line's string; ``t.typed(obj)``
checks a typed value (a TOML value of the configuration file, a Python API argument: its type
first, no string parsing), then the same bounds. A refusal is ``Bad``, both argparse's
``ArgumentTypeError`` and a ``ValueError``, with one line naming what is wrong (argparse prefixes
the option: ``argument --n: must be >= 1, got -1``). Digits are ASCII ``[0-9]`` only (``int()`` and
``\\d`` would take ``١٢٣``). Paths are checked without writing anything: ``db_file`` opens an
existing database read-only to see that it is tapehead's. ``agent/cli/options.py`` declares every
option with these types and re-exports them; use them through it.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from typing import Callable

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


def _text(v: str, rx: re.Pattern, what: str) -> str:
    """``v`` stripped, if it is all ``rx`` (ASCII digits: never ``int()``'s Unicode ones)."""
    s = v.strip()
    if not rx.fullmatch(s):
        raise Bad(f"must be {what}, got {_short(v)}")
    return s


class Numeric(Type):
    """A number within ``lo``..``hi`` (``lo_open``: above ``lo``); an integer or a finite float by ``kind``."""

    def __init__(self, lo=None, hi=None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def value(self, v):
        whole = self.kind == "int"
        if isinstance(v, str):
            v = int(_text(v, _INT, "an integer (ASCII digits)").replace("_", "")) if whole else \
                float(_text(v, _FLOAT, "a number"))
        elif isinstance(v, bool) or not isinstance(v, int if whole else (int, float)):
            raise Bad(f"must be {_ARTICLE[self.kind]}, got {type(v).__name__} {_short(v)}")
        if not whole:
            v = float(v)
            if not math.isfinite(v):
                raise Bad(f"must be a finite number, got {v}")
        show = (lambda x: f"{x:,}") if whole else (lambda x: f"{x:g}")
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            raise Bad(f"must be {'>' if self.lo_open else '>='} {show(self.lo)}, got {show(v)}")
        if self.hi is not None and v > self.hi:
            raise Bad(f"must be <= {show(self.hi)}, got {show(v)}")
        return v


class Integer(Numeric):
    kind, name = "int", "integer"


class Number(Numeric):
    kind, name = "float", "number"


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
    """Comma-separated names, each one of ``choices`` (when given); ``empty``: none is a value too."""

    kind, name = "list", "list of names"

    def __init__(self, choices: Callable[[], list[str]] | None = None, empty: bool = False):
        self.choices, self.empty = choices, empty

    def value(self, v):
        items = [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else v
        if isinstance(items, (list, tuple)) and not items and self.empty:
            return []
        if not isinstance(items, (list, tuple)) or not items or not all(isinstance(s, str) for s in items):
            raise Bad(f"must be comma-separated names, got {_short(v)}")
        known = self.choices() if self.choices else None
        for s in items:
            if known is not None and s not in known:
                raise Bad(f"unknown name {s!r}; choose from {', '.join(known)}")
        return list(items)


class PathCheck(Type):
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


existing_dir = PathCheck(_is_dir, "directory")
existing_file = PathCheck(_is_file, "file")
out_file = PathCheck(_out_file, "file path")
out_dir = PathCheck(_out_dir, "directory path")
db_file = PathCheck(_db_file, "sessions database path")


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


class Checked(Type):
    """A value checked by a function of the layer that owns the rule (``check(v)`` raises ValueError);
    ``keep``: the value itself is the result, else what ``check`` returns."""

    def __init__(self, name: str, check: Callable, keep: bool = False, empty: str | None = None):
        self.name, self.check, self.keep, self.empty = name, check, keep, empty

    def value(self, v):
        if self.empty is not None and not v:
            raise Bad(self.empty)
        try:
            got = self.check(v)
        except ValueError as e:
            raise Bad(str(e)) from None
        return v if self.keep else got


def _thread_id(v):  # agent/graph/sessions.py: a session id names a file
    from tapehead.agent.graph.sessions import check_thread_id

    return check_thread_id(v)


def _answer(v):  # agent/graph/approval.py's strict parser of approval answers
    from tapehead.agent.graph.approval import parse_answer

    return parse_answer(v)


def _modes(v):  # CATEGORY=MODE,... (exec=yolo,edit=confirm; all=yolo) -> a dict
    from tapehead.agent.graph.approval import parse_modes

    return parse_modes(v)


positive_int = Integer(1)
nonneg_int = Integer(0)


def integer(lo: int | None = None, hi: int | None = None) -> Integer:
    return Integer(lo, hi)


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> Number:
    return Number(lo, hi, lo_open)


def int_list(lo: int = 1, hi: int | None = None) -> IntList:
    return IntList(Integer(lo, hi))


def name_list(choices: Callable[[], list[str]] | None = None, empty: bool = False) -> NameList:
    return NameList(choices, empty)


def task_names() -> list[str]:
    from tapehead.agent.tasks import task_names as names

    return names()


device = Device()
thread_id = Checked("session id", _thread_id)
id_prefix = Checked("session id prefix", _thread_id,
                    empty="give a session id (or a unique prefix of one), not an empty string")
approval_answer = Checked("answer", _answer, keep=True)
approval_modes = Checked("approval modes", _modes)
boolean = Boolean()
text = Text()
