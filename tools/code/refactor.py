"""Structured refactoring edits on Python source, as pure text transforms (tree-sitter).

Convention (issue 14; DESIGN.md "Coding": a small policy copies a name it has just seen, it is
never asked to retype a long line): each edit takes the source text and a few short strings (a
function name, a parameter name, a line) and returns ``Edited(text, message)`` -- the whole new
source and a one-line observation -- or ``Refused(message)`` when the target is absent, ambiguous
or already done. Nothing here touches a file: the tools of ``tools/code/refactor_tools.py`` wrap
these behind the syntax gate of ``tools/code/edits.py``, and the in-process training-data path uses
them on in-memory texts, so both write byte-identical results.

- ``add_param(src, path, function, name)``: ``name`` becomes the last positional-or-keyword
  parameter when the signature has no defaults, ``*args``, ``*`` or ``**kwargs``; otherwise a
  keyword-only parameter, placed before ``**kwargs`` (a ``*`` is added when there is none), so that
  every existing call stays valid.
- ``pass_arg(src, path, function, name, line=0)``: ``name=name`` added to the call(s) of
  ``function`` spanning ``line`` (0: every call in the file).
- ``add_import(src, path, name, module)``: ``from module import name`` after the module
  docstring, ``__future__`` imports and the leading imports.

A function is named by its name, or ``Class.method`` when a file has several of that name.
Multi-line signatures and calls keep their shape (one item per line: the new one goes on its own).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from tapehead.tools.code.grammars import PYTHON, load, parse

_PARAMS = ("identifier", "typed_parameter", "default_parameter", "typed_default_parameter",
           "list_splat_pattern", "dictionary_splat_pattern", "keyword_separator", "positional_separator")
_DEFAULTS = ("default_parameter", "typed_default_parameter")
_IMPORTS = ("import_statement", "import_from_statement", "future_import_statement")
MAX_SHOWN = 120


@dataclass(frozen=True)
class Edited:
    text: str  # the whole new source
    message: str  # the observation, one line
    line: int  # 1-based line the message shows

    ok = True


@dataclass(frozen=True)
class Refused:
    message: str

    ok = False


def is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def module_of(path: str) -> str | None:
    """``app/billing/invoice.py`` -> ``app.billing.invoice``; ``app/__init__.py`` -> ``app``; None
    when the path is not an importable module (a part that is not an identifier, no ``.py``)."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(is_identifier(p) for p in parts) else None


# --- the tree ---------------------------------------------------------------------------------------
def _tree(src: str):
    data = src.encode("utf-8")
    return data, parse(PYTHON, data).root_node


_QUERIES: dict[str, object] = {}
_DEFS = "(function_definition name: (identifier) @name) @def"
_CALLS = "(call function: [(identifier) @name (attribute attribute: (identifier) @name)]) @call"


def _captures(root, source: str, capture: str, name: str) -> list:
    """Nodes captured as ``capture`` whose ``@name`` is ``name``, in source order (a query runs
    in C: walking every node in Python costs ~1 ms a file)."""
    import tree_sitter as ts

    query = _QUERIES.get(source)
    if query is None:
        query = _QUERIES[source] = ts.Query(load(PYTHON)[0], source)
    out = [caps[capture][0] for _, caps in ts.QueryCursor(query).matches(root)
           if _text(caps["name"][0]) == name]
    return sorted(out, key=lambda n: n.start_byte)


def _text(node) -> str:
    return node.text.decode("utf-8")


def qualname(node) -> str:
    """``Class.method`` of a function or class definition node (enclosing classes and functions)."""
    names, n = [_text(node.child_by_field_name("name"))], node.parent
    while n is not None:
        if n.type in ("class_definition", "function_definition"):
            names.append(_text(n.child_by_field_name("name")))
        n = n.parent
    return ".".join(reversed(names))


def _function(root, path: str, function: str):
    """The one function definition named ``function`` (or whose qualname it is), or a Refused."""
    found = _captures(root, _DEFS, "def", function.rsplit(".", 1)[-1])
    if "." in function:
        found = [n for n in found if qualname(n) == function]
    if not found:
        return Refused(f"no function {function} in {path}")
    if len(found) > 1:
        where = ", ".join(f"{qualname(n)} (line {n.start_point[0] + 1})" for n in found)
        return Refused(f"{len(found)} functions named {function} in {path}: {where}; name one as Class.method")
    return found[0]


