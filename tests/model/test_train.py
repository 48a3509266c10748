"""Training loop (model/training/train.py): it learns a small masked sequence task, resumes exactly, and
trains identically on every rank under DDP (2 CPU processes, gloo).

The task: ``[BOS] d1 d2 d3 [ANS] d3 d2 d1 [EOS]`` (reverse three digits); the prompt and ``[ANS]``
are masked, the reversed digits and ``[EOS]`` are targets. Kept tiny: the CI machine has 2 cores.
"""

from __future__ import annotations

import importlib.util
import math
import os
import socket

import pytest
import torch

from tapehead.model.checkpoint import CheckpointError
from tapehead.model.config import ModelConfig
from tapehead.model.factory import build_model
from tapehead.model.training.train import Batch, DataSource, TrainConfig, evaluate, lr_at, masked_nll, param_groups, train
from tapehead.model.vocab import DEFAULT_VOCAB as VOCAB

HAS_MAMBA2 = importlib.util.find_spec("tapehead.model.networks.mamba2_lm") is not None


class ReverseDigits:
    """Deterministic in (step, rank, world): global batch index ``step * world + rank``."""

    def __init__(self, n_digits: int = 3, batch_size: int = 32, seed: int = 0):
        self.n, self.bs, self.seed = n_digits, batch_size, seed

    def describe(self) -> dict:
        return {"task": "reverse digits", "n_digits": self.n, "batch_size": self.bs, "seed": self.seed}

    def batch(self, step: int, rank: int, world_size: int) -> Batch:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step * world_size + rank)
        digits = torch.randint(ord("0"), ord("9") + 1, (self.bs, self.n), generator=g)  # [B, n]

        def col(name):
            return torch.full((self.bs, 1), VOCAB.id(name), dtype=torch.long)  # [B, 1]

        ids = torch.cat([col("[BOS]"), digits, col("[ANS]"), digits.flip(1), col("[EOS]")], dim=1)  # [B, 2n+3]
        mask = torch.zeros_like(ids, dtype=torch.bool)
        mask[:, self.n + 2 :] = True  # reversed digits and [EOS]
        return Batch(ids, mask)


class Concat:
    """One process seeing what ``world`` DDP ranks see: the ranks' batches stacked."""

    def __init__(self, data: DataSource, world: int):
        self.data, self.world = data, world

    def batch(self, step, rank, world_size):
        parts = [self.data.batch(step, r, self.world) for r in range(self.world)]
        return Batch(torch.cat([p.input_ids for p in parts]), torch.cat([p.loss_mask for p in parts]))


def tiny(arch: str = "gru", seed: int = 0, **kw):
    torch.manual_seed(seed)
    cfg = dict(arch=arch, vocab_size=VOCAB.size, d_model=64, n_layer=1, d_state=16, headdim=16, chunk_size=16)
    cfg.update(kw)
    return build_model(ModelConfig(**cfg))


def quiet(**kw) -> TrainConfig:
    base = dict(steps=12, lr=1e-2, warmup_steps=3, weight_decay=0.1, log_every=0, progress=False)
    base.update(kw)
    return TrainConfig(**base)


# --- pieces --------------------------------------------------------------------------------------


def test_data_source_protocol_and_determinism():
    data = ReverseDigits()
    assert isinstance(data, DataSource)
    a, b = data.batch(3, 1, 2), data.batch(3, 1, 2)
    assert torch.equal(a.input_ids, b.input_ids)
    assert not torch.equal(a.input_ids, data.batch(3, 0, 2).input_ids)
    assert VOCAB.decode_text(a.input_ids[0].tolist()).startswith("[BOS]")


