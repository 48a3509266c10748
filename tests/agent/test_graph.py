"""The LangGraph agent with real components: scripted and teacher policies through the real graph and
SqliteSaver, per-step checkpoints, events, limits, malformed calls, memory tools in the policy step."""

import os

from tapehead.agent.agent import Agent
from tapehead.agent.graph import events as ev
from tapehead.agent.graph.build import run_config
from tapehead.agent.loops import limits as lim
from tapehead.agent.loops.episode import Episode, Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.policies.policy import ScriptedPolicy
from tapehead.agent.trace.trajectory import Trajectory
from tapehead.tools.base import Arg, Tool, ToolSpec

from graph_helpers import ADD, C, checkpoint_sizes, script, scripted, teacher

A100 = "7" * 40 + "1234567890" * 6
B100 = "9" * 55 + "31415926535897932384626433832795028841971"


def test_scripted_policy_through_graph_with_sqlite(tmp_path):
    text = ADD.parse(f"{A100}+{B100}")
    ref = teacher(text)
    db = str(tmp_path / "s.sqlite")
    agent = Agent(task="addition", policy=ScriptedPolicy(ref.tokens, C.EOS), db=db, step_tokens=32)
    res = agent.solve(f"{A100}+{B100}", thread_id="t1", out=str(tmp_path / "t1.json"))
    assert res.exit == "eos" and res.correct and res.answer == ADD.answer(text)
    assert res.trajectory.tokens == ref.tokens and res.trajectory.counts == ref.counts
    steps = res.trajectory.meta["steps"]
    assert steps > 60  # many small steps, each a checkpoint
    on_disk = Trajectory.load(str(tmp_path / "t1.json"))
    assert on_disk.tokens == ref.tokens and on_disk.exit == "eos" and on_disk.meta["thread_id"] == "t1"
    assert agent.sessions()[0]["status"] == "eos" and agent.sessions()[0]["tokens"] == len(ref.tokens)
    # a checkpoint holds the step's chunk, not the whole trace: only DeltaChannel snapshots (every 64
    # updates) are big, so the sizes do not grow with the trace
    sizes = checkpoint_sizes(db, "t1")
    assert len(sizes) >= steps
    small = min(sizes)
    assert sum(s > small + 2000 for s in sizes) <= steps // 64 + 1, sizes
    agent.close()


def test_events_cover_the_trace_in_order():
    text = "4096+905="
    ref = teacher(text)
    agent = Agent(task="addition", policy=ScriptedPolicy(ref.tokens, C.EOS), step_tokens=40, token_events=16)
    got = []
    res = agent.solve("4096+905", on_event=got.append)
    assert isinstance(got[0], ev.RunStarted) and not got[0].resumed
    assert isinstance(got[-1], ev.RunFinished) and got[-1].exit == "eos" and got[-1].answer == "5001"
    toks = [e for e in got if isinstance(e, ev.Tokens)]
    assert toks[0].start == len(C.prompt(text))
    flat, kinds = [], []
    for e in toks:
        assert e.start == len(C.prompt(text)) + len(flat)
        flat += e.tokens
        kinds += e.kinds
    assert flat == ref.tokens[len(C.prompt(text)):].tolist()
    assert kinds == [k.value for k in C.kinds(ref.tokens, len(C.prompt(text)))][len(C.prompt(text)):]
    stats = [e for e in got if isinstance(e, ev.Stats)]
    assert stats[-1].tokens == len(ref.tokens) and stats[-1].steps == res.trajectory.meta["steps"]
    tape = [e for e in got if isinstance(e, ev.TapeSnapshot)][-1].snapshot
    assert tape["length"] == len(C.memory(ref.tokens, len(C.prompt(text))))
    assert all(isinstance(e.to_json(), dict) and e.to_json()["type"] == e.type for e in got)


def test_teacher_spec_and_python_api():
    agent = Agent(task="addition", policy="teacher")
    res = agent.solve("12345+678")
    assert res.correct and res.answer == "13023" and res.trajectory.policy == "teacher"
    assert agent.result(res.thread_id).exit == "eos"
    assert agent.resume(res.thread_id).answer == "13023"  # a finished session stays finished
    import pytest

    with pytest.raises(ValueError, match="exists"):
        agent.solve("1+1", thread_id=res.thread_id)


def test_step_limit_ends_with_status_and_recursion_limit_follows():
    ref = teacher("999+1=")
    limits = Limits(max_tokens=10_000, max_steps=3)
    assert run_config("x", limits)["recursion_limit"] == 13
    agent = Agent(task="addition", policy=ScriptedPolicy(ref.tokens, C.EOS), step_tokens=5, limits=limits)
    res = agent.solve("999+1")
    assert res.exit == "max_steps" and res.trajectory.meta["steps"] == 4
    assert res.exit in lim.EXIT_STATUSES


def test_wall_time_token_and_tool_call_limits():
    ref = teacher("12345+678=")
    mk = lambda limits: Agent(task="addition", policy=ScriptedPolicy(ref.tokens, C.EOS), limits=limits,
                              step_tokens=8)
    r = mk(Limits(max_seconds=0.0)).solve("12345+678")
    assert r.exit == "max_seconds" and r.trajectory.generated == 0
    r = mk(Limits(max_tokens=20)).solve("12345+678")
    assert r.exit == "max_tokens" and 20 <= r.trajectory.generated <= 21
    r = mk(Limits(max_tool_calls=7)).solve("12345+678")
    assert r.exit == "max_tool_calls" and r.trajectory.counts["tool_calls"] == 7


