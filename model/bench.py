"""Throughput benchmarks of the policy network, printed as a table (docs/benchmarks.md records them).

``python -m tapehead.model.bench cpu``: decode ms/token at batch 1 (eager, and through torch.compile) and
train tok/s for d_model 256 / 4 layers on the CPU (pure-PyTorch path). ``python -m tapehead.model.bench gpu``: on CUDA, our model against mamba-ssm's
``MambaLMHeadModel`` on docs/gpu.md's configurations, side by side in one run: train tok/s (batch 32 x
2048, bf16 autocast, forward + backward + AdamW), and decode tok/s at batch 1 and 64 (CUDA graphs,
greedy, the argmax fed back on the device; mamba-ssm through its own ``generate(cg=True)``).
Every row names the path that ran.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from . import kernels
from .config import ModelConfig
from .decoder import BatchDecoder
from .factory import build_model

GPU_CONFIGS = [(256, 4), (512, 8), (1024, 24)]
VOCAB = 282


def _cfg(d, n):
    return ModelConfig(vocab_size=VOCAB, d_model=d, n_layer=n, d_state=64, headdim=64, chunk_size=256)


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def train_tok_s(model, batch, seqlen, steps, device, bf16=True, logits_of=lambda o: o):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, VOCAB, (batch, seqlen), device=device)

    def one():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16 and device == "cuda"):
            logits = logits_of(model(ids))
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                                                     ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        one()
    _sync()
    t = time.perf_counter()
    for _ in range(steps):
        one()
    _sync()
    return batch * seqlen * steps / (time.perf_counter() - t)


def ours_decode_tok_s(model, batch, steps, device, graph=True, compile_cpu=False):
    dec = BatchDecoder(model, batch, VOCAB, device=device, cuda_graph=graph, compile_cpu=compile_cpu)
    dec.prefill(torch.randint(0, VOCAB, (batch, 8)))
    dec._ids.copy_(dec._out)
    if graph and device == "cuda":
        dec._capture()

    def run(n):
        for _ in range(n):
            if dec.graph is not None:
                dec.graph.replay()
            else:
                with torch.inference_mode():
                    dec._step_eager()
            dec._ids.copy_(dec._out)  # greedy: feed the argmax back, on the device

    run(10)
    _sync()
    t = time.perf_counter()
    run(steps)
    _sync()
    return batch * steps / (time.perf_counter() - t)


def theirs_decode_tok_s(model, batch, steps):
    ids = torch.randint(0, VOCAB, (batch, 8), device="cuda")
    kw = dict(max_length=8 + steps, cg=True, top_k=1, return_dict_in_generate=False)
    model.generate(ids, **kw)  # capture + warm up
    _sync()
    t = time.perf_counter()
    model.generate(ids, **kw)
    _sync()
    return batch * steps / (time.perf_counter() - t)


def gpu(args) -> list[dict]:
    if kernels.load() is None:  # installs the selective_scan_cuda placeholder (kernels.py) before importing
        raise SystemExit(f"mamba-ssm kernels unavailable: {kernels.describe()}")
    from mamba_ssm.models.config_mamba import MambaConfig
    from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel

    rows = []
    for d, n in GPU_CONFIGS:
        cfg = _cfg(d, n)
        torch.manual_seed(0)
        ours = build_model(cfg, device="cuda")
        theirs = MambaLMHeadModel(MambaConfig(**cfg.mamba_ssm_config()), device="cuda")
        theirs.load_state_dict(ours.state_dict(), strict=True)
        row = {"d_model": d, "n_layer": n, "params": ours.num_parameters(), "path": ours.kernel_path()}
        # interleaved, best of two each: the first timed model otherwise pays for the other's warm-up
        t_ours, t_theirs = [], []
        for _ in range(2):
            t_ours.append(train_tok_s(ours, 32, 2048, args.train_steps, "cuda"))
            t_theirs.append(train_tok_s(theirs, 32, 2048, args.train_steps, "cuda", logits_of=lambda o: o.logits))
        row["train_ours"], row["train_theirs"] = max(t_ours), max(t_theirs)
        ours.eval(), theirs.eval()
        for b in (1, 64):
            row[f"decode{b}_ours"] = ours_decode_tok_s(ours, b, args.decode_steps, "cuda")
            row[f"decode{b}_theirs"] = theirs_decode_tok_s(theirs, b, args.decode_steps)
        rows.append(row)
        print(json.dumps(row), flush=True)
        del ours, theirs
        torch.cuda.empty_cache()
    return rows


def cpu(args) -> list[dict]:
    torch.set_num_threads(args.threads)
    cfg = ModelConfig(vocab_size=VOCAB, d_model=256, n_layer=4, d_state=64, headdim=64, chunk_size=64)
    torch.manual_seed(0)
    m = build_model(cfg)
    row = {"d_model": 256, "n_layer": 4, "params": m.num_parameters(), "threads": torch.get_num_threads(),
           "path": m.kernel_path()}
    m.eval()
    rate = ours_decode_tok_s(m, 1, args.decode_steps, "cpu", graph=False)
    row["decode1_ms_per_token"] = 1000 / rate
    row["decode1_tok_s"] = rate
    t = time.perf_counter()
    rate = ours_decode_tok_s(m, 1, args.decode_steps, "cpu", graph=False, compile_cpu=True)
    row["compiled_decode1_ms_per_token"] = 1000 / rate
    row["compiled_decode1_tok_s"] = rate
    row["compile_and_bench_s"] = time.perf_counter() - t
    m.train()
    row["train_tok_s_16x512"] = train_tok_s(m, 16, 512, args.train_steps, "cpu", bf16=False)
    print(json.dumps(row), flush=True)
    return [row]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("where", choices=["cpu", "gpu"])
    p.add_argument("--train-steps", type=int, default=None)
    p.add_argument("--decode-steps", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="write the rows as JSON here")
    args = p.parse_args(argv)
    if args.where == "gpu":
        args.train_steps = args.train_steps or 20
        args.decode_steps = args.decode_steps or 1000
        rows = gpu(args)
    else:
        args.train_steps = args.train_steps or 3
        args.decode_steps = args.decode_steps or 500
        rows = cpu(args)
    env = {"date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "torch": torch.__version__,
           "path": kernels.describe() if args.where == "gpu" else "pytorch reference (cpu)"}
    if args.where == "gpu":
        env["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(env))
    _table(rows, args.where)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"env": env, "rows": rows}, f, indent=1)


def _table(rows, where):
    import sys

    from rich.console import Console
    from rich.table import Table

    # in a pipe or a file the table keeps its width (rich would cut it to 80 columns)
    console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)

    t = Table(title=f"model throughput ({where})")
    keys = [k for k in rows[0] if k not in ("path",)]
    for k in keys:
        t.add_column(k, justify="right")
    for r in rows:
        t.add_row(*[f"{r[k]:,.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys])
    if where == "gpu":
        for r in rows:
            for k in ("train", "decode1", "decode64"):
                r[f"{k}_ratio"] = r[f"{k}_ours"] / r[f"{k}_theirs"]
        t2 = Table(title="ours / mamba-ssm (target >= 0.9)")
        for c in ("d_model", "n_layer", "train", "decode batch 1", "decode batch 64"):
            t2.add_column(c, justify="right")
        for r in rows:
            t2.add_row(str(r["d_model"]), str(r["n_layer"]), f"{r['train_ratio']:.2f}", f"{r['decode1_ratio']:.2f}",
                       f"{r['decode64_ratio']:.2f}")
        console.print(t, t2)
    else:
        console.print(t)


if __name__ == "__main__":
    main()
