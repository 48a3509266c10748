"""One import namespace (docs/design.md, "Layers"): installed, the repository's folders are
``tapehead.agent``, ``tapehead.tools``, ... so a user's own ``agent.py`` or ``tools.py`` never
shadows them; ``import tapehead`` is the light public API, ``python -m tapehead`` the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHADOWS = ("agent", "tools", "model", "evals", "tui")


def _python(code: str, cwd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, **kw)


def test_a_users_own_agent_tools_model_do_not_shadow_ours(tmp_path):
    for name in SHADOWS:
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the user\\'s own {name}.py was imported')\n")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
            "import tapehead\n"
            "from tapehead.agent.agent import Agent\n"
            "from tapehead.tools.base import Tool\n"
            "from tapehead.model.vocab import Vocab\n"
            "from tapehead.evals.tasks.addition import TASK\n"
            "from tapehead import Agent as A, Workspace, get_task, __version__\n"
            "assert A is Agent and get_task('addition') is TASK\n"
            "print(Agent(task='addition', policy='teacher').solve('12+34').answer)\n"
            f"assert not {{{', '.join(repr(n) for n in SHADOWS)}}} & set(sys.modules)\n")
    r = _python(code, tmp_path)
    assert r.returncode == 0 and r.stdout.split() == ["46"], r.stderr[-3000:]


def test_import_tapehead_is_light():
    r = _python("import sys, tapehead\n"
                "print(sorted(m for m in ('torch', 'langgraph', 'rich', 'git', 'tapehead.agent') if m in sys.modules))",
                ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr[-2000:]


def test_python_m_tapehead_is_the_cli(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tapehead", "--help"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "usage: tapehead" in r.stdout and "solve" in r.stdout, r.stderr[-2000:]


def test_every_package_folder_is_installed():
    """pyproject.toml lists the packages by hand (the root is ``tapehead``): none may be missing."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert tool["package-dir"] == {"tapehead": "."}
    found = {"tapehead"} | {"tapehead." + ".".join(p.parent.relative_to(ROOT).parts)
                            for pkg in SHADOWS for p in (ROOT / pkg).rglob("__init__.py")}
    assert set(tool["packages"]) == found
