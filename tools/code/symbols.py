"""Symbol tools over the whole workspace with tree-sitter: outline of a file, where a name is
defined, where a function is called.

Convention: one ``SymbolIndex`` per workspace holds, per source file with a registered grammar
(``tools/code/grammars.py``), its definitions and call sites. Its files come from the workspace's
walker (``Workspace.files``: nothing followed, special files never opened; a symlink is not indexed
under its own name, its target inside the workspace is) and are read through ``read_regular``
(``tools/workspace/paths.py``), so no link to a file outside reaches an observation. Every query
first refreshes the index incrementally: a file whose walked ``lstat`` key (size, mtime_ns,
ctime_ns, inode, mode) is unchanged is reused without being read; a
changed stat triggers a read and a content hash, and only a changed hash triggers a parse. So edits
made by the edit tools, by sandboxed code or by hand are all seen by the next query. A query for a
name parses only files whose bytes contain it; the others stay hashed and *pending* until a query
needs them (``refresh()`` with no word parses everything). Results are in a stable order (path,
then line) and capped, with a count of what was cut. Lines are 1-based.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from tapehead.tools.base import Arg, Observation, ToolSpec, error
from tapehead.tools.code.grammars import GrammarMissing, grammar_for, known_suffixes, load, parse
from tapehead.tools.workspace.paths import NotReadable, ToolPath, display, read_regular
from tapehead.tools.workspace.walk import LINK
from tapehead.tools.workspace.wstool import WorkspaceTool

MAX_SOURCE_BYTES = 4 << 20  # a larger source file is not indexed (counted as too_large)


@dataclass(frozen=True)
class Symbol:
    name: str
    qualname: str  # e.g. "Class.method"
    kind: str  # class, function, method, variable
    line: int
    end_line: int


@dataclass
class FileEntry:
    stat: tuple
    digest: str
    symbols: list[Symbol] | None  # None: hashed but not parsed yet (pending)
    calls: list[tuple[str, int]] | None  # (called name, line)


def extract(grammar, data: bytes) -> tuple[list[Symbol], list[tuple[str, int]]]:
    """Definitions (with qualified names and line ranges) and call sites of one file."""
    import tree_sitter as ts

    _, _, defs_q, calls_q = load(grammar)
    root = parse(grammar, data).root_node
    symbols = []
    for _, caps in ts.QueryCursor(defs_q).matches(root):
        name_node = caps["name"][0]
        kind_key = next(k for k in caps if k.startswith("definition."))
        node = caps[kind_key][0]
        kind = kind_key.split(".", 1)[1]
        scope, parent = [], node.parent
        while parent is not None:
            if parent.type in grammar.scopes:
                n = parent.child_by_field_name("name")
                if n is not None:
                    scope.append(n.text.decode("utf-8", "replace"))
                    if kind == "function" and len(scope) == 1 and parent.type.startswith("class"):
                        kind = "method"
            parent = parent.parent
        outer = node.parent if node.parent is not None and node.parent.type in grammar.wrappers else node
        name = name_node.text.decode("utf-8", "replace")
        symbols.append(Symbol(name, ".".join([*reversed(scope), name]), kind,
                              outer.start_point[0] + 1, node.end_point[0] + 1))
    calls = [(n.text.decode("utf-8", "replace"), n.start_point[0] + 1)
             for n in ts.QueryCursor(calls_q).captures(root).get("name", [])]
    symbols.sort(key=lambda s: (s.line, s.end_line))
    calls.sort(key=lambda c: (c[1], c[0]))
    return symbols, calls


class SymbolIndex:
    """Definitions and calls of every indexed file, refreshed incrementally before each query."""

    def __init__(self, ws):
        self.ws = ws
        self.entries: dict[str, FileEntry] = {}
        self.last: dict = {}

    def refresh(self, word: str | None = None, under: str = ".") -> dict:
        """Bring the index up to date under ``under``. With ``word``, files that do not contain it
        are hashed but not parsed (left *pending*): no definition or call of a name can hide in a
        file without its bytes, so a first query on a cold index parses only candidate files."""
        t0 = time.perf_counter()
        stats = {"parsed": 0, "rehashed": 0, "reused": 0, "pending": 0, "removed": 0,
                 "missing_grammar": 0, "too_large": 0}
        needle = word.encode("utf-8") if word else None
        seen = set()
        for e in self.ws.files(under):
            rel = e.path
            grammar = grammar_for(rel)
            if grammar is None or e.mode == LINK:
                continue
            if e.key[0] > MAX_SOURCE_BYTES:
                stats["too_large"] += 1
                continue
            seen.add(rel)
            key = e.key
            old = self.entries.get(rel)
            if old is not None and old.stat == key and old.symbols is not None:
                stats["reused"] += 1
                continue
            try:
                data = _read(self.ws, rel)
            except (NotReadable, OSError):
                seen.discard(rel)
                continue
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            if old is not None and old.digest == digest and old.symbols is not None:
                old.stat = key
                stats["rehashed"] += 1
                continue
            if needle is not None and needle not in data:
                self.entries[rel] = FileEntry(key, digest, None, None)
                stats["pending"] += 1
                continue
            try:
                symbols, calls = extract(grammar, data)
            except GrammarMissing:
                stats["missing_grammar"] += 1
                continue
            self.entries[rel] = FileEntry(key, digest, symbols, calls)
            stats["parsed"] += 1
        for rel in [r for r in self.entries if _under(r, under) and r not in seen]:
            del self.entries[rel]
            stats["removed"] += 1
        stats["files"] = len(self.entries)
        stats["seconds"] = round(time.perf_counter() - t0, 4)
        self.last = stats
        return stats

    def _parsed(self, under: str):
        return [(p, self.entries[p]) for p in sorted(self.entries)
                if _under(p, under) and self.entries[p].symbols is not None]

    def definitions(self, name: str, under: str = ".") -> list[tuple[str, Symbol]]:
        self.refresh(name.rsplit(".", 1)[-1], under)
        return [(p, s) for p, e in self._parsed(under) for s in e.symbols if name in (s.name, s.qualname)]

    def calls(self, name: str, under: str = ".") -> list[tuple[str, int]]:
        self.refresh(name, under)
        out = []
        for p, e in self._parsed(under):
            out.extend((p, line) for line in sorted({line for n, line in e.calls if n == name}))
        return out

    def snapshot(self) -> dict:
        parsed = [e for e in self.entries.values() if e.symbols is not None]
        return {"files": len(self.entries), "parsed": len(parsed),
                "symbols": sum(len(e.symbols) for e in parsed), "calls": sum(len(e.calls) for e in parsed),
                "last_refresh": self.last}


def _under(path: str, under: str) -> bool:
    return under in ("", ".") or path == under or path.startswith(under.rstrip("/") + "/")


def _read(ws, rel: str) -> bytes:
    """A walked file's bytes, through the one read path (regular files only, capped)."""
    return read_regular(ToolPath(rel, os.path.join(ws.root, rel), rel), MAX_SOURCE_BYTES)