def test_lr_schedule_warmup_then_cosine():
    cfg = TrainConfig(steps=110, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(109, cfg) == pytest.approx(0.1)
    mid = lr_at(10 + 99 // 2, cfg)
    assert 0.5 < mid < 0.6
    lrs = [lr_at(s, cfg) for s in range(10, 110)]
    assert all(x >= y for x, y in zip(lrs, lrs[1:]))


@pytest.mark.parametrize("arch", ["gru"] + (["mamba2"] if HAS_MAMBA2 else []))
def test_param_groups_follow_mamba_ssm_convention(arch):
    model = tiny(arch, d_model=32)
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 and not getattr(p, "_no_weight_decay", False) for p in decay["params"])
    no = {names[id(p)] for p in no_decay["params"]}
    for n in no:
        p = model.get_parameter(n)
        assert p.dim() == 1 or getattr(p, "_no_weight_decay", False), n
    ids = [id(p) for g in (decay, no_decay) for p in g["params"]]
    assert len(ids) == len(set(ids)) == len({id(p) for p in model.parameters()})  # tied counted once
    if arch == "mamba2":
        assert any(n.endswith("A_log") for n in no) and any(n.endswith(".D") for n in no)


def test_masked_nll_matches_manual_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)  # [B, T, V]
    ids = torch.randint(0, 7, (2, 5))
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 0, 1, 0]], dtype=torch.bool)
    nll, n, correct = masked_nll(logits, ids, mask)
    want, hits = [], 0
    for b in range(2):
        for t in range(1, 5):
            if mask[b, t]:
                want.append(torch.nn.functional.cross_entropy(logits[b, t - 1], ids[b, t]))
                hits += int(logits[b, t - 1].argmax() == ids[b, t])
    assert n.item() == len(want) == 5
    assert nll.item() == pytest.approx(torch.stack(want).sum().item(), rel=1e-6)
    assert correct.item() == hits


def test_bad_batch_is_refused_clearly():
    class Bad:
        def batch(self, step, rank, world):
            return Batch(torch.zeros(2, 4, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool))

    with pytest.raises(ValueError, match="loss_mask"):
        train(tiny(), Bad(), quiet(steps=1), vocab_json=VOCAB.to_json())


# --- learning --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch,steps,min_factor,min_acc",
    [("gru", 600, 4.0, 0.6)] + ([("mamba2", 150, 10.0, 0.9)] if HAS_MAMBA2 else []),
)
def test_learns_masked_reversal(arch, steps, min_factor, min_acc):
    """Loss at init is about ln(V) = 5.6; GRU reaches ~0.5 (11x) and Mamba-2 ~0.0005 here: the
    thresholds (4x, 10x) leave a wide margin."""
    model, val = tiny(arch), ReverseDigits(seed=99)
    before = evaluate(model, val, 4)
    seen = []
    summary = train(
        model,
        ReverseDigits(),
        quiet(steps=steps, warmup_steps=10, weight_decay=0.0, log_every=50),
        val_data=val,
        vocab_json=VOCAB.to_json(),
        callbacks=[lambda event, info: seen.append(event)],
    )
    after = summary["val"]
    assert before["loss"] / after["loss"] >= min_factor, (before, after)
    assert after["acc"] >= min_acc
    assert summary["final_loss"] < before["loss"] / min_factor
    assert summary["step"] == steps and summary["stopped"] == "completed"
    assert summary["tokens_seen"] == steps * 32 * 9
    assert summary["target_tokens_seen"] == steps * 32 * 4
    assert summary["tokens_per_s"] > 0 and summary["train_seconds"] <= summary["seconds"]
    assert seen.count("log") == steps // 50 and seen.count("val") == 1 and seen[-1] == "end"


# --- checkpoints and exact resume ----------------------------------------------------------------


class Split:
    """The same rows as ``data``, as micro-batches of ``sizes`` rows, the last two padded wider."""

    def __init__(self, data: DataSource, sizes: list[int]):
        self.data, self.sizes = data, sizes

    def batch(self, step, rank, world_size):
        b, parts, at = self.data.batch(step, rank, world_size), [], 0
        for k, n in enumerate(self.sizes):
            ids, mask = b.input_ids[at:at + n], b.loss_mask[at:at + n]
            if k >= len(self.sizes) - 2:  # padding (masked) must change nothing
                pad = torch.full((n, 5), VOCAB.id("[PAD]"), dtype=torch.long)
                ids, mask = torch.cat([ids, pad], 1), torch.cat([mask, torch.zeros_like(pad, dtype=torch.bool)], 1)
            parts.append(Batch(ids, mask))
            at += n
        return parts