def test_malformed_calls_become_observations_and_count():
    body = "[CALL]nosuch x[/CALL][OBS][/OBS]"
    agent = Agent(policy=scripted(body * 2 + "a" + body * 3),
                  limits=Limits(max_consecutive_malformed=3))
    got = []
    res = agent.solve("q", on_event=got.append)
    calls = C.calls(res.trajectory.tokens, res.trajectory.prompt_len)
    assert calls[0]["observation"].startswith("error: no tool 'nosuch'")
    assert res.exit == "malformed" and res.trajectory.counts["malformed"] == 5  # the thought 'a' reset the run
    assert sum(isinstance(e, ev.MalformedCall) for e in got) == 5


class Recall(Tool):
    """A memory tool over the episode's tape (how the search memory plugs in): runs in the policy step."""

    spec = ToolSpec("recall", "Count a symbol in the memory.", "memory", (Arg("symbol", "str", "what to count"),))

    def __init__(self, tape):
        self.tape = tape
        self.calls = 0

    def _run(self, symbol):
        self.calls += 1
        return str(self.tape.memory.count(symbol))

    def snapshot(self):
        return {"tool": "recall", "calls": self.calls}


def test_memory_tools_run_inside_the_policy_step():
    s = scripted("77[CALL]recall 7[/CALL][OBS][/OBS][CALL]recall {\"nope\": 1}[/CALL][OBS][/OBS][ANS]3[EOS]")
    agent = Agent(policy=s, memory_tools=lambda tape: [Recall(tape)])
    got = []
    res = agent.solve("17+", on_event=got.append)
    calls = C.calls(res.trajectory.tokens, res.trajectory.prompt_len)
    assert calls[0]["observation"] == "3"  # '7' in the input, and the two thoughts
    assert calls[1]["observation"].startswith("error: recall failed") and res.trajectory.counts["malformed"] == 1
    assert res.trajectory.meta["steps"] == 1 and res.trajectory.meta["calls"] == []  # no tool step
    snaps = [e for e in got if isinstance(e, ev.MemorySnapshot)]
    assert snaps and snaps[-1].snapshot == {"tool": "recall", "calls": 1}  # the malformed one never ran


def test_episode_resume_rebuilds_tape_reader_and_open_call():
    ref = teacher("358+64=")
    plen = len(C.prompt("358+64="))
    for cut in (plen, plen + 1, plen + 17, len(ref.tokens) - 3):
        live = Episode(C, "358+64=")
        for t in ref.tokens[plen:cut]:
            if not live.reader.expects_observation:
                live.accept(t)
        back = Episode.resume(C, "358+64=", live.tokens, counts=live.counts)
        assert back.tape.memory == live.tape.memory and back.tape.heads == live.tape.heads
        assert back.reader.expects_observation == live.reader.expects_observation
    # an open call span is rebuilt too: the runaway limit still counts from its [CALL]
    toks = C.prompt("q") + script("[CALL]run ab")
    back = Episode.resume(C, "q", toks, limits=Limits(max_call_tokens=5))
    assert back.reader.in_call and back._call_start == len(C.prompt("q"))


def test_model_policy_through_graph_and_resume_by_prefill(tmp_path):
    import pytest

    torch = pytest.importorskip("torch")
    from tapehead.agent import models
    from tapehead.agent.policies.source import default_policy_path

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = default_policy_path(ADD)
        model, _ = models.load(path)
        bare = run_episode(models.model_policy(model), C, "4821+377=")
        db = str(tmp_path / "m.sqlite")
        agent = Agent(task="addition", policy=path, db=db, step_tokens=16)
        n_stats = 0
        for e in agent.stream("4821+377", thread_id="m"):  # stop after two steps, as a crash would
            n_stats += isinstance(e, ev.Stats)
            if n_stats == 2:
                break
        assert 0 < agent.state("m")["steps"] < 10 and agent.state("m")["exit"] is None
        agent.close()
        again = Agent.from_session("m", db=db)  # a new cache: the network state is re-prefilled
        got = []
        res = again.resume("m", on_event=got.append)
        assert got[0].type == "RunStarted" and got[0].resumed
        assert res.exit == "eos" and res.answer == "5198" and res.trajectory.tokens == bare.tokens
        assert [e for e in got if e.type == "Stats"][-1].state_bytes == bare.meta["state_bytes"] > 0
        again.close()
    finally:
        torch.set_num_threads(threads)
    assert os.path.exists(db)


def test_task_search_memory_runs_in_the_policy_step():
    import random

    from tapehead.agent.tasks import get_task

    task = get_task("logical-graph")
    inst = task.sample(6, random.Random(3))
    agent = Agent(task=task, policy="teacher")
    got = []
    res = agent.solve(inst.text, on_event=got.append)
    assert res.exit == "eos" and res.correct and res.answer == inst.answer
    calls = C.calls(res.trajectory.tokens, res.trajectory.prompt_len)
    assert any(c["tool"] == "find" for c in calls) and res.trajectory.meta["calls"] == []  # no tool step
    snap = [e for e in got if isinstance(e, ev.MemorySnapshot)][-1]
    assert snap.tool == "find" and snap.snapshot["searches"] == sum(c["tool"] == "find" for c in calls)
