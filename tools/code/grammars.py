"""Tree-sitter grammars: a small registry from file suffix to grammar wheel and queries, plus parsing
and syntax checking for whatever is registered.

Convention: a language plugs in as a per-language wheel (``tree_sitter_<lang>``, whose
``language()`` returns the grammar pointer) and one ``Grammar`` entry: the module name, the file
suffixes, a definitions query capturing ``@name`` inside ``@definition.<kind>``, a calls query
capturing ``@name`` inside ``@call``, and the node types that open a scope (for qualified names like
``Class.method``). Grammar modules are imported lazily; a missing wheel is reported, not raised past
``load``. Python is registered here; others via ``register(Grammar(...))``. tree-sitter 0.26 API:
``Language(mod.language())``, ``Parser(lang)``, ``Query(lang, src)``, ``QueryCursor(q).matches``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

import tree_sitter as ts


@dataclass(frozen=True)
class Grammar:
    name: str
    module: str  # importable grammar wheel module, e.g. "tree_sitter_python"
    suffixes: tuple[str, ...]
    definitions: str  # query: @name inside @definition.<kind>
    calls: str  # query: @name inside @call
    scopes: tuple[str, ...] = ()  # node types whose "name" field prefixes nested names
    wrappers: tuple[str, ...] = ()  # parent node types that extend a definition's range (decorators)
    pip: str = ""  # what to install when the module is missing


PYTHON = Grammar(
    name="python",
    module="tree_sitter_python",
    suffixes=(".py", ".pyi"),
    definitions="""
        (class_definition name: (identifier) @name) @definition.class
        (function_definition name: (identifier) @name) @definition.function
        (module (expression_statement (assignment left: (identifier) @name)) @definition.variable)
    """,
    calls="""
        (call function: (identifier) @name) @call
        (call function: (attribute attribute: (identifier) @name)) @call
    """,
    scopes=("class_definition", "function_definition"),
    wrappers=("decorated_definition",),
    pip="tree-sitter-python",
)

_BY_SUFFIX: dict[str, Grammar] = {}
_LOADED: dict[str, tuple] = {}


class GrammarMissing(RuntimeError):
    pass


def register(grammar: Grammar) -> None:
    """Add (or replace) a language; its suffixes now map to it."""
    for suffix in grammar.suffixes:
        _BY_SUFFIX[suffix.lower()] = grammar
    _LOADED.pop(grammar.name, None)


register(PYTHON)


def grammar_for(path: str) -> Grammar | None:
    return _BY_SUFFIX.get(os.path.splitext(path)[1].lower())


def known_suffixes() -> list[str]:
    return sorted(_BY_SUFFIX)


def load(grammar: Grammar):
    """(language, parser, definitions query, calls query) for a grammar; cached."""
    if grammar.name not in _LOADED:
        try:
            module = importlib.import_module(grammar.module)
        except ImportError:
            raise GrammarMissing(f"the {grammar.name} grammar is not installed (pip install "
                                 f"{grammar.pip or grammar.module.replace('_', '-')})") from None
        lang = ts.Language(module.language())
        _LOADED[grammar.name] = (lang, ts.Parser(lang), ts.Query(lang, grammar.definitions),
                                 ts.Query(lang, grammar.calls))
    return _LOADED[grammar.name]


def parse(grammar: Grammar, data: bytes) -> ts.Tree:
    return load(grammar)[1].parse(data)


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 1-based
    col: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"line {self.line}:{self.col}: {self.message}"


def syntax_problems(grammar: Grammar, data: bytes, limit: int = 5) -> list[SyntaxProblem]:
    """ERROR and MISSING nodes of the parse, outermost first, at most ``limit``."""
    tree = parse(grammar, data)
    out: list[SyntaxProblem] = []
    stack = [tree.root_node] if tree.root_node.has_error else []
    while stack and len(out) < limit:
        node = stack.pop()
        row, col = node.start_point
        if node.is_missing:
            out.append(SyntaxProblem(row + 1, col + 1, f"missing {node.type!r}"))
        elif node.is_error:
            snippet = data[node.start_byte:node.end_byte].decode("utf-8", "replace")
            snippet = snippet.strip().splitlines()[0][:60] if snippet.strip() else ""
            out.append(SyntaxProblem(row + 1, col + 1, f"syntax error near {snippet!r}"))
        else:
            stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return out


def count_problems(grammar: Grammar, data: bytes) -> int:
    return len(syntax_problems(grammar, data, limit=1000))
