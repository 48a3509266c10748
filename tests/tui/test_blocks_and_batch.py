"""The pure pieces under the screens: blocks of a trace (any split of the token stream gives the
blocks of the whole; the labels read as the trace does) and the coalescing batch (contiguous tokens
concatenated, latest snapshot and stats kept, the other events in order)."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapehead.agent.graph import events as ev
from tapehead.agent.trace.markup import parse_markup
from tapehead.tui.batch import Batch
from tapehead.tui.blocks import MAX_TOKENS, BlockBuilder, blocks

from tui_helpers import C



def teacher_trace(text: str):
    from tapehead.agent.loops.loop import run_episode
    from tapehead.agent.tasks import get_task

    traj = run_episode(get_task("addition").teacher(C), C, text, task="addition")
    return traj.tokens, [k.value for k in C.kinds(traj.tokens, traj.prompt_len)]


TOKENS, KINDS = teacher_trace("9876543+12345=")
CODING = parse_markup(C, "[CALL]run python main.py[/CALL][OBS][exit 1]\nNameError: nam\n[/OBS]"
                         "[CALL]replace_text {}[/CALL][OBS]error: bad[/OBS][ANS]done[EOS]")


def coding_kinds():
    tokens = C.prompt("fix it") + CODING
    return tokens, [k.value for k in C.kinds(tokens, len(C.prompt("fix it")))]


def test_the_addition_trace_reads_as_steps():
    bs = blocks(C.symbols, TOKENS, KINDS)
    assert [t for b in bs for t in b.tokens] == list(TOKENS)  # nothing lost, nothing repeated, in order
    assert bs[0].label == "input" and bs[0].end == len(C.prompt("9876543+12345="))
    assert bs[-1].label == "end" and bs[-1].tokens == [C.EOS]
    for b in bs[1:-1]:
        assert len(b.tokens) <= MAX_TOKENS
        written = [k for k in b.kinds if k in ("thought", "ans", "output")]
        assert b.label == ("answer" if {"ans", "output"} & set(written) else "think" if written else "tape")
        # a step is moves and reads, then what was written: no command after a written token
        first_written = next((i for i, k in enumerate(b.kinds) if k in ("thought", "ans", "output")), None)
        if first_written is not None:
            assert "command" not in b.kinds[first_written:]
    assert sum(b.label == "think" for b in bs) >= 7  # one per digit position (7 digits)


def test_calls_and_observations_are_blocks_of_their_own():
    tokens, kinds = coding_kinds()
    bs = blocks(C.symbols, tokens, kinds)
    assert [b.label for b in bs] == ["input", "call", "obs", "call", "obs", "answer", "end"]
    assert C.vocab.decode_text(bs[2].tokens) == "[OBS][exit 1]\nNameError: nam\n[/OBS]"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=80), st.booleans())
def test_any_split_of_the_stream_gives_the_same_blocks(cuts, coding):
    tokens, kinds = coding_kinds() if coding else (TOKENS, KINDS)
    whole = [(b.label, b.start, b.tokens) for b in blocks(C.symbols, tokens, kinds)]
    builder, i = BlockBuilder(C.symbols), 0
    for n in cuts + [len(tokens)]:
        builder.feed(i, tokens[i:i + n], kinds[i:i + n])
        i = min(len(tokens), i + n)
        if i == len(tokens):
            break
    builder.finish()
    assert [(b.label, b.start, b.tokens) for b in builder.closed] == whole


def test_a_gap_in_the_stream_is_refused():
    b = BlockBuilder(C.symbols)
    b.feed(0, TOKENS[:5], KINDS[:5])
    with pytest.raises(ValueError):
        b.feed(6, TOKENS[6:9], KINDS[6:9])


def test_the_batch_coalesces_between_two_drains():
    batch = Batch()
    t = "t"
    batch.add(ev.RunStarted(t, "addition", "1+2", "teacher"))
    batch.add(ev.Tokens(t, 0, [1, 2], ["input", "input"]))
    batch.add(ev.TapeSnapshot(t, {"length": 1}))
    batch.add(ev.Stats(t, 2, 2, 10.0, 0, 1, 0, 0, 0.1))
    batch.add(ev.Tokens(t, 2, [3], ["thought"]))
    batch.add(ev.ToolCall(t, "run", "exec", {"command": "x"}, 2, True))
    batch.add(ev.TapeSnapshot(t, {"length": 2}))
    batch.add(ev.MemorySnapshot(t, "find", {"n": 1}))
    batch.add(ev.Stats(t, 3, 1, 20.0, 0, 2, 0, 0, 0.2))
    batch.add(ev.ToolResult(t, "run", "ok", True, True, 0.01))
    u = batch.drain()
    assert (u.start, u.tokens, u.kinds) == (0, [1, 2, 3], ["input", "input", "thought"])
    assert u.tape == {"length": 2} and u.stats.steps == 2 and u.memory == {"find": {"n": 1}}
    assert [e.type for e in u.events] == ["RunStarted", "ToolCall", "ToolResult"]
    assert not batch.drain()  # drained
    with pytest.raises(ValueError):  # tokens must be contiguous within a batch
        batch.add(ev.Tokens(t, 3, [4], ["thought"]))
        batch.add(ev.Tokens(t, 9, [5], ["thought"]))


def test_the_batch_is_safe_across_threads():
    batch, n, got = Batch(), 2000, []

    def worker():
        for i in range(n):
            batch.add(ev.Tokens("t", i, [i % 200], ["thought"]))

    th = threading.Thread(target=worker)
    th.start()
    while th.is_alive() or len(got) < n:
        u = batch.drain()
        if u.tokens:
            assert u.start == len(got)
            got.extend(u.tokens)
        if not th.is_alive() and not u:
            break
    th.join()
    assert got == [i % 200 for i in range(n)]
