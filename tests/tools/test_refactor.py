"""The structured edits: the pure transforms (where a parameter, an argument, an import goes; every
refusal), a property test that add_param keeps every existing call valid, and the tools on a real
workspace (syntax gate, confinement, the words call form, as LangChain tools)."""

import inspect
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workspace_helpers import user_repo, ws  # noqa: F401

from tapehead.agent.graph.lc_tools import as_langchain_tool
from tapehead.agent.trace.calls import CallError, parse_args
from tapehead.tools.code import refactor
from tapehead.tools.code.refactor_tools import AddImport, AddParam, PassArg


def edited(result):
    assert result.ok, result.message
    compile(result.text, "<edited>", "exec")
    return result.text


@pytest.mark.parametrize("before, after", [
    ("def f():\n    pass\n", "def f(v10):\n    pass\n"),
    ("def f(a, b):\n    pass\n", "def f(a, b, v10):\n    pass\n"),
    ("def f(a, /, b):\n    pass\n", "def f(a, /, b, v10):\n    pass\n"),
    ("def f(a, b=1):\n    pass\n", "def f(a, b=1, *, v10):\n    pass\n"),
    ("def f(a, *args):\n    pass\n", "def f(a, *args, v10):\n    pass\n"),
    ("def f(a, *, k=1):\n    pass\n", "def f(a, *, k=1, v10):\n    pass\n"),
    ("def f(a, **kw):\n    pass\n", "def f(a, *, v10, **kw):\n    pass\n"),
    ("def f(a, *args, **kw):\n    pass\n", "def f(a, *args, v10, **kw):\n    pass\n"),
    ("def f(a: int, b: str = 'x') -> None:\n    pass\n", "def f(a: int, b: str = 'x', *, v10) -> None:\n    pass\n"),
    ("def f(\n    a,\n    b,\n):\n    pass\n", "def f(\n    a,\n    b,\n    v10,\n):\n    pass\n"),
    ("def f(\n    a,\n    b\n):\n    pass\n", "def f(\n    a,\n    b,\n    v10\n):\n    pass\n"),
    ("@dec\ndef f(a):\n    pass\n", "@dec\ndef f(a, v10):\n    pass\n"),
])
def test_add_param_places_the_parameter(before, after):
    assert edited(refactor.add_param(before, "m.py", "f", "v10")) == after


def test_add_param_message_and_refusals():
    r = refactor.add_param("def f7(v3):\n    print(v10)\n", "f7.py", "f7", "v10")
    assert r.message == "added parameter v10 to f7 in f7.py:1: def f7(v3, v10):" and r.line == 1
    r = refactor.add_param("def f(a=1):\n    pass\n", "m.py", "f", "x")
    assert r.message == "added keyword-only parameter x to f in m.py:1: def f(a=1, *, x):"
    two = "class A:\n    def f(self):\n        pass\n\n\nclass B:\n    def f(self):\n        pass\n"
    for src, fn, name, why in [
        ("def g():\n    pass\n", "f", "x", "no function f in m.py"),
        (two, "f", "x", "2 functions named f in m.py: A.f (line 2), B.f (line 7); name one as Class.method"),
        (two, "C.f", "x", "no function C.f in m.py"),
        ("def f(x):\n    pass\n", "f", "x", "x is already a parameter of f in m.py"),
        ("def f(*x):\n    pass\n", "f", "x", "x is already a parameter of f in m.py"),
        ("def f():\n    pass\n", "f", "not valid", "'not valid' is not a Python identifier"),
        ("def f():\n    pass\n", "f", "class", "'class' is not a Python identifier"),
    ]:
        r = refactor.add_param(src, "m.py", fn, name)
        assert not r.ok and r.message == why
    assert "def f(self, x):" in edited(refactor.add_param(two, "m.py", "B.f", "x")).split("class B")[1]


