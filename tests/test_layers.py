"""DESIGN.md's one-way imports, checked on every module; agent/ and tools/ import without torch."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OURS = {"tools", "model", "agent", "evals", "tui"}
ALLOWED = {  # package -> our packages it may import (DESIGN.md, "Layers")
    "tools": set(),
    "model": set(),
    "agent": {"tools", "model"},  # model only lazily, through agent/models.py
    "evals": {"agent", "tools"},
    "tui": {"agent"},
}


def imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module.split(".")[0]


def test_imports_go_one_way():
    bad = []
    for pkg, allowed in ALLOWED.items():
        for f in (ROOT / pkg).rglob("*.py"):
            for node, name in imports(f):
                if name in OURS and name != pkg and name not in allowed:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not bad, "\n".join(bad)


def test_agent_reaches_model_only_through_its_factory():
    bad = []
    for f in (ROOT / "agent").rglob("*.py"):
        for node, name in imports(f):
            if name == "model" and f.name != "models.py":
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno}")
            if name == "model" and f.name == "models.py" and node.col_offset == 0:
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno} imports model at module level")
    assert not bad, "\n".join(bad)


def test_agent_and_tools_import_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import pkgutil, importlib, agent, tools\n"
            "for pkg in (agent, tools):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "from agent import models; models.codec()\n"
            "print('ok')")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]
