"""Run a generated repository's ``python main.py`` in this process, from in-memory file texts.

Convention (issue 14, "Fast training data"): the training data path cannot afford a sandboxed
child process per check (~60-110 ms), so it executes the current texts here. The repository's
modules are served by an ``__import__`` of our own in the builtins the code runs with (the
statement forms the generators write: ``import m``, ``from a.b import c``, ``from pkg import
module``; anything else goes to the real ``__import__``): each file is compiled with its path
relative to the root as filename, and code objects are cached by text, so a check after one edit
compiles one file. The importlib machinery costs ~150 us a module, this ~10 us; its frames, like
ours, are not the workspace's and never reach the observation. What the code prints is captured
(the generators' code writes only with ``print``: it gets one into the run's buffer); an
uncaught exception is formatted with ``traceback`` (``extract_tb`` of its innermost frames, in the
interpreter's layout, and ``format_exception_only``: the observation shows only the innermost
workspace frame and the error), then ``trim_traceback`` makes the same compact observation as the
sandboxed check tool. ``tests/evals/test_code_fix_parity.py`` checks that the two read the same
at every step of the teachers' trajectories.

Only for repositories this package generated (trusted, deterministic, terminating code): anything
else runs in the sandbox. Nothing is registered in ``sys.modules``.
"""

from __future__ import annotations

import builtins
import io
import linecache
import traceback
import types

from tapehead.tools.code.refactor import module_of
from tapehead.tools.code.tracebacks import trim_traceback

_CODE: dict[tuple[str, str], types.CodeType] = {}  # (path, text) -> code, shared by every runner
_CODE_LIMIT = 50_000
FRAMES = 8  # traceback frames formatted (the innermost: ours and the workspace's)


def compiled(path: str, text: str) -> types.CodeType:
    key = (path, text)
    code = _CODE.get(key)
    if code is None:
        if len(_CODE) >= _CODE_LIMIT:
            _CODE.clear()
        code = _CODE[key] = compile(text, path, "exec", dont_inherit=True)
    return code


class _Importer:
    """``__import__`` for one run: the repository's modules from the dict, the rest from Python.
    Its builtins also carry a ``print`` into the run's own buffer: nothing global is swapped (a
    progress bar's refresh thread writing to ``sys.stdout`` meanwhile stays out of the output)."""

    def __init__(self, files: dict[str, str], out: io.StringIO):
        self.files = files
        self.paths: dict[str, str] = {}  # module name -> file
        self.packages: set[str] = set()
        for path in files:
            mod = module_of(path)
            if mod is None:
                continue
            self.paths[mod] = path
            parts = mod.split(".")
            if path.endswith("__init__.py"):
                self.packages.add(mod)
            self.packages.update(".".join(parts[:k]) for k in range(1, len(parts)))
        self.modules: dict[str, types.ModuleType] = {}

        def print_(*args, sep=" ", end="\n", file=None, flush=False):
            builtins.print(*args, sep=sep, end=end, file=out if file is None else file, flush=flush)

        self.builtins = dict(builtins.__dict__, __import__=self, print=print_)

    def ours(self, name: str) -> bool:
        return name in self.paths or name in self.packages

    def load(self, name: str) -> types.ModuleType:
        mod = self.modules.get(name)
        if mod is not None:
            return mod
        parent = None
        if "." in name:
            parent = self.load(name.rsplit(".", 1)[0])
        mod = types.ModuleType(name)
        path = self.paths.get(name)
        mod.__file__ = path
        mod.__builtins__ = self.builtins
        if name in self.packages:
            mod.__path__ = []
        mod.__package__ = name if name in self.packages else name.rpartition(".")[0]
        self.modules[name] = mod  # before its code runs, as sys.modules would have it
        if parent is not None:
            setattr(parent, name.rsplit(".", 1)[1], mod)
        if path is not None:
            exec(compiled(path, self.files[path]), mod.__dict__)
        return mod

    def __call__(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level or not self.ours(name.split(".")[0]):
            return builtins.__import__(name, globals, locals, fromlist, level)
        mod = self.load(name)
        if not fromlist:
            return self.modules[name.split(".")[0]]
        for attr in fromlist:  # ``from pkg import module``: the submodule, if it is one
            sub = f"{name}.{attr}"
            if not hasattr(mod, attr) and self.ours(sub):
                self.load(sub)
        return mod


class InProcess:
    """``run(files)`` -> (exit status, merged output); ``check(files)`` -> the compact observation."""

    def __init__(self, script: str = "main.py"):
        self.script = script

    def run(self, files: dict[str, str]) -> tuple[int, str]:
        if self.script not in files:
            return 2, f"python: can't open file {self.script!r}: [Errno 2] No such file or directory\n"
        out = io.StringIO()
        importer = _Importer(files, out)
        main = {"__name__": "__main__", "__file__": self.script, "__builtins__": importer.builtins}
        status = 0
        try:
            exec(compiled(self.script, files[self.script]), main)
        except SystemExit as e:
            status = _exit_status(e, out)
        except Exception as e:  # what the interpreter would print, then exit 1
            out.write(_format(e, files))
            status = 1
        return status, out.getvalue()

    def check(self, files: dict[str, str]) -> str:
        status, output = self.run(files)
        return trim_traceback(output, status)

    def stdout(self, files: dict[str, str]) -> str:
        """The program's output when it passes (the hidden check compares it)."""
        status, output = self.run(files)
        if status != 0:
            raise RuntimeError(f"the program fails:\n{trim_traceback(output, status)}")
        return output


def _format(e: BaseException, files: dict[str, str]) -> str:
    """The innermost frames of the traceback, sources from the in-memory files."""
    shown, tb = set(), e.__traceback__
    while tb is not None:
        shown.add(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    saved = {p: linecache.cache.get(p) for p in shown if p in files}
    for p in saved:  # (mtime None: linecache.checkcache leaves them alone)
        linecache.cache[p] = (len(files[p]), None, files[p].splitlines(keepends=True), p)
    try:  # the interpreter's layout without Python 3.11's caret lines (trim drops them; they cost ~0.1 ms a frame)
        frames = traceback.extract_tb(e.__traceback__, limit=-FRAMES)
        lines = ["Traceback (most recent call last):\n"]
        for f in frames:
            lines.append(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n')
            if f.line:
                lines.append(f"    {f.line.strip()}\n")
        return "".join(lines + traceback.format_exception_only(e))
    finally:
        for p, entry in saved.items():
            if entry is None:
                linecache.cache.pop(p, None)
            else:
                linecache.cache[p] = entry


def _exit_status(e: SystemExit, out) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    out.write(f"{e.code}\n")
    return 1