def test_pass_arg_one_line_every_call_and_refusals():
    src = ("def g(v3):\n    foo(v3)\n    x = foo(1) + foo(2)\n    y = foo(\n        1,\n        2,\n    )\n"
           "    obj.foo()\n    foo(a, **kw)\n    bar(v3)\n")
    r = refactor.pass_arg(src, "g.py", "foo", "v10", 2)
    assert r.message == "passed v10=v10 to foo at g.py:2: foo(v3, v10=v10)"
    assert "x = foo(1, v10=v10) + foo(2, v10=v10)" in edited(refactor.pass_arg(src, "g.py", "foo", "v10", 3))
    wrapped = edited(refactor.pass_arg(src, "g.py", "foo", "v10", 5))  # a line inside the wrapped call
    assert "y = foo(\n        1,\n        2,\n        v10=v10,\n    )" in wrapped
    assert "obj.foo(v10=v10)" in edited(refactor.pass_arg(src, "g.py", "foo", "v10", 8))
    assert "foo(a, **kw, v10=v10)" in edited(refactor.pass_arg(src, "g.py", "foo", "v10", 9))
    every = refactor.pass_arg(src, "g.py", "foo", "v10", 0)
    assert every.message == "passed v10=v10 to foo at 6 call(s) in g.py: line(s) 2, 3, 4, 8, 9"
    assert edited(every).count("v10=v10") == 6 and "bar(v3)\n" in every.text
    for args, why in [
        (("foo", "v10", 10), "no call of foo on line 10 of g.py (calls of foo in g.py: lines 2, 3, 4, 8, 9)"),
        (("baz", "v10", 0), "no call of baz in g.py"),
        (("foo", "v 10", 2), "'v 10' is not a Python identifier"),
        (("foo()", "v10", 2), "'foo()' is not a function name (an identifier, or Class.method)"),
        (("foo", "v10", -1), "line must be 0 (every call) or a line number, got -1"),
    ]:
        r = refactor.pass_arg(src, "g.py", *args)
        assert not r.ok and r.message == why
    done = refactor.pass_arg("foo(v10=v10)\nfoo(v10=1)\n", "x.py", "foo", "v10", 0)
    assert not done.ok and done.message == "v10 is already passed to foo at every call in x.py"
    gen = refactor.pass_arg("foo(x for x in y)\n", "x.py", "foo", "v10", 1)
    assert not gen.ok and "generator expression" in gen.message


@pytest.mark.parametrize("before, after", [
    ('"""Doc."""\n\ndef f():\n    return g()\n', '"""Doc."""\n\nfrom app.m import g\n\ndef f():\n    return g()\n'),
    ('"""Doc."""\nimport os\nfrom a import b\n\nX = 1\n', '"""Doc."""\nimport os\nfrom a import b\nfrom app.m import g\n\nX = 1\n'),
    ("from __future__ import annotations\n\n# c\nimport os\n\n\ndef f():\n    pass\n",
     "from __future__ import annotations\n\n# c\nimport os\nfrom app.m import g\n\n\ndef f():\n    pass\n"),
    ("x = g()\n", "from app.m import g\nx = g()\n"),
    ("import os", "import os\nfrom app.m import g\n"),
])
def test_add_import_goes_after_the_docstring_and_imports(before, after):
    r = refactor.add_import(before, "p.py", "g", "app.m")
    assert edited(r) == after and r.message.startswith("added import to p.py:")


def test_add_import_refusals_and_module_names():
    for src, name, module, why in [
        ("from m import g\n", "g", "app.m", "g is already imported in p.py"),
        ("import g\n", "g", "app.m", "g is already imported in p.py"),
        ("def g():\n    pass\n", "g", "app.m", "p.py already defines g (a function)"),
        ("G = 1\n", "G", "app.m", "p.py already defines G (a variable)"),
        ("", "1g", "app.m", "'1g' is not a Python identifier"),
        ("", "g", "app..m", "'app..m' is not a module name"),
    ]:
        r = refactor.add_import(src, "p.py", name, module)
        assert not r.ok and r.message == why
    assert refactor.module_of("app/billing/invoice.py") == "app.billing.invoice"
    assert refactor.module_of("app/__init__.py") == "app"
    assert refactor.module_of("f7.py") == "f7"
    assert refactor.module_of("my-app/x.py") is None and refactor.module_of("x.txt") is None


PARAM = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=150, deadline=None)
@given(required=st.lists(PARAM, unique=True, max_size=3), defaults=st.lists(st.sampled_from(["e", "g"]), unique=True,
       max_size=2), star=st.sampled_from(["", "*args", "*"]), kwonly=st.booleans(), kwargs=st.booleans(),
       wrapped=st.booleans())
def test_add_param_keeps_every_existing_call_valid(required, defaults, star, kwonly, kwargs, wrapped):
    """Whatever the signature, the new parameter is required, can be passed as name=value, and a
    call that was valid before is valid with it added."""
    parts = required + [f"{d}=1" for d in defaults]
    if star == "*" and not kwonly:
        star = ""
    if star:
        parts.append(star)
        if kwonly:
            parts.append("k=2")
    if kwargs:
        parts.append("**kw")
    sep = ",\n    " if wrapped and parts else ", "
    head = "(\n    " if wrapped and parts else "("
    tail = ",\n)" if wrapped and parts else ")"
    src = f"def f{head}{sep.join(parts)}{tail}:\n    return v10\n"
    new = edited(refactor.add_param(src, "m.py", "f", "v10"))
    space: dict = {}
    exec(new, space)
    sig = inspect.signature(space["f"])
    p = sig.parameters["v10"]
    assert p.default is inspect.Parameter.empty
    assert p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if defaults or star or kwargs:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY
    assert space["f"](*range(len(required)), v10="ok") == "ok"


