"""The bad-input corpus, Python API: ``Agent``, ``get_task(...).parse``, tools' ``call`` and the LangChain
tools. Bad input raises ``ValueError`` with one line (the API) or comes back as an ``error: ...``
observation (tools never raise); a session database and a paused approval survive every case.
Garbled inputs and option values are drawn by hypothesis, as well as listed.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapehead.agent.agent import Agent
from tapehead.agent.graph.lc_tools import langchain_tools
from tapehead.agent.tasks import get_task, task_names
from tapehead.tools.memory.pointer_tape import PointerTape
from tapehead.tools.memory.search_memory import SearchMemory

from cli_world import project, snapshot

AGENT_ARGS = [
    ("step-tokens-negative", dict(step_tokens=-5), "step_tokens: must be >= 1"),
    ("step-tokens-zero", dict(step_tokens=0), "step_tokens: must be >= 1"),
    ("step-tokens-bool", dict(step_tokens=True), "step_tokens: must be an integer"),
    ("step-tokens-float", dict(step_tokens=2.5), "step_tokens: must be an integer"),
    ("step-tokens-str", dict(step_tokens="64"), "step_tokens: must be an integer, got str"),
    ("token-events-zero", dict(token_events=0), "token_events: must be >= 1"),
    ("limit-negative", dict(limits={"max_tokens": -1}), "limits.max_tokens: must be >= 0"),
    ("limit-unknown", dict(limits={"max_token": 5}), "no limit 'max_token'"),
    ("limit-float-count", dict(limits={"max_steps": 1.5}), "limits.max_steps: must be an integer"),
    ("limit-seconds-negative", dict(limits={"max_seconds": -1.0}), "limits.max_seconds: must be >= 0"),
    ("limit-seconds-nan", dict(limits={"max_seconds": float("nan")}), "must be a finite number"),
    ("limits-wrong-type", dict(limits=[1, 2]), "limits must be a Limits or a dict"),
    ("workspace-missing", dict(workspace="/nonexistent"), "workspace: /nonexistent: no such directory"),
    ("device-cuda", dict(device="cuda"), "device: cuda"),
    ("device-junk", dict(device="gpu0"), "device: must be cpu, cuda"),
    ("db-dir", dict(db="/tmp"), "db: /tmp: is a directory"),
    ("approval-mode", dict(approval="exec=maybe"), "approval mode must be"),
    ("approval-category", dict(approval={"network": "yolo"}), "no tool category 'network'"),
    ("approval-pairs", dict(approval="yolo"), "CATEGORY=MODE pairs"),
    ("unknown-task", dict(task="nosuch"), "unknown task 'nosuch'"),
    ("no-policy", dict(task=None, policy=None), "no policy"),
    ("teacher-without-task", dict(task=None, policy="teacher"), "--policy teacher needs a --task"),
]


def _one_line(e: BaseException, fragment: str) -> None:
    msg = str(e)
    assert "\n" not in msg and fragment in msg, msg


@pytest.mark.parametrize("kw, fragment", [c[1:] for c in AGENT_ARGS], ids=[c[0] for c in AGENT_ARGS])
def test_agent_refuses_bad_arguments(kw, fragment):
    kw = {"task": "addition", "policy": "teacher", **kw}
    with pytest.raises(ValueError) as e:
        Agent(**kw)
    _one_line(e.value, fragment)


@pytest.fixture
def paused(tmp_path, monkeypatch):
    """A session database with a finished run and a run paused at an approval (a real workspace)."""
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    src, script = project(tmp_path)
    db = str(tmp_path / "s.sqlite")
    with Agent(task="addition", policy="teacher", db=db) as a:
        a.solve("12+34", thread_id="done-1")
    agent = Agent(policy=f"script:{script}", workspace=src, db=db)
    res = agent.solve("run it", thread_id="wait-1")
    assert res.paused
    yield agent, tmp_path
    agent.toolset.workspace.discard()
    agent.close()


RUN_INPUTS = [
    ("thread-dotdot", dict(input="1+1", thread_id="../../x"), "a session id is"),
    ("thread-empty", dict(input="1+1", thread_id=""), "a session id is"),
    ("thread-slash", dict(input="1+1", thread_id="a/b"), "a session id is"),
    ("thread-exists", dict(input="1+1", thread_id="done-1"), "session 'done-1' exists"),
]

RESUME_ANSWERS = [
    ("maybe", "maybe", "unknown answer 'maybe'"),
    ("empty", "", "unknown answer ''"),
    ("number", 1, "unknown answer 1"),
    ("none-in-dict", {"approve": None}, "unknown answer None"),
    ("note-only", {"note": "x"}, "needs one \"approve\""),
    ("both-keys", {"approve": True, "approved": True}, "needs one \"approve\""),
    ("extra-key", {"approve": True, "why": "x"}, "unknown key(s) 'why'"),
    ("note-type", {"approve": True, "note": ["x"]}, "note must be a string"),
    ("note-long", {"approve": True, "note": "x" * 501}, "at most 500"),
    ("bad-json", '{"approve": tru', "not valid JSON"),
    ("list", [True], "unknown answer [True]"),
]


@pytest.mark.parametrize("kw, fragment", [c[1:] for c in RUN_INPUTS], ids=[c[0] for c in RUN_INPUTS])
def test_a_run_refuses_bad_ids(paused, kw, fragment):
    agent, root = paused
    before = snapshot(root)
    with Agent(task="addition", policy="teacher", db=str(root / "s.sqlite")) as a:
        with pytest.raises(ValueError) as e:
            a.solve(kw["input"], thread_id=kw["thread_id"])
    _one_line(e.value, fragment)
    assert snapshot(root) == before


@pytest.mark.parametrize("answer, fragment", [c[1:] for c in RESUME_ANSWERS], ids=[c[0] for c in RESUME_ANSWERS])
def test_a_bad_answer_is_refused_and_the_approval_stays(paused, answer, fragment):
    agent, root = paused
    before = snapshot(root)
    with pytest.raises(ValueError) as e:
        agent.resume("wait-1", approve=answer)
    _one_line(e.value, fragment)
    assert snapshot(root) == before
    assert agent.result("wait-1").paused  # still waiting: it can be answered again


def test_from_session_refuses_unknown_and_empty_ids(paused):
    agent, root = paused
    for tid, fragment in (("nosuch", "no session 'nosuch'"), ("", "not an empty string"), ("../x", "a session id is"),
                          ("x", "no session 'x'")):
        with pytest.raises(ValueError) as e:
            Agent.from_session(tid, db=str(root / "s.sqlite"))
        _one_line(e.value, fragment)


# --- task parsers ----------------------------------------------------------------------------------------
NON_ASCII_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９²³¹߀๑"
EXAMPLES = {"addition": "123+456", "mult": "123*45", "mult1": "123*4", "mult2": "123*45", "mult1-reread": "12*3",
            "mult2-reread": "12*34", "hanoi": "hanoi 3", "hanoi-local": "hanoi 3", "hanoi-recursive": "(3)(2)(1)",
            "addition-nocot": "1+2", "addition-reversed": "1+2", "addition-calc": "1+2", "addition-predicted": "1+2",
            "logical-graph": "v1 = True\nv2 = not v1\nprint(v2)\n",
            "logical-graph-local": "v1 = True\nv2 = not v1\nprint(v2)\n"}
# the coding tasks take a problem statement in words (any text; empty: the default statement)
FREE_TEXT = {"code-fix", "code-fix-paper", "code-fix-plumbing", "code-fix-import", "code-fix-single"}


def test_every_task_has_an_example():
    assert set(EXAMPLES) | FREE_TEXT == set(task_names()) and not set(EXAMPLES) & FREE_TEXT
    for name, text in EXAMPLES.items():
        get_task(name).parse(text)  # the examples are good inputs


@pytest.mark.parametrize("name", sorted(FREE_TEXT))
@given(text=st.text(max_size=60))
@settings(max_examples=30, deadline=None)
def test_statement_tasks_take_any_text(name, text):
    """A coding task's input is the user's words: kept (stripped) as the statement, or the default one."""
    out = get_task(name).parse(text)
    assert out == (text.strip() or get_task(name).parse(""))
    assert get_task(name).parse("") == "Fix the bug: `python main.py` fails."


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@given(digit=st.sampled_from(NON_ASCII_DIGITS), where=st.integers(0, 10**6))
@settings(max_examples=25, deadline=None)
def test_parsers_take_ascii_digits_only(name, digit, where):
    """Any ASCII digit of a good input replaced by a non-ASCII digit is refused with one line."""
    text = EXAMPLES[name]
    spots = [i for i, c in enumerate(text) if c in "0123456789"]
    i = spots[where % len(spots)]
    with pytest.raises(ValueError) as e:
        get_task(name).parse(text[:i] + digit + text[i + 1:])
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@given(text=st.text(max_size=40))
@settings(max_examples=40, deadline=None)
def test_parsers_never_fail_otherwise(name, text):
    """Garbled input: a canonical text or one ValueError line, nothing else (no IndexError, no MemoryError)."""
    try:
        out = get_task(name).parse(text)
    except ValueError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(out, str) and all(c.isascii() for c in out if c.isdigit())


@pytest.mark.parametrize("name, text, fragment", [
    ("addition", "", "empty input"), ("addition", "1+", "not an addition"), ("addition", "+1", "not an addition"),
    ("addition", "1 + 2 + 3", "not an addition"), ("addition", "0x10+1", "not an addition"),
    ("mult", "12*", "not a multiplication"), ("mult1", "12*34", "1 digit"), ("hanoi", "hanoi 0", "no disks"),
    ("hanoi", "hanoi 20", "too many"), ("hanoi", "(1)(1)", "distinct"), ("hanoi", "A(1)(2)C$", "not a start state"),
    ("hanoi-recursive", "(1000)", "1..999"), ("logical-graph", "", "empty input"),
    ("logical-graph", "print(x)", "no assignments"), ("logical-graph", "v1 = True\nv1 = False", "assigned twice"),
    ("logical-graph", "and = True", "reserved word"), ("logical-graph", "a = b", "used before"),
])
def test_parser_messages(name, text, fragment):
    with pytest.raises(ValueError) as e:
        get_task(name).parse(text)
    _one_line(e.value, fragment)


# --- tools: call and LangChain ---------------------------------------------------------------------------
TAPE_CALLS = [
    dict(head=0, op="read"), dict(head=9, op="read"), dict(head=1, op="jump"), dict(head="x", op="read"),
    dict(head=True, op="read"), dict(head=1.5, op="read"), dict(op="read"), dict(head=1), dict(head=1, op="read", z=1),
    dict(head="١", op="read"), dict(head=None, op=None),
]


@pytest.mark.parametrize("kwargs", TAPE_CALLS, ids=[str(k) for k in TAPE_CALLS])
def test_tape_calls_answer_with_an_error(kwargs):
    obs = PointerTape(list("12+3"), heads=2).call(**kwargs)
    assert not obs.ok and obs.text.startswith("error: ") and "\n" not in obs.text


@pytest.mark.parametrize("kwargs", [dict(), dict(pattern=5), dict(pattern=None), dict(pattern="a", n=2)])
def test_search_memory_calls_answer_with_an_error(kwargs):
    obs = SearchMemory(["a = 1"]).call(**kwargs)
    assert not obs.ok and obs.text.startswith("error: ")


@pytest.fixture
def lc(tmp_path):
    from tapehead.tools.code.workspace_tools import workspace_tools
    from tapehead.tools.workspace.workspace import Workspace

    (tmp_path / "a.py").write_text("x = 1\n")
    ws = Workspace.create(str(tmp_path))
    yield {t.name: t for t in langchain_tools(workspace_tools(ws))}, ws
    ws.discard()


LC_CALLS = [
    ("read_file", {"path": 5}, "argument 'path'"), ("read_file", {"path": "a.py", "start": "x"}, "argument 'start'"),
    ("read_file", {"path": "a.py", "start": True}, "argument 'start'"), ("read_file", {}, "argument 'path'"),
    ("read_file", {"path": "a.py", "bogus": 1}, "argument 'bogus'"), ("read_file", None, "valid dictionary"),
    ("read_file", [1], "valid dictionary"), ("read_file", {"path": "../../etc/passwd"}, "error:"),
    ("grep", {"pattern": "("}, "error:"), ("grep", {"pattern": "x", "max_results": "all"}, "argument 'max_results'"),
    ("grep", {"pattern": "x", "ignore_case": "yes"}, "argument 'ignore_case'"),
    ("run", {"command": ["ls"]}, "argument 'command'"), ("replace_text", {"path": "a.py"}, "argument"),
]


@pytest.mark.parametrize("tool, args, fragment", LC_CALLS, ids=[f"{t}-{a}" for t, a, _ in LC_CALLS])
def test_langchain_tools_answer_bad_arguments(lc, tool, args, fragment):
    tools, ws = lc
    got = tools[tool].invoke(args)
    assert isinstance(got, str) and got.startswith("error: ") and fragment in got, got


def test_langchain_tool_call_gets_an_error_message(lc):
    tools, _ = lc
    msg = tools["read_file"].invoke({"name": "read_file", "args": {"path": 5}, "id": "1", "type": "tool_call"})
    assert msg.status == "error" and msg.content.startswith("error: read_file: argument 'path'")
