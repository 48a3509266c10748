"""Every workspace tool: describes itself, answers with observations (never raises), has a JSON
snapshot, and keeps answering (with a refusal) once the workspace is discarded."""

import json

import pytest
from workspace_helpers import user_repo, ws  # noqa: F401

from tapehead.tools.base import CATEGORIES, Observation, Tool
from tapehead.tools.code.workspace_tools import workspace_tools

NAMES = ["list_files", "read_file", "grep", "outline", "find_definition", "find_calls", "replace_text",
         "replace_lines", "create_file", "add_param", "pass_arg", "add_import", "run", "run_python", "check",
         "git_status", "git_diff", "git_reset"]


def test_all_tools_are_there_and_describe_themselves(ws):
    tools = workspace_tools(ws)
    assert [t.name for t in tools] == NAMES
    for t in tools:
        assert isinstance(t, Tool)
        d = t.describe()
        json.dumps(d)
        assert d["category"] in CATEGORIES and d["doc"] and "\n" not in d["doc"]
        assert all(a["type"] in ("str", "int", "bool", "float") for a in d["args"])
        json.dumps(t.snapshot())


@pytest.mark.parametrize("bad", [{"nope": 1}, {"path": ["list"]}, {"max_results": "many"}])
def test_bad_arguments_are_observations(ws, bad):
    for t in workspace_tools(ws):
        obs = t.call(**bad)
        assert isinstance(obs, Observation) and not obs.ok and obs.text.startswith("error:")


def test_discarded_workspace_answers_with_refusals(ws):
    tools = {t.name: t for t in workspace_tools(ws)}
    ws.discard()
    calls = {"list_files": {}, "read_file": {"path": "a"}, "grep": {"pattern": "x"}, "outline": {"path": "a.py"},
             "find_definition": {"name": "x"}, "find_calls": {"name": "x"},
             "replace_text": {"path": "a", "old": "x", "new": "y"},
             "replace_lines": {"path": "a", "start": 1, "end": 1, "text": "x"},
             "create_file": {"path": "a", "content": ""}, "run": {"command": "true"},
             "run_python": {"path": "a.py"}, "git_status": {}, "git_diff": {}, "git_reset": {"path": "."},
             "add_param": {"path": "a.py", "function": "f", "name": "x"},
             "pass_arg": {"path": "a.py", "function": "f", "name": "x"},
             "add_import": {"path": "a.py", "name": "x", "source": "b.py"}, "check": {}}
    assert sorted(calls) == sorted(NAMES)
    for name, kwargs in calls.items():
        obs = tools[name].call(**kwargs)
        assert not obs.ok and "discarded" in obs.text, name
        json.dumps(tools[name].snapshot())