def test_micro_batches_train_like_the_whole_batch():
    """Accumulated micro-batches (different widths, uneven rows) give the whole batch's steps."""
    whole, micro = tiny("gru"), tiny("gru")
    s1 = train(whole, ReverseDigits(), quiet(steps=6), vocab_json=VOCAB.to_json())
    s2 = train(micro, Split(ReverseDigits(), [5, 11, 16]), quiet(steps=6), vocab_json=VOCAB.to_json())
    for (n, a), (_, b) in zip(whole.state_dict().items(), micro.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), n
    assert s2["final_loss"] == pytest.approx(s1["final_loss"], rel=1e-4)
    assert s2["target_tokens_seen"] == s1["target_tokens_seen"]
    assert s2["tokens_seen"] == s1["tokens_seen"] + 6 * (11 + 16) * 5  # the padding is counted, not trained


def test_exact_resume_is_bit_identical(tmp_path):
    data, val = ReverseDigits(), ReverseDigits(seed=5)
    cfg = dict(steps=12, checkpoint_every=4, val_every=6, val_batches=1)

    straight = tiny(seed=0)
    s1 = train(straight, data, quiet(out_dir=str(tmp_path / "a"), **cfg), val_data=val, vocab_json=VOCAB.to_json())

    first = tiny(seed=0)
    vj = VOCAB.to_json()
    s2 = train(first, data, quiet(out_dir=str(tmp_path / "b"), stop_at=5, **cfg), val_data=val, vocab_json=vj)
    assert s2["step"] == 5 and s2["stopped"] == "stop_at"
    assert (tmp_path / "b" / "last.train.safetensors").exists()

    resumed = tiny(seed=123)  # other initial weights: they must come from the checkpoint
    s3 = train(resumed, data, quiet(out_dir=str(tmp_path / "b"), resume=True, **cfg), val_data=val, vocab_json=vj)
    assert s3["resumed_from"] == 5 and s3["step"] == 12
    assert s3["tokens_seen"] == s1["tokens_seen"] and s3["target_tokens_seen"] == s1["target_tokens_seen"]
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert s3["val"]["loss"] == s1["val"]["loss"]

    # the checkpoint written at the end is a plain policy checkpoint with the training recipe
    from tapehead.model.checkpoint import load_checkpoint

    loaded, meta = load_checkpoint(tmp_path / "b" / "last", expected_vocab=VOCAB.to_json())
    assert meta["metrics"]["step"] == 12 and meta["recipe"]["data"]["task"] == "reverse digits"
    assert meta["recipe"]["train_config"]["steps"] == 12
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, b[k])

    # resuming a finished run does nothing
    s4 = train(tiny(seed=7), data, quiet(out_dir=str(tmp_path / "b"), resume=True, **cfg), vocab_json=VOCAB.to_json())
    assert s4["step"] == 12 and s4["tokens_seen"] == s1["tokens_seen"]


def test_resume_refuses_state_of_other_weights(tmp_path):
    out = str(tmp_path / "run")
    train(tiny(), ReverseDigits(), quiet(steps=2, out_dir=out), vocab_json=VOCAB.to_json())
    from tapehead.model.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "run" / "last", tiny(seed=3), vocab_json=VOCAB.to_json())  # weights replaced
    with pytest.raises(CheckpointError, match="other weights"):
        train(tiny(), ReverseDigits(), quiet(steps=4, out_dir=out, resume=True), vocab_json=VOCAB.to_json())