def _line(data: bytes, offset: int) -> tuple[int, str]:
    """(1-based line number, stripped text cut to MAX_SHOWN) of the line holding ``offset``."""
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    text = data[start:end if end >= 0 else len(data)].decode("utf-8").strip()
    return data.count(b"\n", 0, offset) + 1, text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def _indent_of(data: bytes, node) -> bytes | None:
    """The indentation of ``node``'s line if ``node`` is the first thing on it, else None."""
    start = data.rfind(b"\n", 0, node.start_byte) + 1
    lead = data[start:node.start_byte]
    return lead if not lead.strip() else None


def _insert_item(data: bytes, brackets, item: bytes, before=None) -> tuple[int, bytes]:
    """Where and what to insert to add ``item`` to a bracketed, comma-separated list node
    (``parameters``, ``argument_list``): before the node ``before``, or after the last item. A
    list written one item per line gets the new item on its own line, with the same indent."""
    items = [c for c in brackets.named_children if c.type != "comment"]
    if before is not None:
        indent = _indent_of(data, before)
        return before.start_byte, item + (b",\n" + indent if indent is not None else b", ")
    if not items:
        return brackets.start_byte + 1, item
    last = items[-1]
    comma = last.next_sibling if last.next_sibling is not None and last.next_sibling.type == "," else None
    indent = _indent_of(data, last) if last.start_point[0] != brackets.start_point[0] else None
    if indent is not None:
        return (comma.end_byte, b"\n" + indent + item + b",") if comma else (last.end_byte, b",\n" + indent + item)
    return (comma.end_byte, b" " + item + b",") if comma else (last.end_byte, b", " + item)


def _splice(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at:]


def _param_name(node) -> str | None:
    if node.type == "identifier":
        return _text(node)
    if node.type in _DEFAULTS:
        return _text(node.child_by_field_name("name"))
    if node.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
        ident = next((c for c in node.children if c.type == "identifier"), None)
        return _text(ident) if ident is not None else None
    return None


# --- add_param -----------------------------------------------------------------------------------
def add_param(src: str, path: str, function: str, name: str) -> Edited | Refused:
    """Add ``name`` to ``function``'s parameters (module docstring for where it goes)."""
    if not is_identifier(name):
        return Refused(f"{name!r} is not a Python identifier")
    data, root = _tree(src)
    fn = _function(root, path, function)
    if isinstance(fn, Refused):
        return fn
    params = fn.child_by_field_name("parameters")
    items = [c for c in params.named_children if c.type in _PARAMS]
    if name in {_param_name(c) for c in items}:
        return Refused(f"{name} is already a parameter of {function} in {path}")
    star = any(c.type in ("list_splat_pattern", "keyword_separator") for c in items)
    kwargs = next((c for c in items if c.type == "dictionary_splat_pattern"), None)
    keyword_only = star or kwargs is not None or any(c.type in _DEFAULTS for c in items)
    item = name.encode() if star or not keyword_only else b"*, " + name.encode()
    at, new = _insert_item(data, params, item, before=kwargs)
    out = _splice(data, at, new)
    line, shown = _line(out, at + new.index(name.encode()))
    kind = "keyword-only parameter" if keyword_only else "parameter"
    return Edited(out.decode("utf-8"), f"added {kind} {name} to {function} in {path}:{line}: {shown}", line)


# --- pass_arg -------------------------------------------------------------------------------------
def calls_of(root, function: str) -> list:
    """Call nodes of ``function`` (``f(...)``, ``obj.f(...)``; the last part of a dotted name)."""
    return _captures(root, _CALLS, "call", function.rsplit(".", 1)[-1])


def _passes(call, name: str) -> bool:
    args = call.child_by_field_name("arguments")
    return any(c.type == "keyword_argument" and _text(c.child_by_field_name("name")) == name
               for c in args.named_children)


