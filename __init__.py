"""tapehead: a small Mamba-2 policy that solves long problems by working through tools.

The public API, imported on first use (``import tapehead`` loads neither torch nor LangGraph):

    from tapehead import Agent
    print(Agent(task="addition").solve("123+456").answer)   # 579

- ``Agent``, ``RunResult``: the LangGraph agent and what a run returns (``tapehead.agent.agent``);
- ``get_task``, ``task_names``: the task registry (``tapehead.agent.tasks``);
- ``Trajectory``: a run's record, as written to a trajectory file (``tapehead.agent.trace.trajectory``);
- ``Workspace``: a scratch copy of a directory for the workspace tools (``tapehead.tools.workspace``);
- ``__version__``: the installed distribution's version.

The packages, one way down (docs/design.md): ``tapehead.tui`` and ``tapehead.evals`` over
``tapehead.agent``, over ``tapehead.model`` and ``tapehead.tools``. ``python -m tapehead`` is the
``tapehead`` command.
"""

from __future__ import annotations

from importlib import import_module

_API = {  # public name -> the module that defines it
    "Agent": "tapehead.agent.agent",
    "RunResult": "tapehead.agent.agent",
    "get_task": "tapehead.agent.tasks",
    "task_names": "tapehead.agent.tasks",
    "Trajectory": "tapehead.agent.trace.trajectory",
    "Workspace": "tapehead.tools.workspace",
}

__all__ = [*_API, "__version__"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tapehead")
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        value = _version()
    elif name in _API:
        value = getattr(import_module(_API[name]), name)
    else:
        raise AttributeError(f"module 'tapehead' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