def test_resume_refuses_other_architecture(tmp_path):
    out = str(tmp_path / "run")
    train(tiny(), ReverseDigits(), quiet(steps=2, out_dir=out), vocab_json=VOCAB.to_json())
    with pytest.raises(CheckpointError, match="d_model"):
        train(tiny(d_model=32), ReverseDigits(), quiet(steps=4, out_dir=out, resume=True), vocab_json=VOCAB.to_json())


def test_time_limit_stops_with_a_checkpoint(tmp_path):
    cfg = quiet(steps=10_000, time_limit_s=1e-9, out_dir=str(tmp_path))
    s = train(tiny(), ReverseDigits(), cfg, vocab_json=VOCAB.to_json())
    assert s["stopped"] == "time_limit" and s["step"] == 1 and s["checkpoint"]
    assert math.isfinite(s["final_loss"])


# --- DDP -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out_dir: str):
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    model = tiny(seed=rank)  # different initial weights per rank: DDP broadcasts rank 0's
    summary = train(
        model,
        ReverseDigits(batch_size=8),
        quiet(steps=4, out_dir=out_dir, checkpoint_every=2),
        val_data=ReverseDigits(batch_size=8, seed=3),
        vocab_json=VOCAB.to_json(),
    )
    assert summary["world_size"] == world and summary["tokens_seen"] == 4 * 8 * 9 * world
    from safetensors.torch import save_file

    state = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out_dir, f"rank{rank}.safetensors"))


@pytest.mark.slow  # about 13 s: two fresh interpreters import torch
def test_ddp_two_cpu_processes_end_identical(tmp_path):
    from safetensors.torch import load_file

    world = 2
    torch.multiprocessing.spawn(_ddp_worker, args=(world, _free_port(), str(tmp_path)), nprocs=world, join=True)
    r0, r1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k
    assert (tmp_path / "last.safetensors").exists() and (tmp_path / "last.train.json").exists()

    # the token-weighted global loss: one process on both ranks' batches reaches the same weights
    single = tiny(seed=0)
    train(single, Concat(ReverseDigits(batch_size=8), world), quiet(steps=4), vocab_json=VOCAB.to_json())
    for k, v in single.state_dict().items():
        torch.testing.assert_close(v, r0[k], rtol=1e-4, atol=1e-5)


# --- Ctrl-C, the run directory, the metrics file ---------------------------------------------------


def _sigint_at(step: int, twice: bool = False):
    """A callback that sends this process a real SIGINT when step ``step`` is logged (twice: a second
    Ctrl-C after the repeat window)."""
    import signal
    import time

    from tapehead.model.training.interrupt import REPEAT_S

    def cb(event, info):
        if event == "log" and info["step"] == step:
            os.kill(os.getpid(), signal.SIGINT)
            if twice:
                time.sleep(REPEAT_S + 0.1)
                os.kill(os.getpid(), signal.SIGINT)

    return cb


def test_sigint_stops_after_the_next_step_with_a_checkpoint_that_resumes_exactly(tmp_path):
    import signal

    data, vj = ReverseDigits(), VOCAB.to_json()
    straight = tiny(seed=0)
    train(straight, data, quiet(steps=10, log_every=1), vocab_json=vj)
    handler = signal.getsignal(signal.SIGINT)
    cut = tiny(seed=0)
    s = train(cut, data, quiet(steps=10, log_every=1, out_dir=str(tmp_path)), vocab_json=vj, callbacks=[_sigint_at(3)])
    assert s["stopped"] == "interrupted" and s["step"] == 4 and s["checkpoint"]  # seen at step 4's boundary
    assert signal.getsignal(signal.SIGINT) is handler  # the loop's handler is gone with it
    import json

    assert json.loads((tmp_path / "last.train.json").read_text())["step"] == 4
    resumed = tiny(seed=9)
    s2 = train(resumed, data, quiet(steps=10, log_every=1, out_dir=str(tmp_path), resume=True), vocab_json=vj)
    assert s2["resumed_from"] == 4 and s2["step"] == 10 and s2["stopped"] == "completed"
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 11))  # one run, no step twice


