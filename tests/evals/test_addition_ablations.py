"""The addition ablations of paper App. D.7: each a task whose teacher runs through the real loop."""

import random
import re

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task
from tapehead.evals.tasks.addition_ablations import calculator

C = get_codec()
NAMES = ["addition-nocot", "addition-reversed", "addition-calc", "addition-predicted"]


def solve(task, text):
    tr = run_episode(task.teacher(C), C, text, call_tools=getattr(task, "call_tools", None))
    assert tr.exit == "eos", (task.name, text, tr.exit)
    return tr


@pytest.mark.parametrize("name", NAMES)
def test_teacher_right_small_and_large(name):
    task = get_task(name)
    for a in range(0, 60, 3):
        for b in range(0, 120, 7):
            want = str(a + b)[::-1] if name == "addition-reversed" else str(a + b)
            assert solve(task, f"{a}+{b}=").answer == want == task.answer(f"{a}+{b}=")
    rng = random.Random(0)
    for n in (5, 50, 1000):
        for inst in [task.sample(n, rng)] + task.hard_cases(n, rng)[:2]:
            tr = solve(task, inst.text)
            assert tr.answer == inst.answer
            assert tr.generated <= task.max_tokens(inst.text)


def test_direct_answers_have_no_thoughts_and_no_tools():
    for name, want in (("addition-nocot", "579"), ("addition-reversed", "975")):
        tr = solve(get_task(name), "123+456=")
        assert list(tr.tokens[tr.prompt_len:]) == [C.ANS] + C.text_tokens(want) + [C.EOS]
        assert tr.counts["tool_calls"] == 0


def test_calculator_is_one_call_span():
    task = get_task("addition-calc")
    tr = solve(task, "123+456=")
    assert C.calls(tr.tokens, tr.prompt_len) == [
        {"index": tr.prompt_len, "tool": "add", "call": {"text": "123,456"}, "observation": "579"}]
    assert tr.counts["tool_calls"] == 1 and tr.answer == "579"
    assert calculator("9" * 5000 + ",1") == "1" + "0" * 5000
    assert calculator("1+2").startswith("error:") and calculator("").startswith("error:")


def test_predicted_cot_is_addition_work_with_reads_written_by_the_policy():
    tr = solve(get_task("addition-predicted"), "7+5=")
    body = C.vocab.decode_text(tr.tokens[tr.prompt_len:])
    assert body == ">1?17>1?1+<1>2?27>2?2+>2?25>2?2=<2?17?2521<1<2?1^?2+10?1^?2+[ANS]12[EOS]"
    assert tr.counts["tool_calls"] == 0 and tr.counts["observations"] == 0
    mask = C.loss_mask(tr.tokens, tr.prompt_len)
    assert all(mask[tr.prompt_len:])  # every symbol the policy "reads" is trained: nothing is given
    for text in ("7+5=", "999+1=", "12345+678="):  # the written symbols are the real trace's reads
        body = C.vocab.decode_text(solve(get_task("addition-predicted"), text).tokens[len(C.prompt(text)):])
        ref = run_episode(get_task("addition").teacher(C), C, text)
        kinds = C.kinds(ref.tokens, ref.prompt_len)
        ans = ref.tokens.index(C.ANS)
        reads = [C.symbol(t) for t, k in zip(ref.tokens[:ans], kinds[:ans]) if k.value == "observation"]
        written = re.findall(r"\?[123](.)", body.split("[ANS]")[0])
        assert written == [{"[BOS]": "^"}.get(r, r) for r in reads]


def test_ablations_share_additions_instances_and_parse():
    for name in NAMES:
        task = get_task(name)
        assert task.parse(" 007 + 5 ") == "7+5="
        with pytest.raises(ValueError, match="addition|empty"):
            task.parse("1-2")
        inst = task.sample(5, random.Random(3), train=True)
        assert inst.text.endswith("=") and "+" in inst.text
