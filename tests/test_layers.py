"""docs/design.md's one-way imports, checked on every module; agent/ and tools/ import without torch.

Every import is resolved to the absolute name it loads (``from ..trace import codec`` in
``agent/loops/loop.py`` is ``tapehead.agent.trace.codec``), so a relative import cannot go around
the rule, and an import of our packages by their bare names (``agent``, ``tools``, ...) fails too:
installed, they exist only under ``tapehead``.
"""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OURS = {"tools", "model", "agent", "evals", "tui"}
ALLOWED = {  # package -> our packages it may import (docs/design.md, "Layers")
    "tools": set(),
    "model": set(),
    "agent": {"tools", "model"},  # model only lazily, through agent/models.py
    "evals": {"agent", "tools"},
    "tui": {"agent"},
}


def module_of(path: pathlib.Path) -> tuple[str, str]:
    """(the module's name, the package its relative imports start from) for a file under ROOT."""
    parts = ["tapehead", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def resolved(node: ast.AST, package: str) -> list[str]:
    """The absolute names an import statement loads (for ``from X import a``: ``X.a``, which is
    either the submodule ``a`` or a name in ``X``; both belong to X's package)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        if not base:
            return ["<relative import above tapehead>"]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module
    return [f"{module}.{a.name}" for a in node.names]


def imports(path: pathlib.Path, source: str | None = None):
    """(node, our package it imports, the resolved name) for every import of ours; the package is
    None for an import that breaks the namespace (bare ``agent``, the ``tapehead`` root itself)."""
    _, package = module_of(path)
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for name in resolved(node, package):
            parts = name.split(".")
            if parts[0] in OURS or name.startswith("<"):
                yield node, None, name
            elif parts[0] == "tapehead":
                yield node, (parts[1] if len(parts) > 1 and parts[1] in OURS else None), name


def test_imports_go_one_way():
    bad = []
    for pkg, allowed in ALLOWED.items():
        for f in (ROOT / pkg).rglob("*.py"):
            for node, name, full in imports(f):
                if name is None:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {full}: outside the namespace (only "
                               "tapehead.agent, .tools, .model, .evals and .tui are ours)")
                elif name != pkg and name not in allowed:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {full}")
    assert not bad, "\n".join(bad)


def test_agent_reaches_model_only_through_its_factory():
    bad = []
    for f in (ROOT / "agent").rglob("*.py"):
        factory = f == ROOT / "agent" / "models.py"
        for node, name, _ in imports(f):
            if name == "model" and not factory:
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno}")
            if name == "model" and factory and node.col_offset == 0:
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports model at module level")
    assert not bad, "\n".join(bad)


def test_relative_imports_are_resolved():
    """The checks above see through relative imports, however many dots."""
    f = ROOT / "tools" / "code" / "files.py"
    src = "from ...agent import agent\nfrom ..workspace.paths import is_binary\nfrom . import symbols\nimport agent\n"
    got = [(name, full) for _, name, full in imports(f, src)]
    assert got == [("agent", "tapehead.agent.agent"), ("tools", "tapehead.tools.workspace.paths.is_binary"),
                   ("tools", "tapehead.tools.code.symbols"), (None, "agent")]
    f = ROOT / "agent" / "loops" / "loop.py"
    got = [(name, full) for _, name, full in imports(f, "from ...model import vocab\nfrom .... import x\n")]
    assert got == [("model", "tapehead.model.vocab"), (None, "<relative import above tapehead>")]


def test_agent_and_tools_import_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import pkgutil, importlib, tapehead.agent, tapehead.tools\n"
            "for pkg in (tapehead.agent, tapehead.tools):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "from tapehead.agent import models; models.codec()\n"
            "print('ok')")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]
