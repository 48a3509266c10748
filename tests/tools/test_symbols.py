"""Symbol tools: outline, definitions, calls over the workspace; the incremental index; the registry."""

import os
import time

import pytest
from workspace_helpers import tools, user_repo, ws  # noqa: F401

from tapehead.tools.code.grammars import PYTHON, Grammar, grammar_for, register, syntax_problems
from tapehead.tools.code.symbols import SymbolIndex

SOURCE = '''import functools


class Parser:
    """Doc."""

    def parse(self, text):
        return tokenize(text)

    @functools.cache
    def cached(self):
        return self.parse("x")


def tokenize(text):
    return text.split()


LIMIT = 3
'''


def write(ws, rel, text):
    full = os.path.join(ws.root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def test_outline_lists_classes_and_functions_with_ranges(tools, ws):
    write(ws, "pkg/parser.py", SOURCE)
    obs = tools["outline"].call(path="pkg/parser.py")
    assert obs.ok
    assert obs.text.splitlines()[1:] == [
        "class Parser (lines 4-12)",
        "  method Parser.parse (lines 7-8)",
        "  method Parser.cached (lines 10-12)",  # the decorator line opens the range
        "function tokenize (lines 15-16)",
    ]


def test_outline_refusals(tools, ws):
    assert "no grammar" in tools["outline"].call(path="README.md").text
    assert "no such file" in tools["outline"].call(path="missing.py").text
    assert "'..' is refused" in tools["outline"].call(path="../x.py").text
    write(ws, "empty.py", "x = 1\n")
    assert "no classes or functions" in tools["outline"].call(path="empty.py").text


def test_find_definition_over_the_workspace(tools, ws):
    write(ws, "pkg/parser.py", SOURCE)
    obs = tools["find_definition"].call(name="tokenize")
    assert obs.text == "pkg/parser.py:15-16: function tokenize"
    assert tools["find_definition"].call(name="Parser.parse").data["hits"][0]["line"] == 7
    assert tools["find_definition"].call(name="LIMIT").data["hits"][0]["kind"] == "variable"
    assert tools["find_definition"].call(name="helper").text == "src/util.py:1-2: function helper"
    assert "no definition" in tools["find_definition"].call(name="nothing_here").text
    assert not tools["find_definition"].call(name=" ").ok


def test_find_calls_in_stable_order_with_a_cap(tools, ws):
    write(ws, "pkg/parser.py", SOURCE)
    write(ws, "pkg/use.py", "from pkg.parser import tokenize\n" + "tokenize('a')\n" * 4)
    obs = tools["find_calls"].call(name="tokenize")
    assert obs.text.splitlines() == ["pkg/parser.py:8: return tokenize(text)"] + [
        f"pkg/use.py:{n}: tokenize('a')" for n in range(2, 6)]
    capped = tools["find_calls"].call(name="tokenize", max_results=2)
    assert capped.data["cut"] == 3 and "3 more not shown" in capped.text
    assert tools["find_calls"].call(name="self.parse").data["hits"] == [{"path": "pkg/parser.py",
                                                                         "line": 12}]
    assert tools["find_calls"].call(name="tokenize", path="pkg/use.py").data["hits"][0]["line"] == 2


def test_index_refreshes_incrementally_after_edits(ws):
    for i in range(5):
        write(ws, f"m/mod{i}.py", f"def f{i}():\n    return {i}\n")
    index = SymbolIndex(ws)
    first = index.refresh()
    assert first["parsed"] == 7 and first["reused"] == 0  # 5 new + src/app.py, src/util.py
    second = index.refresh()
    assert second["parsed"] == 0 and second["reused"] == 7
    time.sleep(0.01)
    write(ws, "m/mod2.py", "def renamed():\n    return 2\n")
    os.remove(os.path.join(ws.root, "m/mod4.py"))
    os.utime(os.path.join(ws.root, "m/mod1.py"))  # touched, same content: rehash, no parse
    third = index.refresh()
    assert (third["parsed"], third["rehashed"], third["removed"]) == (1, 1, 1)
    assert index.definitions("renamed") and not index.definitions("f2") and not index.definitions("f4")


def test_tools_see_edits_made_by_other_tools(tools):
    assert tools["find_definition"].call(name="brand_new").data["hits"] == []
    assert tools["create_file"].call(path="x/new.py", content="def brand_new():\n    pass\n").ok
    assert tools["find_definition"].call(name="brand_new").data["hits"][0]["path"] == "x/new.py"


def test_registry_plugs_in_languages_and_reports_missing_wheels(tools, ws):
    fake = Grammar(name="fakelang", module="tree_sitter_fakelang_not_installed", suffixes=(".fake",),
                   definitions="", calls="", pip="tree-sitter-fakelang")
    register(fake)
    try:
        assert grammar_for("a/b.FAKE") is fake
        write(ws, "z.fake", "whatever\n")
        obs = tools["outline"].call(path="z.fake")
        assert not obs.ok and "pip install tree-sitter-fakelang" in obs.text
        assert tools["find_definition"].call(name="x").ok  # the index skips it and carries on
        edit = tools["create_file"].call(path="y.fake", content="anything")
        assert edit.ok and "unchecked" in edit.text
    finally:
        from tapehead.tools.code import grammars
        grammars._BY_SUFFIX.pop(".fake", None)


@pytest.mark.parametrize("code, n", [("def f(:\n    pass\n", 1), ("x = (1,\n", 1), ("ok = 1\n", 0)])
def test_syntax_problems(code, n):
    problems = syntax_problems(PYTHON, code.encode())
    assert len(problems) == n
    if n:
        assert problems[0].line >= 1 and str(problems[0]).startswith(f"line {problems[0].line}:")


def test_a_query_parses_only_files_that_contain_the_name(ws):
    write(ws, "p/has.py", "def needle():\n    pass\n")
    write(ws, "p/other.py", "def hay():\n    pass\n")
    index = SymbolIndex(ws)
    assert [p for p, _ in index.definitions("needle")] == ["p/has.py"]
    assert index.last["parsed"] == 1 and index.last["pending"] == 3  # other.py, src/app.py, src/util.py
    assert index.snapshot()["parsed"] == 1
    assert [p for p, _ in index.definitions("hay")] == ["p/other.py"]  # pending files parsed on demand
    assert index.last["parsed"] == 1 and index.last["reused"] == 1
    assert index.calls("helper") == [("src/app.py", 5)]
    write(ws, "p/other.py", "def hay():\n    needle()\n")
    assert index.calls("needle") == [("p/other.py", 2)]