def test_a_second_sigint_exits_at_once(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(tiny(), ReverseDigits(), quiet(steps=50, log_every=1, out_dir=str(tmp_path), checkpoint_every=1),
              vocab_json=VOCAB.to_json(), callbacks=[_sigint_at(2, twice=True)])
    import json

    from tapehead.model.checkpoint import load_checkpoint

    step = json.loads((tmp_path / "last.train.json").read_text())["step"]
    assert step == 1  # the checkpoints written before it are whole
    _, meta = load_checkpoint(tmp_path / "last", expected_vocab=VOCAB.to_json())
    assert meta["metrics"]["step"] == 1


def test_metrics_file_rows(tmp_path):
    import json

    seen = {"log": {}, "val": {}}
    cb = lambda event, info: seen[event].__setitem__(info["step"], info) if event in seen else None  # noqa: E731
    train(tiny(), ReverseDigits(), quiet(steps=6, log_every=2, val_every=3, val_batches=1, out_dir=str(tmp_path)),
          val_data=ReverseDigits(seed=4), vocab_json=VOCAB.to_json(), callbacks=[cb])
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3, 4, 6]
    for r in rows:
        if r["step"] in seen["log"]:
            log = seen["log"][r["step"]]
            assert (r["loss"], r["lr"], r["tokens_per_s"]) == (log["loss"], log["lr"], log["tokens_per_s"])
            assert r["tokens_seen"] == r["step"] * 32 * 9
        else:
            assert "loss" not in r
        if r["step"] in seen["val"]:
            assert (r["val_loss"], r["val_acc"]) == (seen["val"][r["step"]]["loss"], seen["val"][r["step"]]["acc"])
        else:
            assert "val_loss" not in r
    assert set(seen["val"]) == {3, 6}


def test_an_existing_run_directory_is_refused_unless_resumed_or_overwritten(tmp_path):
    from tapehead.model.checkpoint import sha256_file
    from tapehead.model.training.train_state import RunExists

    out = str(tmp_path / "run")
    train(tiny(), ReverseDigits(), quiet(steps=3, log_every=1, out_dir=out), vocab_json=VOCAB.to_json())
    before = {p.name: sha256_file(p) for p in (tmp_path / "run").iterdir()}
    with pytest.raises(RunExists, match=r"already holds a training run at step 3: --resume continues it"):
        train(tiny(), ReverseDigits(), quiet(steps=5, out_dir=out), vocab_json=VOCAB.to_json())
    assert {p.name: sha256_file(p) for p in (tmp_path / "run").iterdir()} == before  # nothing lost
    s = train(tiny(), ReverseDigits(), quiet(steps=2, log_every=1, out_dir=out, overwrite=True),
              vocab_json=VOCAB.to_json())
    assert s["resumed_from"] is None and s["step"] == 2
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count("\n") == 2


def _ddp_sigint_worker(rank: int, world: int, port: int, out_dir: str):
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    cbs = [_sigint_at(2)] if rank == 1 else []  # Ctrl-C reaches rank 1 only
    s = train(tiny(seed=rank), ReverseDigits(batch_size=8), quiet(steps=20, log_every=1, out_dir=out_dir),
              vocab_json=VOCAB.to_json(), callbacks=cbs)
    import json

    with open(os.path.join(out_dir, f"summary{rank}.json"), "w") as f:
        json.dump({"step": s["step"], "stopped": s["stopped"]}, f)


@pytest.mark.slow  # about 13 s: two fresh interpreters import torch
def test_ddp_ranks_agree_on_the_stop_step(tmp_path):
    import json

    world = 2
    torch.multiprocessing.spawn(_ddp_sigint_worker, args=(world, _free_port(), str(tmp_path)), nprocs=world, join=True)
    got = [json.loads((tmp_path / f"summary{r}.json").read_text()) for r in range(world)]
    assert got == [{"step": 3, "stopped": "interrupted"}] * world  # rank 0 never saw the signal
    assert json.loads((tmp_path / "last.train.json").read_text())["step"] == 3
