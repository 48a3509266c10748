"""The in-process loop with real tapes: replay, limits, malformed output, and the batched twin."""

import random

import pytest

from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.policies.policy import ScriptedPolicy
from tapehead.agent.tasks import get_task

C = get_codec()
ADD = get_task("addition")


def test_scripted_replay_of_teacher_reproduces_trajectory():
    ref = run_episode(ADD.teacher(C), C, "358+64=")
    pol = ScriptedPolicy(ref.tokens, fallback=C.EOS)
    tr = run_episode(pol, C, "358+64=")
    assert tr.tokens == ref.tokens and tr.answer == "422" and pol.divergences == []
    assert tr.counts == ref.counts


def test_replay_against_other_input_diverges_on_observations_only():
    ref = run_episode(ADD.teacher(C), C, "358+64=")
    pol = ScriptedPolicy(ref.tokens[len(C.prompt("358+64=")):], fallback=C.EOS)
    tr = run_episode(pol, C, "359+64=")
    assert pol.divergences, "the tape must answer with the new input's digits"
    assert tr.answer != "423" or tr.tokens != ref.tokens


def test_observation_is_tool_given_never_sampled():
    # a script that reads and then "predicts" a wrong observation: the tool's answer wins
    V = C.vocab
    script = [V.tape(1, "right"), V.tape(1, "read"), ord("9"), C.EOS]
    pol = ScriptedPolicy(script, C.EOS)
    tr = run_episode(pol, C, "12+3=")
    assert tr.tokens[-2] == ord("1") and pol.divergences == [2]


def test_thoughts_and_outputs_enter_tape_commands_do_not():
    V = C.vocab
    script = [ord("a"), V.tape(1, "right"), C.ANS, ord("z"), V.tape(1, "init"), C.EOS]
    from tapehead.agent.loops.episode import Episode

    ep = Episode(C, "q")
    for t in script:
        ep.accept(t)
    assert ep.tape.memory == ["[BOS]", "q", "a", "[ANS]", "z"]
    assert ep.exit == "eos"


def test_max_tokens_limit_ends_with_status():
    ref = run_episode(ADD.teacher(C), C, "12345+678=")
    tr = run_episode(ScriptedPolicy(ref.tokens, C.EOS), C, "12345+678=", limits=Limits(max_tokens=20))
    assert tr.exit == "max_tokens" and 20 <= tr.generated <= 21


def test_max_tool_calls_limit():
    tr = run_episode(ADD.teacher(C), C, "12345+678=", limits=Limits(max_tool_calls=7))
    assert tr.exit == "max_tool_calls" and tr.counts["tool_calls"] == 7


def test_invalid_tokens_get_err_observation_and_end_run():
    pad = C.vocab.id("[PAD]")
    # a full-episode script: each written token is followed by what the tool answers ([ERR])
    script = [pad, C.ERR, ord("1"), pad, C.ERR, pad, C.ERR, pad, C.ERR, C.EOS]
    tr = run_episode(ScriptedPolicy(script, C.EOS), C, "1+1=",
                     limits=Limits(max_consecutive_malformed=3))
    gen = tr.tokens[tr.prompt_len:].tolist()
    assert gen[:2] == [pad, C.ERR] and tr.exit == "malformed" and tr.counts["malformed"] == 4


def test_unknown_call_tool_answers_with_error_span():
    script = [C.CALL] + C.text_tokens("find x") + [C.CALL_END, C.EOS]
    tr = run_episode(ScriptedPolicy(script, C.EOS), C, "q")
    calls = C.calls(tr.tokens, tr.prompt_len)
    assert calls[0]["tool"] == "find" and calls[0]["observation"].startswith("error: no tool 'find'")
    tr = run_episode(ScriptedPolicy(script, C.EOS), C, "q", call_tools={"find": lambda a: f"hit {a}"})
    assert C.calls(tr.tokens, tr.prompt_len)[0]["observation"] == "hit x" and tr.counts["malformed"] == 0


def test_tape_tokens_inside_a_call_are_call_text_not_commands():
    V = C.vocab
    script = [C.CALL, V.tape(1, "read"), C.CALL_END, C.EOS]
    tr = run_episode(ScriptedPolicy(script, C.EOS), C, "q", call_tools={"t": lambda a: "ok"})
    assert tr.counts["tool_calls"] == 1  # only the call, not a tape read


@pytest.mark.parametrize("seed", range(3))
def test_random_token_streams_never_crash(seed):
    rng = random.Random(seed)
    script = [rng.randrange(C.size) for _ in range(400)]
    tr = run_episode(ScriptedPolicy(script, C.EOS), C, "12+34=", limits=Limits(max_tokens=300))
    assert tr.exit in ("eos", "max_tokens", "malformed")
    assert C.kinds(tr.tokens, tr.prompt_len)  # the record stays decodable