# --- the tools on a real workspace ------------------------------------------------------------------
def _write(ws, rel, text):
    full = os.path.join(ws.root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def _read(ws, rel):
    with open(os.path.join(ws.root, rel)) as f:
        return f.read()


def test_tools_edit_files_and_answer_with_the_transform_message(ws):
    _write(ws, "pkg/__init__.py", "")
    _write(ws, "pkg/lib.py", "RATE = 3\n\n\ndef helper(x):\n    return x * RATE\n")
    _write(ws, "f7.py", "def f7(v3):\n    foo(v3)\n    return helper(v3)\n")
    add, pas, imp = AddParam(ws), PassArg(ws), AddImport(ws)
    obs = add.call(**parse_args(add.spec, "f7.py f7 v10"))
    assert obs.ok and obs.text == "added parameter v10 to f7 in f7.py:1: def f7(v3, v10):"
    obs = pas.call(**parse_args(pas.spec, "f7.py foo v10 line=2"))
    assert obs.ok and obs.text == "passed v10=v10 to foo at f7.py:2: foo(v3, v10=v10)"
    obs = imp.call(**parse_args(imp.spec, "f7.py helper pkg/lib.py"))
    assert obs.ok and obs.text == "added import to f7.py:1: from pkg.lib import helper"
    assert _read(ws, "f7.py") == "from pkg.lib import helper\ndef f7(v3, v10):\n    foo(v3, v10=v10)\n    return helper(v3)\n"
    assert {"f7.py"} <= {c.path for c in ws.changes()}
    before = _read(ws, "f7.py")
    for tool, kwargs, why in [
        (add, dict(path="f7.py", function="f7", name="v10"), "error: v10 is already a parameter of f7 in f7.py"),
        (add, dict(path="nope.py", function="f", name="x"), "error: no such file: nope.py"),
        (add, dict(path="../x.py", function="f", name="x"), "error:"),
        (add, dict(path="pkg", function="f", name="x"), "error: pkg is not a Python file"),
        (imp, dict(path="f7.py", name="nothing", source="pkg/lib.py"), "error: pkg/lib.py does not define nothing"),
        (imp, dict(path="f7.py", name="helper", source="pkg/lib.py"), "error: helper is already imported in f7.py"),
        (imp, dict(path="f7.py", name="RATE", source="f7.py"), "error: f7.py is the file itself"),
        (pas, dict(path="f7.py", function="foo", name="v10", line=9), "error: no call of foo on line 9 of f7.py"),
    ]:
        obs = tool.call(**kwargs)
        assert not obs.ok and obs.text.startswith(why), obs.text
    assert _read(ws, "f7.py") == before  # refusals change nothing
    assert imp.call(path="f7.py", name="RATE", source="pkg/lib.py").text == "added import to f7.py:2: from pkg.lib import RATE"


def test_a_broken_file_can_still_be_edited_and_says_so(ws):
    _write(ws, "b.py", "def f(a):\n    return a\n\n\ndef broken(:\n    pass\n")
    obs = AddParam(ws).call(path="b.py", function="f", name="x")
    assert obs.ok and obs.text.endswith("(syntax: errors already present before this edit)")
    assert _read(ws, "b.py").startswith("def f(a, x):")


def test_words_call_form():
    spec = PassArg.spec
    assert parse_args(spec, "f7.py foo v10 line=6") == {"path": "f7.py", "function": "foo", "name": "v10", "line": 6}
    assert parse_args(spec, "line=6 f7.py foo v10") == {"line": 6, "path": "f7.py", "function": "foo", "name": "v10"}
    assert parse_args(spec, '{"path": "a.py", "function": "f", "name": "x"}') == {"path": "a.py", "function": "f", "name": "x"}
    assert parse_args(spec, "'my dir/a.py' f x") == {"path": "my dir/a.py", "function": "f", "name": "x"}
    for text, why in [("a.py f x 6 7", "too many arguments"), ("a.py f", "missing argument 'name'"),
                      ("a.py f x line=six", "argument 'line' must be int"), ("a.py f x path=b.py", "given twice"),
                      ("a.py 'f x", "cannot split")]:
        with pytest.raises(CallError, match=why):
            parse_args(spec, text)


def test_as_langchain_tools(ws):
    _write(ws, "m.py", "def f():\n    return 1\n")
    lc = as_langchain_tool(AddParam(ws))
    assert lc.name == "add_param" and lc.metadata["category"] == "edit"
    assert lc.invoke({"path": "m.py", "function": "f", "name": "x"}) == "added parameter x to f in m.py:1: def f(x):"
    assert lc.invoke({"path": "m.py", "function": "g", "name": "x"}) == "error: no function g in m.py"
