"""Training data sources: batches cut to their longest trace, pure in (step, rank), task mixtures."""

import numpy as np
import pytest

pytest.importorskip("torch")

from tapehead.agent import models  # noqa: E402
from tapehead.agent.tasks import get_task  # noqa: E402
from tapehead.evals.data import PAD_TO, MixtureSource, TraceSource  # noqa: E402
from tapehead.evals.training import mixture_parts, seq_len_for  # noqa: E402

C = models.codec()


def _lengths(ids: np.ndarray) -> list[int]:
    """Each row's trace length: up to and including its [EOS]."""
    return [int(np.nonzero(row == C.EOS)[0][0]) + 1 for row in ids]


def test_batch_is_as_wide_as_its_longest_trace_rounded_to_the_chunk():
    src = TraceSource("mult1", 10, 16, seq_len_for("mult1", 10), seed=3)
    (ids, mask), = src.arrays(0)
    longest = max(_lengths(ids))
    assert ids.shape == mask.shape and ids.shape[0] == 16
    assert ids.shape[1] == -(-longest // PAD_TO) * PAD_TO < src.seq_len  # far below the worst-case bound
    assert (ids[:, longest:] == C.PAD).all() and not mask[:, longest:].any()


def test_batches_are_a_pure_function_of_step_and_rank():
    src = TraceSource("addition", 5, 8, 320, seed=1)
    (a,), (b,) = src.arrays(7, rank=1, world_size=2), src.arrays(7, rank=1, world_size=2)
    assert a[0].shape[0] == 4 and (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert not np.array_equal(src.arrays(8, rank=1, world_size=2)[0][0][:, :8], a[0][:, :8])


def test_a_trace_longer_than_seq_len_is_an_error_that_says_what_to_do():
    with pytest.raises(ValueError, match="raise --seq-len"):
        TraceSource("mult1", 10, 4, 64).arrays(0)


def test_mixture_draws_every_task_by_weight_and_is_deterministic():
    parts = [("addition", 5, 1.0), ("mult1", 10, 1.0), ("logical-graph", 10, 2.0)]
    src = MixtureSource(parts, 64, max(seq_len_for(t, m) for t, m, _ in parts), seed=0)
    (ids, mask), = src.arrays(0)
    # each row's input (after [BOS], up to its first special token): a program, a*b= or a+b=
    inputs = [bytes(int(t) for t in row[1:][: int(np.argmax(row[1:] >= 256))]).decode() for row in ids]
    kinds = {"logical-graph": sum(i.startswith("v") for i in inputs),
             "mult1": sum(i.count("*") == 1 and i.endswith("=") for i in inputs),
             "addition": sum(i.count("+") == 1 and i.endswith("=") for i in inputs)}
    assert sum(kinds.values()) == 64 and min(kinds.values()) >= 6  # all three drawn
    assert kinds["logical-graph"] > kinds["addition"]  # weight 2 against 1 (64 rows: a safe margin here)
    (again,) = src.arrays(0)
    assert (again[0] == ids).all() and (again[1] == mask).all()
    assert src.describe()["mixture"] == [list(p) for p in parts]


def test_mixture_parts_from_a_plus_separated_name():
    assert mixture_parts("addition+mult2") == [("addition", 5, 1.0), ("mult2", get_task("mult2").train_size, 1.0)]
    assert mixture_parts("mult1") == [("mult1", 10, 1.0)]
    with pytest.raises(ValueError, match="positive weights"):
        MixtureSource([("addition", 5, 0.0)], 4, 320)
    with pytest.raises(KeyError, match="unknown task"):
        mixture_parts("addition+nope")


def test_micro_batches_hold_the_same_rows_with_less_padding():
    whole = TraceSource("hanoi-recursive", 5, 16, seq_len_for("hanoi-recursive", 5), seed=2)
    micro = TraceSource("hanoi-recursive", 5, 16, whole.seq_len, seed=2, micro_tokens=8192)
    (ids, mask), = whole.arrays(3)
    parts = micro.arrays(3)
    assert len(parts) > 1 and sum(p[0].shape[0] for p in parts) == 16
    rows = lambda i: sorted(tuple(r[r != C.PAD]) for r in i)  # noqa: E731
    assert sorted(r for p in parts for r in rows(p[0])) == rows(ids)
    assert sum(int(p[1].sum()) for p in parts) == int(mask.sum())  # the same targets
    for i, m in parts:
        assert i.shape[0] == 1 or i.size <= 8192
        assert i.shape[1] == -(-max(_lengths(i)) // PAD_TO) * PAD_TO
    assert sum(p[0].size for p in parts) < ids.size


@pytest.mark.slow
def test_train_policy_with_worker_processes_and_a_mixture(tmp_path):
    """The path the GPU study takes: traces built by worker processes (``Prefetched``), a mixture,
    micro-batches, a shipped bf16 copy whose recipe names the mixture."""
    from tapehead.evals.training import train_policy

    cfg = dict(arch="mamba2", d_model=32, n_layer=1, d_state=8, headdim=8, chunk_size=16)
    summary = train_policy("addition+mult1", cfg, out_dir=str(tmp_path / "run"), steps=2, batch=4, seq_len=None,
                           workers=2, checkpoint_every=0, val_every=0, micro_tokens=2048,
                           ship=str(tmp_path / "policy"), log=lambda *a, **k: None)
    assert summary["step"] == 2 and summary["target_tokens_seen"] > 0
    _, meta = models.load(str(tmp_path / "policy"))
    assert meta["recipe"]["task"] == "addition+mult1" and meta["recipe"]["micro_tokens"] == 2048
    assert meta["recipe"]["mixture"] == [["addition", 5, 1.0], ["mult1", 10, 1.0]]