def pass_arg(src: str, path: str, function: str, name: str, line: int = 0) -> Edited | Refused:
    """Add ``name=name`` to the call(s) of ``function`` spanning ``line`` (0: all in the file)."""
    if not is_identifier(name):
        return Refused(f"{name!r} is not a Python identifier")
    if not all(is_identifier(p) for p in function.split(".")):
        return Refused(f"{function!r} is not a function name (an identifier, or Class.method)")
    if line < 0:
        return Refused(f"line must be 0 (every call) or a line number, got {line}")
    data, root = _tree(src)
    calls = calls_of(root, function)
    if line:
        spanning = [c for c in calls if c.start_point[0] + 1 <= line <= c.end_point[0] + 1]
        if not spanning:
            lines = sorted({c.start_point[0] + 1 for c in calls})
            known = f" (calls of {function} in {path}: lines {', '.join(map(str, lines[:20]))})" if lines else ""
            return Refused(f"no call of {function} on line {line} of {path}{known}")
        calls = spanning
    elif not calls:
        return Refused(f"no call of {function} in {path}")
    todo = [c for c in calls if not _passes(c, name)]
    if not todo:
        where = f"line {line}" if line else "every call"
        return Refused(f"{name} is already passed to {function} at {where} in {path}")
    if any(c.child_by_field_name("arguments").type != "argument_list" for c in todo):
        return Refused(f"a call of {function} in {path} takes a generator expression; add {name} by hand")
    out, item = data, f"{name}={name}".encode()
    for c in sorted(todo, key=lambda c: c.start_byte, reverse=True):  # from the end: offsets hold
        at, new = _insert_item(out, c.child_by_field_name("arguments"), item)
        out = _splice(out, at, new)
    lines = sorted({c.start_point[0] + 1 for c in todo})
    if line:
        first, shown = _line(out, todo[0].start_byte)
        return Edited(out.decode("utf-8"), f"passed {name}={name} to {function} at {path}:{first}: {shown}", first)
    return Edited(out.decode("utf-8"), f"passed {name}={name} to {function} at {len(todo)} call(s) in {path}: "
                                       f"line(s) {', '.join(map(str, lines))}", lines[0])


# --- add_import -------------------------------------------------------------------------------------
def top_level_names(src: str) -> dict[str, str]:
    """Names bound at the top of a module -> how: ``function``, ``class``, ``variable``, ``import``."""
    _, root = _tree(src)
    out: dict[str, str] = {}
    for node in root.named_children:
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition")
        if node.type in ("function_definition", "class_definition"):
            out.setdefault(_text(node.child_by_field_name("name")), node.type.split("_")[0])
        elif node.type == "expression_statement" and node.named_children and node.named_children[0].type == "assignment":
            left = node.named_children[0].child_by_field_name("left")
            for ident in ([left] if left.type == "identifier" else
                          [c for c in left.named_children if c.type == "identifier"]):
                out.setdefault(_text(ident), "variable")
        elif node.type in _IMPORTS:
            for n in _imported_names(node):
                out.setdefault(n, "import")
    return out


def _imported_names(node) -> list[str]:
    """The names an import statement binds (``import a.b`` binds ``a``)."""
    names = []
    for c in node.children_by_field_name("name"):
        if c.type == "aliased_import":
            names.append(_text(c.child_by_field_name("alias")))
        elif node.type == "import_statement":
            names.append(_text(c).split(".")[0])
        else:
            names.append(_text(c).rsplit(".", 1)[-1])
    return names


def add_import(src: str, path: str, name: str, module: str) -> Edited | Refused:
    """Add ``from module import name`` to ``src`` (module docstring for where)."""
    if not is_identifier(name):
        return Refused(f"{name!r} is not a Python identifier")
    if not module or not all(is_identifier(p) for p in module.split(".")):
        return Refused(f"{module!r} is not a module name")
    bound = top_level_names(src).get(name)
    if bound == "import":
        return Refused(f"{name} is already imported in {path}")
    if bound is not None:
        return Refused(f"{path} already defines {name} (a {bound})")
    data, root = _tree(src)
    after, first = None, True
    for node in root.named_children:
        if node.type == "comment":
            continue
        if first and node.type == "expression_statement" and node.named_children[0].type == "string":
            after = node  # the module docstring
        elif node.type in _IMPORTS:
            after = node
        else:
            break
        first = False
    stmt = f"from {module} import {name}\n".encode()
    if after is None:
        at = 0
    else:
        end = data.find(b"\n", after.end_byte)
        at = len(data) if end < 0 else end + 1
        if end < 0:
            stmt = b"\n" + stmt
        if after.type == "expression_statement":  # after a docstring: keep a blank line before code
            stmt = b"\n" + stmt
    out = _splice(data, at, stmt)
    line, shown = _line(out, at + stmt.index(b"from"))
    return Edited(out.decode("utf-8"), f"added import to {path}:{line}: {shown}", line)
