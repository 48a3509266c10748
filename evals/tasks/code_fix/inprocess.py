"""Run a generated repository's ``python main.py`` in this process, from in-memory file texts.

Convention (issue 14, "Fast training data"): the training data path cannot afford a sandboxed
child process per check (~60-110 ms), so it executes the current texts here: a meta-path finder
(``importlib.abc.MetaPathFinder``, PEP 451 specs) serves the repository's modules from the dict,
each compiled with its path relative to the root as filename (code objects are cached by text: a
check after one edit recompiles one file), stdout and stderr are captured, and an uncaught
exception is formatted by ``traceback`` -- then ``trim_traceback`` makes the same compact
observation as the sandboxed check tool. ``tests/evals/test_code_fix_parity.py`` checks that the
two read the same at every step of the teachers' trajectories.

Only for repositories this package generated (trusted, deterministic, terminating code): anything
else runs in the sandbox. The repository's top-level module names must not be already imported
here or be standard-library names (the generators avoid them; ``run`` refuses a clash).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.abc
import importlib.util
import io
import linecache
import sys
import traceback

from tapehead.tools.code.refactor import module_of
from tapehead.tools.code.tracebacks import trim_traceback


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, runner: "InProcess", files: dict[str, str]):
        self.runner, self.files = runner, files
        self.modules: dict[str, str] = {}  # module name -> path
        self.packages: set[str] = set()  # names of packages (regular or namespace)
        for path in files:
            mod = module_of(path)
            if mod is None:
                continue
            self.modules[mod] = path
            parts = mod.split(".")
            if path.endswith("__init__.py"):
                self.packages.add(mod)
            self.packages.update(".".join(parts[:k]) for k in range(1, len(parts)))

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.modules and fullname not in self.packages:
            return None
        origin = self.modules.get(fullname)
        spec = importlib.util.spec_from_loader(fullname, self, origin=origin, is_package=fullname in self.packages)
        spec.has_location = origin is not None
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        path = self.modules.get(module.__name__)
        if path is not None:
            exec(self.runner.code(path, self.files[path]), module.__dict__)


class InProcess:
    """``run(files)`` -> (exit status, merged output); ``check(files)`` -> the compact observation."""

    def __init__(self, script: str = "main.py"):
        self.script = script
        self._code: dict[tuple[str, str], object] = {}

    def code(self, path: str, text: str):
        key = (path, text)
        code = self._code.get(key)
        if code is None:
            if len(self._code) > 20_000:
                self._code.clear()
            code = self._code[key] = compile(text, path, "exec", dont_inherit=True)
        return code

    def run(self, files: dict[str, str]) -> tuple[int, str]:
        if self.script not in files:
            return 2, f"python: can't open file {self.script!r}: [Errno 2] No such file or directory\n"
        finder = _Finder(self, files)
        tops = {m.split(".")[0] for m in finder.modules} | {p.split(".")[0] for p in finder.packages}
        clash = sorted(t for t in tops if t in sys.modules or t in sys.stdlib_module_names)
        if clash:
            raise ValueError(f"repository modules {clash} clash with modules of this process; run it in the sandbox")
        out = io.StringIO()
        cached = {p: linecache.cache.get(p) for p in files}
        for p, text in files.items():  # the sources traceback shows (mtime None: never invalidated)
            linecache.cache[p] = (len(text), None, text.splitlines(keepends=True), p)
        sys.meta_path.insert(0, finder)
        status = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    exec(self.code(self.script, files[self.script]),
                         {"__name__": "__main__", "__file__": self.script, "__builtins__": builtins})
                except SystemExit as e:
                    status = _exit_status(e, out)
                except Exception as e:  # what the interpreter would print, then exit 1
                    out.write("".join(traceback.format_exception(e)))
                    status = 1
        finally:
            sys.meta_path.remove(finder)
            for name in [m for m in sys.modules if m.split(".")[0] in tops]:
                del sys.modules[name]
            for p, entry in cached.items():
                if entry is None:
                    linecache.cache.pop(p, None)
                else:
                    linecache.cache[p] = entry
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


def _exit_status(e: SystemExit, out) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    out.write(f"{e.code}\n")
    return 1
