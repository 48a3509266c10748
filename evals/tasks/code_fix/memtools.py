"""The coding tools over an in-memory repository: the same observation texts as the real tools,
without a workspace, a git worktree or a sandbox (the training-data path; issue 14).

Convention: one ``MemoryRepo`` holds the current file texts. ``call(text)`` takes a call span's
text exactly as the policy writes it, parses its arguments with the real tools' specs
(``agent/trace/calls.py``), and answers what the real tool would:

- ``check``: the in-process run of ``inprocess.py`` through ``trim_traceback``;
- ``add_param``, ``pass_arg``, ``add_import``: the pure transforms of ``tools/code/refactor.py``
  (the real tools wrap the same functions), ``error: ...`` for a refusal;
- ``find_definition``: definitions from ``tools/code/symbols.py``'s ``extract``, formatted as
  ``FindDefinition`` formats them;
- ``list_files`` (the whole repository), ``read_file``: formatted as ``tools/code/files.py`` does.

The formatting of the last two is repeated from those modules (they belong to the workspace
tools, which this path must not need); ``tests/evals/test_code_fix_parity.py`` runs the teachers
through the real tools and this repository and compares every observation, so a change there
fails a test here. Only what the teachers call is served; anything else is a loud error.
"""

from __future__ import annotations

from tapehead.agent.trace.calls import parse_args, split_call
from tapehead.tools.code import refactor
from tapehead.tools.code.check import Check
from tapehead.tools.code.files import MAX_LINE_CHARS, MAX_READ_LINES, ListFiles, ReadFile
from tapehead.tools.code.grammars import PYTHON, grammar_for
from tapehead.tools.code.refactor_tools import AddImport, AddParam, PassArg
from tapehead.tools.code.symbols import FindDefinition, extract

from .inprocess import InProcess

SPECS = {t.spec.name: t.spec for t in (Check, AddParam, PassArg, AddImport, FindDefinition, ListFiles, ReadFile)}


class MemoryRepo:
    def __init__(self, files: dict[str, str], check: str = "python main.py", runner: InProcess | None = None):
        script = check.split()
        if len(script) != 2 or script[0] != "python" or not script[1].endswith(".py"):
            raise ValueError(f"in process, the check must be `python FILE.py`, got {check!r}")
        self.files = dict(files)
        self.runner = runner or InProcess(script[1])
        self._symbols: dict[tuple[str, str], list] = {}
        self.calls = 0

    def call(self, text: str) -> str:
        """The observation text of one call (``name args``), as the real tool answers it."""
        name, args = split_call(text)
        spec = SPECS.get(name)
        if spec is None:
            raise NotImplementedError(f"the in-memory repository does not serve {name!r}")
        self.calls += 1
        return getattr(self, "_" + name)(**parse_args(spec, args))

    def call_tools(self) -> dict:
        """``Episode.call_tools`` for a token-level policy (``run_episode(..., call_tools=...)``)."""
        return {n: (lambda n: lambda args: self.call(f"{n} {args}" if args else n))(n) for n in SPECS}

    # --- the tools ------------------------------------------------------------------------------------
    def _check(self) -> str:
        return self.runner.check(self.files)

    def _edit(self, path: str, result) -> str:
        if isinstance(result, str):
            return result
        if not result.ok:
            return f"error: {result.message}"
        self.files[path] = result.text
        return result.message

    def _missing(self, path: str) -> str | None:
        """The edit tools' refusal of a file that is not there (a policy's typo), else None."""
        return None if path in self.files else f"error: no such file: {path} (use create_file to make it)"

    def _add_param(self, path, function, name) -> str:
        return self._edit(path, self._missing(path) or refactor.add_param(self.files[path], path, function, name))

    def _pass_arg(self, path, function, name, line=0) -> str:
        return self._edit(path, self._missing(path) or refactor.pass_arg(self.files[path], path, function, name, line))

    def _add_import(self, path, name, source) -> str:
        module = refactor.module_of(source)
        if module is None:
            raise NotImplementedError(f"add_import from {source!r}: the teachers import from modules")
        missing = self._missing(source) or self._missing(path)
        if missing:
            return missing
        if refactor.top_level_names(self.files[source]).get(name) in (None, "import"):
            return f"error: {source} does not define {name}"
        return self._edit(path, refactor.add_import(self.files[path], path, name, module))

    def _find_definition(self, name, path=".", max_results=50) -> str:
        if path not in (".", ""):
            raise NotImplementedError("find_definition under a folder")
        name = name.strip()
        sources = [p for p in sorted(self.files) if grammar_for(p) is not None]
        last = name.rsplit(".", 1)[-1]
        hits = [(p, s) for p in sources if last in self.files[p]
                for s in self._defs(p) if name in (s.name, s.qualname)]
        if not hits:
            return f"no definition of {name!r} found ({len(sources)} source files searched)"
        shown = hits[:max(1, max_results)]
        text = "\n".join(f"{p}:{s.line}-{s.end_line}: {s.kind} {s.qualname}" for p, s in shown)
        cut = len(hits) - len(shown)
        return text + (f"\n... {cut} more not shown" if cut else "")

    def _list_files(self, path=".", pattern="", max_results=200) -> str:
        if path not in (".", "") or pattern:
            raise NotImplementedError("list_files of a folder or with a pattern")
        files = sorted(self.files)
        shown = files[:max(1, max_results)]
        cut = len(files) - len(shown)
        return "\n".join(shown) + (f"\n... {cut} more files not shown (narrow path or pattern)" if cut else "")

    def _read_file(self, path, start=1, end=0) -> str:
        lines = self._source(path).splitlines()
        n = len(lines)
        if n == 0:
            return f"{path} is empty"
        if start < 1 or start > n or (end and end < start):
            raise NotImplementedError("read_file outside the file")
        last = min(n, end or n, start + MAX_READ_LINES - 1)
        width = len(str(last))
        body = []
        for i in range(start, last + 1):
            t = lines[i - 1]
            if len(t) > MAX_LINE_CHARS:
                t = t[:MAX_LINE_CHARS] + f" ... [{len(t) - MAX_LINE_CHARS} chars cut]"
            body.append(f"{i:>{width}}| {t}")
        more = f"; read on with start={last + 1}" if last < min(n, end or n) else ""
        return f"{path} (lines {start}-{last} of {n}{more})\n" + "\n".join(body)

    # --- helpers ------------------------------------------------------------------------------------
    def _source(self, path: str) -> str:
        if path not in self.files:
            raise NotImplementedError(f"{path!r} is not in the repository")
        return self.files[path]

    def _defs(self, path: str):
        key = (path, self.files[path])
        if key not in self._symbols:
            if len(self._symbols) > 4096:
                self._symbols.clear()
            self._symbols[key] = extract(PYTHON, key[1].encode("utf-8"))[0]
        return self._symbols[key]
