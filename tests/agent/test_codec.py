"""The codec: kinds, masks, memory, answers, calls and rendering, on real teacher traces."""

import pytest

from tapehead.agent.loops.loop import run_episode
from tapehead.agent.models import codec as get_codec
from tapehead.agent.tasks import get_task
from tapehead.agent.trace.codec import Kind

C = get_codec()
ADD = get_task("addition")


def teacher_trace(text):
    return run_episode(ADD.teacher(C), C, text)


def test_worked_example_of_docstring():
    tr = teacher_trace("7+5=")
    assert tr.answer == "12" and tr.exit == "eos"
    assert C.memory(tr.tokens, tr.prompt_len) == ["[BOS]", "7", "+", "5", "=", "2", "1", "1", "0", "[ANS]", "1", "2"]
    text = C.vocab.decode_text(tr.tokens)
    assert text.startswith("[BOS]7+5=[p1.right][p1.read]7[p1.right][p1.read]+[p1.left]")
    assert text.endswith("[p3.left][p3.read]1[p3.left][p3.read]22[p3.left][p3.read]=[EOS]")


def test_kinds_and_loss_mask():
    tr = teacher_trace("12+345=")
    kinds = C.kinds(tr.tokens, tr.prompt_len)
    mask = C.loss_mask(tr.tokens, tr.prompt_len)
    assert kinds[: tr.prompt_len] == [Kind.INPUT] * tr.prompt_len
    for i, (t, k) in enumerate(zip(tr.tokens, kinds)):
        if i and C.commands[tr.tokens[i - 1]] and C.commands[tr.tokens[i - 1]][1] == "read":
            assert k == Kind.OBSERVATION
        assert mask[i] == (k not in (Kind.INPUT, Kind.OBSERVATION))
    assert kinds.count(Kind.ANS) == 1 and kinds[-1] == Kind.EOS
    assert [C.symbol(t) for t, k in zip(tr.tokens, kinds) if k == Kind.OUTPUT] == list("357")


def test_segments_roundtrip_tokens():
    tr = teacher_trace("99+1=")
    segs = C.segments(tr.tokens, tr.prompt_len)
    assert segs[0].kind == Kind.INPUT and segs[0].end == tr.prompt_len
    assert [i for s in segs for i in range(s.start, s.end)] == list(range(len(tr.tokens)))
    assert all(s.end - s.start == 1 for s in segs if s.kind in (Kind.COMMAND, Kind.OBSERVATION))


def test_calls_pair_reads_with_observations():
    tr = teacher_trace("4+4=")
    calls = C.calls(tr.tokens, tr.prompt_len)
    assert len(calls) == tr.counts["tool_calls"]
    reads = [c for c in calls if c["call"]["op"] == "read"]
    assert all(c["observation"] is not None for c in reads)
    assert reads[0] == {"index": tr.prompt_len + 1, "tool": "tape", "call": {"head": 1, "op": "read"}, "observation": "4"}


def test_call_spans_and_invalid_tokens_classified():
    V = C.vocab
    toks = C.prompt("x") + [C.CALL] + C.text_tokens("find a") + [C.CALL_END] + C.span_tokens("a1\na2") + \
        [V.id("[PAD]"), C.ERR, C.EOS]
    kinds = C.kinds(toks, 2)
    n_call = 1 + 6 + 1
    assert kinds[2:2 + n_call] == [Kind.COMMAND] * n_call
    n_obs = len(C.span_tokens("a1\na2"))
    assert kinds[2 + n_call:2 + n_call + n_obs] == [Kind.OBSERVATION] * n_obs
    assert kinds[-3:] == [Kind.INVALID, Kind.OBSERVATION, Kind.EOS]
    (call,) = C.calls(toks, 2)
    assert call["tool"] == "find" and call["call"] == {"text": "a"} and call["observation"] == "a1\na2"


@pytest.mark.parametrize("text", ["0+0=", "5+5=", "123+4567=", "99999+1="])
def test_symbol_token_roundtrip_over_trace(text):
    tr = teacher_trace(text)
    for t in tr.tokens:
        assert C.token(C.symbol(t)) == t


def test_render_has_paper_colours():
    tr = teacher_trace("12+3=")
    text = C.render(tr.tokens, tr.prompt_len)
    styles = {str(s.style) for s in text.spans}
    assert {"blue", "bold magenta", "dark_orange", "green", "bold yellow"} <= styles
    assert "[p1.read]" in text.plain and "15" not in text.plain.split("[ANS]")[0][-3:]
    short = C.render(tr.tokens, tr.prompt_len, max_tokens=20)
    assert "tokens …" in short.plain