def _line_text(ws, rel: str, line: int, cache: dict) -> str:
    if rel not in cache:
        try:
            cache[rel] = _read(ws, rel).decode("utf-8", "replace").splitlines()
        except (NotReadable, OSError):
            cache[rel] = []
    lines = cache[rel]
    return lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""


class _SymbolTool(WorkspaceTool):
    def __init__(self, ws, index: SymbolIndex | None = None):
        super().__init__(ws)
        self.index = index or SymbolIndex(ws)

    def extra_snapshot(self) -> dict:
        return {"index": self.index.snapshot()}


class Outline(_SymbolTool):
    spec = ToolSpec("outline", "List the classes and functions of a source file with their line ranges.",
                    "read", (Arg("path", "str", "file, relative to the workspace root"),))

    def act(self, path):
        p = self.path(path)
        grammar = grammar_for(p.real)
        if grammar is None:
            return error(f"no grammar for {p.rel!r}; outline knows {', '.join(known_suffixes())}")
        data = read_regular(p, MAX_SOURCE_BYTES)
        try:
            symbols, _ = extract(grammar, data)
        except GrammarMissing as e:
            return error(str(e))
        shown = [s for s in symbols if s.kind != "variable"]
        if not shown:
            return Observation(f"{p.rel}: no classes or functions", data={"symbols": []})
        lines = [f"{'  ' * s.qualname.count('.')}{s.kind} {s.qualname} (lines {s.line}-{s.end_line})"
                 for s in shown]
        return Observation(f"{p.rel}:\n" + "\n".join(lines),
                           data={"symbols": [s.__dict__ for s in shown]})


class FindDefinition(_SymbolTool):
    spec = ToolSpec("find_definition", "Find where a name (or Class.method) is defined in the workspace.",
                    "read", (Arg("name", "str", "identifier or qualified name, e.g. Parser.parse"),
                             Arg("path", "str", "only under this directory", False, "."),
                             Arg("max_results", "int", "cap on results", False, 50)))

    def act(self, name, path, max_results):
        under = self.path(path).inside
        if not name.strip():
            return error("name is empty")
        hits = self.index.definitions(name.strip(), under)
        if not hits:
            return Observation(f"no definition of {name!r} found ({self.index.last.get('files', 0)} "
                               f"source files searched)", data={"hits": []})
        shown = hits[:max(1, max_results)]
        text = "\n".join(f"{display(p)}:{s.line}-{s.end_line}: {s.kind} {s.qualname}" for p, s in shown)
        cut = len(hits) - len(shown)
        text += f"\n... {cut} more not shown" if cut else ""
        return Observation(text, data={"hits": [{"path": p, **s.__dict__} for p, s in shown],
                                       "cut": cut})


class FindCalls(_SymbolTool):
    spec = ToolSpec("find_calls", "Find where a function or method is called in the workspace.", "read",
                    (Arg("name", "str", "called name (the last part of a.b.name(...))"),
                     Arg("path", "str", "only under this directory", False, "."),
                     Arg("max_results", "int", "cap on results", False, 100)))

    def act(self, name, path, max_results):
        under = self.path(path).inside
        name = name.strip().rsplit(".", 1)[-1]
        if not name:
            return error("name is empty")
        hits = self.index.calls(name, under)
        if not hits:
            return Observation(f"no calls of {name!r} found ({self.index.last.get('files', 0)} "
                               f"source files searched)", data={"hits": []})
        shown, cache = hits[:max(1, max_results)], {}
        text = "\n".join(f"{display(p)}:{line}: {_line_text(self.ws, p, line, cache)}" for p, line in shown)
        cut = len(hits) - len(shown)
        text += f"\n... {cut} more not shown" if cut else ""
        return Observation(text, data={"hits": [{"path": p, "line": n} for p, n in shown], "cut": cut})
