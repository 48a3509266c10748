"""``tapehead train`` as a user runs it: Ctrl-C (a real SIGINT to a real subprocess, after its first
checkpointable step) leaves a checkpoint that ``--resume`` continues exactly, an existing run
directory is refused in one line, and ``--out/metrics.jsonl`` holds a row per step."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

TINY = ["train", "addition", "--steps", "12", "--batch", "8", "--arch", "gru", "--d-model", "32", "--layers", "1",
        "--log-every", "1", "--checkpoint-every", "1000", "--val-every", "0", "--seed", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def tapehead(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tapehead", *args], capture_output=True, text=True, timeout=300,
                          env=ENV, **kw)


def rows(out) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def weights(out) -> dict:
    from safetensors.torch import load_file

    return load_file(out / "last.safetensors")


@pytest.mark.slow  # three training subprocesses, ~30 s on 2 cores
def test_ctrl_c_checkpoints_and_resume_continues_exactly(tmp_path):
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    assert tapehead(*TINY, "--out", str(straight)).returncode == 0

    p = subprocess.Popen([sys.executable, "-m", "tapehead", *TINY, "--out", str(cut)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 240
    while not ((cut / "metrics.jsonl").exists() and (cut / "metrics.jsonl").read_text().strip()):
        assert p.poll() is None and time.monotonic() < deadline, "the run ended before its first step was logged"
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)  # after the first step: Ctrl-C
    out, err = p.communicate(timeout=240)
    assert p.returncode == 130, err
    state = json.loads((cut / "last.train.json").read_text())
    k = state["step"]
    assert 1 <= k < 12 and f"interrupted at step {k} of 12" in err and "--resume" in err and "Traceback" not in err
    assert [r["step"] for r in rows(cut)] == list(range(1, k + 1))

    r = tapehead(*TINY, "--out", str(cut), "--resume")
    assert r.returncode == 0, r.stderr
    a, b = weights(straight), weights(cut)
    assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)  # bit-identical to the straight run
    assert rows(cut)[-1]["step"] == 12 and [x["step"] for x in rows(cut)] == list(range(1, 13))
    for x, y in zip(rows(straight), rows(cut)):  # the same losses and learning rates, step by step
        assert (x["step"], x["loss"], x["lr"]) == (y["step"], y["loss"], y["lr"])
    last = rows(cut)[-1]
    assert {"loss", "lr", "tokens_per_s", "grad_norm", "val_loss", "val_acc"} <= set(last)  # validated at the end


def test_an_existing_run_directory_is_refused_in_one_line(tmp_path, capsys):
    from tapehead.agent.cli.main import main

    out = tmp_path / "run"
    assert main([*TINY, "--steps", "2", "--out", str(out)]) == 0
    digest = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()}
    capsys.readouterr()
    assert main([*TINY, "--out", str(out)]) == 2
    cap = capsys.readouterr()
    err = cap.err
    assert "Traceback" not in err and "training gru" not in cap.out  # refused before anything was built
    msg = " ".join(err.split())
    assert f"error: {out} already holds a training run at step 2: --resume continues it, --overwrite starts over" in msg
    assert {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()} == digest
    assert main([*TINY, "--steps", "3", "--out", str(out), "--overwrite"]) == 0
    assert [x["step"] for x in rows(out)] == [1, 2, 3] and json.loads((out / "last.train.json").read_text())["step"] == 3

