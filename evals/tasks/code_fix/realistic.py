"""The realistic style: a project package with varied code, so that a policy trained on it meets
real repositories (issue 14; names from ``vocabulary.py``, bodies from ``realistic_body.py``).

Layout: ``main.py`` at the root calls into a package (``ledgerly/billing/invoice.py``,
``ledgerly/utils.py``; ``__init__.py`` in every package), each module holding one to four
functions of the call graph (``graph.py``); constants live in ``<project>/config.py``, small
classes in ``<project>/models.py`` (both import nothing). A module may join a function only if its
imports stay acyclic (every import goes from an older module to a newer one, or to config/models).
Functions are ``verb_noun``, unique in the repository; parameters are typed words with defaults,
keyword-only parameters and ``**kwargs``; callers import with ``from m import f`` or, sometimes,
``from pkg import m`` and call ``m.f(...)``. Per repository: quote style, blank lines, type hints,
docstring and wrapping rates.

Families:

- ``plumbing``: a variable that real code threads through its calls (``tenant_id``, ``verbose``)
  is declared in ``main`` and used in the last function added, never passed. The reference fix is
  made with the structured edits (``tools/code/refactor.py``): the variable added to every function
  on a path from ``main``, passed at every call between them. ``necessary``: those functions.
- ``import``: 1-3 names (functions, constants, classes) used in one module and defined in another
  lose their import; the fix adds each back (``add_import``); ``necessary``: ``path::<module>``.

Kinds: plumbing has the call-graph shapes of ``graph.py`` and ``loops`` (calls in loops and under
conditions), ``defaults`` (every function with a default, keyword-only parameter or ``**kwargs``);
import has ``random``, ``three`` (three missing imports), ``module-level`` (a constant used at
import time), ``class`` (a missing class).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tapehead.tools.code import refactor

from .graph import KINDS as GRAPH_KINDS
from .graph import random_graph
from .realistic_body import Body, module_text, signature
from .vocabulary import (CLASSES, CONSTANTS, DOMAINS, NOUNS, PARAMS, PLUMBED, PROJECTS, QUALIFIERS, TOP_MODULES,
                         VERBS)

PLUMBING_KINDS = (*GRAPH_KINDS, "loops", "defaults")
IMPORT_KINDS = ("random", "three", "module-level", "class")
SUFFIXES = ("_core", "_legacy", "_batch", "_api", "_jobs", "_rules", "_sync", "_v2", "_tasks", "_admin", "_store",
            "_client", "_views", "_worker", "_queue")


@dataclass
class Param:
    name: str
    type: str
    default: str | None = None
    kw_only: bool = False


@dataclass
class Fn:
    name: str
    module: str
    params: list[Param]
    kwargs: str | None
    ret: str | None
    calls: list[tuple[int, int]]


@dataclass
class Module:
    path: str
    rank: int
    fns: list[int] = field(default_factory=list)
    names: dict[str, set[str]] = field(default_factory=dict)  # source module -> names (from-imports)
    as_module: set[str] = field(default_factory=set)  # modules imported whole (``from pkg import m``)
    statements: list[str] = field(default_factory=list)  # module-level code


@dataclass
class Style:
    q: str
    blank: int
    hints: bool
    docs: float
    wrap: float


class Repo:
    """The layout under construction; ``Body`` asks it for references and registers imports."""

    def __init__(self, rng: random.Random, style: Style, project: str):
        self.rng, self.style, self.project = rng, style, project
        self.modules: dict[str, Module] = {"main.py": Module("main.py", 0)}
        self.fns: list[Fn] = []
        self.config_path, self.models_path = f"{project}/config.py", f"{project}/models.py"
        self.constants = list(rng.sample(CONSTANTS, rng.randint(3, 6)))
        self.classes = list(rng.sample(CLASSES, rng.randint(1, 3)))
        self.p_constant, self.p_class, self.p_branch = 0.3, 0.15, 0.15
        self.p_module_style = rng.choice((0.0, 0.2, 0.4))

    def need(self, importer: str, source: str, name: str) -> None:
        if importer != source:
            self.modules.setdefault(source, Module(source, -1))
            self.modules[importer].names.setdefault(source, set()).add(name)

    def reference(self, importer: str, callee: Fn) -> str:
        """How ``importer`` names ``callee``: ``f``, or ``m.f`` with ``from pkg import m``."""
        if callee.module == importer:
            return callee.name
        if callee.module in self.modules[importer].as_module or (
                not self.modules[importer].names.get(callee.module) and self.rng.random() < self.p_module_style):
            self.modules[importer].as_module.add(callee.module)
            return f"{callee.module[:-3].rsplit('/', 1)[-1]}.{callee.name}"
        self.need(importer, callee.module, callee.name)
        return callee.name


def _place(repo: Repo, i: int, parents: list[int], rng: random.Random) -> str:
    """The module of function ``i``: an existing one that keeps imports acyclic, or a new one."""
    if i == 0:
        return "main.py"
    rank_of = {p: repo.modules[repo.fns[p].module] for p in parents}
    ok = [m for m in repo.modules.values() if m.rank > 0 and len(m.fns) < 4
          and all(pm is m or pm.rank < m.rank for pm in rank_of.values())]
    if ok and rng.random() < 0.5:
        return rng.choice(ok).path
    taken = set(repo.modules)
    for k in range(1000):
        suffix = rng.choice(SUFFIXES) if k > 20 else ""  # the plain names first, then variants
        if rng.random() < 0.2:
            path = f"{repo.project}/{rng.choice(TOP_MODULES)}{suffix}.py"
        else:
            domain = rng.choice(list(DOMAINS))
            path = f"{repo.project}/{domain}/{rng.choice(DOMAINS[domain])}{suffix}.py"
        if path not in taken:
            repo.modules[path] = Module(path, i)
            return path
    path = f"{repo.project}/extra/m{i}.py"  # the vocabulary ran out (very large repositories)
    repo.modules[path] = Module(path, i)
    return path


def _name(rng: random.Random, taken: set[str]) -> str:
    for k in range(10_000):
        qual = rng.choice(QUALIFIERS)
        name = f"{rng.choice(VERBS)}_{qual + '_' if qual else ''}{rng.choice(NOUNS)}"
        if k > 50:
            name += f"_{k}"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("out of function names")


def _params(rng: random.Random, need_default: bool) -> tuple[list[Param], str | None]:
    chosen = rng.sample(PARAMS, rng.randint(0, 3))
    params = [Param(n, t) for n, t, d in chosen if d is None] + [Param(n, t, d) for n, t, d in chosen if d is not None]
    params = [p if p.default is None or rng.random() < 0.6 else Param(p.name, p.type) for p in params]
    params.sort(key=lambda p: p.default is not None)
    kwargs = rng.choice(("options", "extra", "kwargs")) if rng.random() < 0.1 else None
    if params and params[-1].default is not None and rng.random() < 0.2:
        params[-1].kw_only = True
    if need_default and not kwargs and not any(p.default is not None for p in params):
        kwargs = "options"
    return params, kwargs


def _style(rng: random.Random) -> Style:
    return Style(q=rng.choice(('"', "'")), blank=rng.choice((1, 2, 2)), hints=rng.random() < 0.3,
                 docs=rng.choice((0.2, 0.6, 0.9)), wrap=rng.choice((0.0, 0.1, 0.3)))


def realistic_repo(size: int, rng: random.Random, kind: str, family: str):
    """(buggy files, fixed files, necessary) of a realistic repository of ``size`` functions."""
    kinds = PLUMBING_KINDS if family == "plumbing" else IMPORT_KINDS
    if kind not in kinds:
        raise ValueError(f"unknown kind {kind!r} for the {family} family; known: {', '.join(kinds)}")
    graph_kind = kind if kind in GRAPH_KINDS and family == "plumbing" else "random"
    g = random_graph(size, rng, graph_kind, p_repeat=0.4 if kind == "loops" else 0.1)
    repo = Repo(rng, _style(rng), rng.choice(PROJECTS))
    if kind == "loops":
        repo.p_branch = 0.6
    plumbed = rng.choice(PLUMBED) if family == "plumbing" else None
    names = {plumbed[0]} if plumbed else set()
    for i in range(size):
        params, kwargs = ([], None) if i == 0 else _params(rng, kind == "defaults")
        ret = None if i == 0 else rng.choice((None, "int", "str"))
        repo.fns.append(Fn("main" if i == 0 else _name(rng, names), "", params, kwargs, ret, g.calls[i]))
        repo.fns[i].module = _place(repo, i, g.parents(i), rng)
        repo.modules[repo.fns[i].module].fns.append(i)
    bodies = {}
    for i, fn in enumerate(repo.fns):
        body = Body(repo, fn, rng, plumbed, use_plumbed=plumbed is not None and i == size - 1)
        bodies[i] = body.write(_main_prelude(repo, rng, plumbed, body) if i == 0 else [])
    drops = _drops(repo, rng, kind) if family == "import" else []
    files = _render(repo, bodies, drops)
    if family == "plumbing":
        fixed, necessary = _plumb(files, repo, g, plumbed[0])
    else:
        fixed = dict(files)
        for importer, source, name in drops:
            fixed[importer] = _ok(refactor.add_import(fixed[importer], importer, name, refactor.module_of(source)))
        necessary = sorted({f"{importer}::<module>" for importer, _, _ in drops})
    return files, fixed, tuple(necessary)


def _main_prelude(repo: Repo, rng: random.Random, plumbed, body: Body) -> list[str]:
    """``main``'s first statements: the plumbed variable (the bug's declaration), then one or two
    values named like parameters (so that main passes ``amount`` as ``amount``)."""
    lines = [f"{plumbed[0]} = {plumbed[1]}"] if plumbed else []
    for name, typ, _ in rng.sample(PARAMS, rng.randint(1, 2)):
        value = rng.randint(1, 500) if typ == "int" else rng.choice(("A-1042", "acme", "gold"))
        lines.append(f"{name} = {repo.style.q}{value}{repo.style.q}" if typ == "str" else f"{name} = {value}")
        body.env.append((name, typ))
    return lines


def _drops(repo: Repo, rng: random.Random, kind: str) -> list[tuple[str, str, str]]:
    """The imports the bug removes: (importer, source module, name)."""
    if kind == "module-level" or not any(m.names for m in repo.modules.values()):
        user = rng.choice([m for m in repo.modules.values() if m.fns and m.path != "main.py"] or [repo.modules["main.py"]])
        const, typ, _ = rng.choice(repo.constants)
        local = f"LOCAL_{const}"
        user.statements.append(f"{local} = {const} + 1" if typ == "int" else f"{local} = {const} + {repo.style.q}/local{repo.style.q}")
        repo.need(user.path, repo.config_path, const)
        forced = [(user.path, repo.config_path, const)]
    elif kind == "class":
        user = rng.choice([m for m in repo.modules.values() if m.fns])
        cls, fields = rng.choice(repo.classes)
        user.statements.append(f"DEFAULT_{cls.upper()} = {cls}({', '.join(repr(f) for f in fields)})")
        repo.need(user.path, repo.models_path, cls)
        forced = [(user.path, repo.models_path, cls)]
    else:
        forced = []
    eligible = sorted((m.path, src, n) for m in repo.modules.values() for src, ns in m.names.items() for n in ns)
    eligible = [e for e in eligible if e not in forced]
    want = 3 if kind == "three" else rng.randint(1, 3)
    return forced + rng.sample(eligible, min(len(eligible), want - len(forced)))


def _render(repo: Repo, bodies: dict[int, list[str]], drops) -> dict[str, str]:
    dropped = {(imp, src, n) for imp, src, n in drops}
    files: dict[str, str] = {}
    packages = {"/".join(p.split("/")[:k]) for p in repo.modules if "/" in p for k in range(1, p.count("/") + 1)}
    for pkg in sorted(packages):
        files[f"{pkg}/__init__.py"] = "" if repo.rng.random() < 0.5 else f'"""The {pkg.rsplit("/", 1)[-1]} package."""\n'
    if any(repo.config_path in m.names for m in repo.modules.values()):
        repo.modules.setdefault(repo.config_path, Module(repo.config_path, -1)).statements[:0] = [
            f"{n} = {v}" if t == "int" else f"{n} = {v.replace(chr(34), repo.style.q)}" for n, t, v in repo.constants]
    if any(repo.models_path in m.names for m in repo.modules.values()):
        repo.modules.setdefault(repo.models_path, Module(repo.models_path, -1))
    for path, m in repo.modules.items():
        imports = []
        for src in sorted(m.names):
            names = sorted(n for n in m.names[src] if (path, src, n) not in dropped)
            if names:
                line = f"from {refactor.module_of(src)} import {', '.join(names)}"
                imports.append(line if len(line) <= 79 else
                               f"from {refactor.module_of(src)} import (\n" + "".join(f"    {n},\n" for n in names) + ")")
        for src in sorted(m.as_module):
            pkg, mod = refactor.module_of(src).rsplit(".", 1)
            imports.append(f"from {pkg} import {mod}")
        functions = [signature(repo.fns[i], repo.style) + bodies[i] for i in m.fns]
        if path == repo.models_path:
            functions = [_class(c, f) for c, f in repo.classes]
        doc = None if path == "main.py" or repo.rng.random() > repo.style.docs else \
            f"{path[:-3].rsplit('/', 1)[-1].replace('_', ' ').capitalize()} helpers."
        tail = ['if __name__ == "__main__":', "    main()"] if path == "main.py" else []
        files[path] = module_text(doc, imports, m.statements, functions, repo.style.blank, tail)
    return files


def _class(name: str, fields: tuple[str, ...]) -> list[str]:
    return [f"class {name}:", f'    """A {name.lower()} value."""', "",
            f"    def __init__(self, {', '.join(fields)}):", *(f"        self.{f} = {f}" for f in fields)]


def _ok(result):
    if not result.ok:
        raise RuntimeError(f"generator bug: the reference fix was refused: {result.message}")
    return result.text


def _plumb(files: dict[str, str], repo: Repo, g, var: str) -> tuple[dict[str, str], list[str]]:
    """The reference fix of the plumbing bug, made with the structured edits."""
    path_fns = g.ancestors(g.foo)
    fixed = dict(files)
    for i in sorted(path_fns):
        fn = repo.fns[i]
        if i != 0:
            fixed[fn.module] = _ok(refactor.add_param(fixed[fn.module], fn.module, fn.name, var))
    done = set()
    for i in sorted(path_fns):
        for child, _ in repo.fns[i].calls:
            key = (repo.fns[i].module, child)
            if child in path_fns and key not in done:
                done.add(key)
                fixed[key[0]] = _ok(refactor.pass_arg(fixed[key[0]], key[0], repo.fns[child].name, var, 0))
    return fixed, sorted(f"{repo.fns[i].module}::{repo.fns[i].name}" for i in path_fns)
