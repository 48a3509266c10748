"""Packaging metadata (pyproject.toml): an SPDX license with its file, every imported distribution
declared (and bounded where we rely on its API), matplotlib only in the ``plot`` extra, py.typed;
and a built wheel that works from another directory with the shipped policies as package data."""

import ast
import json
import os
import re
import subprocess
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PACKAGES = ("agent", "tools", "model", "evals", "tui")


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports() -> dict[str, set[str]]:
    """Module imported (dotted, absolute, not ours or stdlib) -> the files importing it."""
    found: dict[str, set[str]] = {}
    files = [ROOT / "__init__.py", ROOT / "__main__.py"] + [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for n in names:
                if (f.parent / f"{n.split('.')[0]}.py").exists():
                    continue  # a script's sibling module (tools/sandbox/child.py runs alone, path-imports its own)
                if n.split(".")[0] != "tapehead" and n.split(".")[0] not in sys.stdlib_module_names:
                    found.setdefault(n, set()).add(str(f.relative_to(ROOT)))
    return found


@cache
def _dists() -> dict:
    return packages_distributions()


@cache
def _files(dist: str) -> frozenset:
    from importlib.metadata import distribution

    return frozenset(str(f) for f in distribution(dist).files or ())


@cache
def _owner(module: str) -> str:
    """The distribution that installs ``module`` (``langgraph.checkpoint.sqlite`` is
    langgraph-checkpoint-sqlite's, ``langgraph.graph`` langgraph's: one namespace, several owners)."""
    parts = module.split(".")
    best, owner = -1, None
    for dist in _dists().get(parts[0], []):
        files = _files(dist)
        for k in range(len(parts), 0, -1):
            stem = "/".join(parts[:k])
            if (f"{stem}.py" in files or f"{stem}/__init__.py" in files or any(f.startswith(stem + "/") for f in files)) \
                    and k > best:
                best, owner = k, dist
                break
    # not installed here (mamba-ssm is GPU-only): its distribution is named like its module
    return (owner or parts[0]).lower().replace("_", "-")


def test_license_is_an_spdx_string_with_its_file():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # superseded by the SPDX string


def test_every_imported_distribution_is_declared():
    core = {_name(r) for r in PROJECT["dependencies"]}
    extras = {k: {_name(r) for r in v} for k, v in PROJECT["optional-dependencies"].items()}
    where = {}
    for module, users in _imports().items():
        dist = _owner(module)
        where[module.split(".")[0]] = where.get(module.split(".")[0], set()) | (
            {"core"} if dist in core else {k for k, v in extras.items() if dist in v})
        assert dist in core or any(dist in v for v in extras.values()), \
            f"{dist} (imported as {module} by {sorted(users)}) is not declared in pyproject.toml"
    assert where["mamba_ssm"] == {"gpu"} and where["matplotlib"] == {"plot"}
    assert where["langchain_core"] == where["pydantic"] == where["langgraph"] == {"core"}
    plots = {f for m, users in _imports().items() if m.split(".")[0] == "matplotlib" for f in users}
    assert plots == {"evals/report.py"}  # only where plots are made
    assert "tapehead[plot]" in PROJECT["optional-dependencies"]["dev"]


def test_bounds_where_we_rely_on_an_api():
    req = {_name(r): r for r in PROJECT["dependencies"]}
    for dist in ("langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite", "langchain-core", "pydantic", "textual", "gitpython",
                 "tree-sitter", "tree-sitter-python", "safetensors", "torch"):
        assert ">=" in req[dist] and "<" in req[dist].replace("<=", ""), req[dist]
    assert re.search(r">=1\.2\b", req["langgraph"])  # DeltaChannel appeared in 1.2.0


def test_classifiers_urls_and_py_typed():
    assert "Typing :: Typed" in PROJECT["classifiers"] and PROJECT["urls"]
    assert (ROOT / "py.typed").exists()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert data["tapehead"] == ["py.typed"] and data["tapehead.evals.policies"] == ["*.json", "*.safetensors"]


def test_plots_say_how_to_get_matplotlib_when_it_is_missing(monkeypatch):
    from tapehead.evals import report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the plot extra sees
    with pytest.raises(ImportError, match=r"pip install 'tapehead\[plot\]'"):
        report.plot({"summary": [], "task": "addition", "policy": "addition"}, "x.png")


@pytest.mark.slow  # builds a wheel (~20 s)
def test_the_wheel_works_from_another_directory(tmp_path):
    """``pip install .`` (not editable) as a user does it: the wheel holds the package data, and the
    command solves with the shipped policy from a directory that is not the checkout."""
    import shutil

    src = tmp_path / "clone"  # what a clean clone holds (setuptools builds in the source tree)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("tapehead-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tapehead/py.typed", "tapehead/evals/policies/addition.json",
            "tapehead/evals/policies/multitask.safetensors"} <= names
    assert not any(n.startswith(("tapehead/tests/", "tapehead/docs/", "tapehead/runs/")) for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in meta and "Provides-Extra: plot" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    # the installed copy comes first on sys.path (before this checkout's editable install)
    env = {**os.environ, "PYTHONPATH": str(site), "TAPEHEAD_HOME": str(tmp_path / "home")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "tapehead", *a], cwd=tmp_path, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    r = run("solve", "addition", "123+456", "--json", "--threads", "1")
    assert r.returncode == 0 and json.loads(r.stdout)["answer"] == "579", r.stderr[-3000:]
    r = run("policies", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    paths = [row["path"] for row in json.loads(r.stdout)]
    assert len(paths) == 6 and all(p.startswith(str(site / "tapehead" / "evals" / "policies")) for p in paths)
