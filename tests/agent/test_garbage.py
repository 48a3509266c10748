"""Garbage token streams (property-based): whatever a policy writes, the graph never crashes and every
run ends with a clear exit status; the recorded trace rebuilds to the same tape."""

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tapehead.agent.agent import Agent
from tapehead.agent.graph.state import tokens_of
from tapehead.agent.loops import limits as lim
from tapehead.agent.loops.episode import Episode, Limits
from tapehead.agent.policies.policy import ScriptedPolicy

from graph_helpers import C, script, source_dir

V = C.vocab
SPECIALS = [V.id(n) for n in V.specials]
PIECES = ["run ", "read_file ", "list_files", "git_status", "nosuch ", "{", "}", '{"path": "a.py"}', '{"command": 1}',
          "a.py", "echo hi", '"', " ", "7", "+", "=",
          "[CALL]read_file a.py[/CALL]", "[CALL]run echo hi[/CALL]", "[CALL]list_files[/CALL]"]  # whole calls too
token = st.one_of(
    st.integers(0, C.size - 1),  # any id the network can emit, unused padding ids included
    st.sampled_from(SPECIALS + [C.CALL, C.CALL_END, C.OBS, C.OBS_END] * 3),
    st.sampled_from(PIECES).map(lambda s: script(s)),
)
stream = st.lists(token, max_size=120).map(lambda xs: [t for x in xs for t in (x if isinstance(x, list) else [x])])


class Swappable:
    """One policy object whose script each example replaces (the agent and its graph are built once)."""

    def __init__(self):
        self.inner = ScriptedPolicy([], C.EOS)

    def start(self, prompt):
        self.inner.start(prompt)

    def propose(self):
        return self.inner.propose()

    def feed(self, t):
        self.inner.feed(t)

    def state_bytes(self):
        return 0


@pytest.fixture(scope="module")
def garbage_agent(tmp_path_factory):
    src = source_dir(tmp_path_factory.mktemp("garbage"))
    pol = Swappable()
    # exec calls are denied by the approver (no sandbox runs); read calls run for real (yolo)
    agent = Agent(policy=pol, workspace=src, db=str(tmp_path_factory.mktemp("db") / "g.sqlite"), step_tokens=16,
                  limits=Limits(max_tokens=300, max_steps=60, max_consecutive_malformed=4),
                  approver=lambda request: request["category"] == "read")
    yield agent, pol
    agent.close()
    agent.toolset.workspace.discard()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=stream, fallback=st.sampled_from([C.EOS, C.PAD, ord("x"), C.CALL]))
def test_garbage_never_crashes_and_ends_with_a_status(garbage_agent, tokens, fallback):
    agent, pol = garbage_agent
    pol.inner = ScriptedPolicy(tokens, fallback)
    res = agent.solve("q")
    assert res.exit in lim.EXIT_STATUSES and res.exit != "error", res.error
    traj = res.trajectory
    event(f"exit={res.exit}")  # pytest --hypothesis-show-statistics shows what the examples reached
    event("tool step" if traj.meta["calls"] else "no tool step")
    assert traj.generated <= 300 + 2100  # the token limit, plus at most one observation span
    if fallback in (C.EOS,) and res.exit == "eos":
        assert traj.tokens[-1] == C.EOS
    # the record is consistent: rebuilding from it gives the codec's own view of the tape
    ep = Episode.resume(C, "q", traj.tokens, counts=traj.counts)
    assert ep.tape.memory == C.memory(traj.tokens, traj.prompt_len)
    assert tokens_of(agent.state(res.thread_id)) == traj.tokens


@settings(max_examples=25, deadline=None)
@given(bad=st.one_of(st.integers(max_value=-1), st.integers(min_value=C.size, max_value=10**9),
                     st.sampled_from([None, "7", 3.5])))
def test_out_of_vocabulary_output_ends_with_error_status(bad):
    pol = ScriptedPolicy([ord("1"), bad], C.EOS)
    res = Agent(policy=pol, step_tokens=8).solve("q")
    assert res.exit == "error" and "outside the vocabulary" in res.error
    assert list(res.trajectory.tokens) == C.prompt("q") + [ord("1")]
