"""The structured edits as workspace tools: add_param, pass_arg, add_import.

Convention: each tool reads the file, runs the pure transform of ``tools/code/refactor.py``, and
writes through the syntax gate of ``tools/code/edits.py`` (``_EditTool.write``: an edit that would
break the syntax is refused, the file left unchanged). The observation is the transform's one line
(``added parameter v10 to f7 in f7.py:3: def f7(v3, v10):``), so that the in-process training
data path, which runs the same transforms on in-memory texts, answers byte for byte the same. The
arguments are short words (``short_form="words"``: ``[CALL]add_param f7.py f7 v10[/CALL]``).
"""

from __future__ import annotations

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.code import refactor
from tapehead.tools.code.edits import _EditTool

PATH = Arg("path", "str", "the Python file, relative to the workspace root")
FUNCTION = Arg("function", "str", "the function's name (Class.method when a file has several)")
NAME = Arg("name", "str", "the parameter / argument name, a Python identifier")


class _RefactorTool(_EditTool):
    def apply(self, path: str, transform) -> Observation:
        p = self.path(path)
        if not p.rel.endswith(".py"):
            return error(f"{p.rel} is not a Python file")
        old = self.read_text(p)
        result = transform(old, p.rel)
        if not result.ok:
            return error(result.message)
        written = self.write(p, old, result.text, False, (result.line, result.line), "edited")
        if not written.ok:
            return written
        syntax = written.data.get("syntax", "ok")
        note = "" if syntax == "ok" else f" (syntax: {syntax})"
        return Observation(result.message + note, data={**written.data, "line": result.line})


class AddParam(_RefactorTool):
    spec = ToolSpec("add_param", "Add a parameter to a function's definition (keyword-only when the "
                                 "signature has defaults, *args or **kwargs).", "edit",
                    (PATH, FUNCTION, NAME), short_form="words")

    def act(self, path, function, name):
        return self.apply(path, lambda src, rel: refactor.add_param(src, rel, function, name))


class PassArg(_RefactorTool):
    spec = ToolSpec("pass_arg", "Pass name=name at the call of a function on one line (line=0: every call "
                                "in the file).", "edit",
                    (PATH, FUNCTION, NAME, Arg("line", "int", "the line of the call (0: every call in the file)",
                                               False, 0)), short_form="words")

    def act(self, path, function, name, line):
        return self.apply(path, lambda src, rel: refactor.pass_arg(src, rel, function, name, line))


class AddImport(_RefactorTool):
    spec = ToolSpec("add_import", "Import a name into a file from the file that defines it "
                                  "(from <module of source> import name).", "edit",
                    (PATH, Arg("name", "str", "the function, class or constant to import"),
                     Arg("source", "str", "the file that defines it, relative to the workspace root")),
                    short_form="words")

    def act(self, path, name, source):
        q = self.path(source)
        module = refactor.module_of(q.rel)
        if module is None:
            return error(f"{q.rel} is not an importable module (a .py file under identifier-named folders)")
        if q.rel == self.path(path).rel:
            return error(f"{q.rel} is the file itself: nothing to import")
        defined = refactor.top_level_names(self.read_text(q)).get(name)
        if defined in (None, "import"):
            return error(f"{q.rel} does not define {name}")
        return self.apply(path, lambda src, rel: refactor.add_import(src, rel, name, module))
