"""The efficiency case (issue 18): what one more token costs as a tool-use episode grows.

The paper argues that SSMs suit tool use because tools produce long contexts that a fixed-size
state digests cheaply, and measures nothing (paper-notes §7). This benchmark measures it:

    python -m tapehead.evals.bench_efficiency --device cuda --depths 1000,10000,100000,1000000 \\
        --batches 1,64 --json runs/eff.json --png runs/eff.png

For every (model, batch, depth) it brings the decoding state to ``depth`` tokens of a real episode
(the addition teacher's trace of a number long enough, the same tokens in every row) and then times
a window of ``--window`` steps *at that depth* (not the average from the start):

- ``step_ms``: the network's step alone (Mamba-2: its CUDA-graph replay on the GPU; the Transformers:
  their eager step over the KV cache), per token per row... reported per step (all rows at once);
- ``loop_ms``: the tool loop's step: the network's step, the argmax brought to the host, and every
  row's ``Episode.accept`` (the pointer tape answering reads, the token record), forced along the
  teacher's trace so that every model writes and reads exactly the same tokens (the cost of a step
  does not depend on the weights, only on the architecture and the state);
- ``state_bytes``: what the decoding state holds (``DecodingState.nbytes``): Mamba-2's conv and SSM
  states, a Transformer's KV cache (full attention: it grows with the depth; sliding window: a ring
  of ``window`` slots);
- ``peak_bytes``: the device's peak allocation during the window (CUDA), the process's resident set
  after it (CPU).

The state at ``depth`` is built by prefilling the trace in chunks (``--chunk``): exact, and cheap
for Mamba-2 (its prefill is linear). A Transformer's prefill is quadratic in the depth, so beyond
``--prefill-max`` tokens its KV cache is *filled* instead (random keys and values at the right
length and position: the cost of a step over a cache depends only on its length); every row says
which (``fill``). A configuration that does not fit (CUDA out of memory, or a CPU KV cache over
``--cpu-budget-gb``) is a row with ``oom`` set: where the Transformer runs out is part of the result.

Models: ``mamba2`` is the shipped addition policy; ``transformer`` and ``swa`` are the study's
same-budget baselines (``--baselines DIR`` holding ``transformer-s0/policy`` and ``swa-s0/policy``,
as ``tapehead eval suite paper`` writes them), or, when absent, freshly initialised networks of the
study's configurations (``tapehead.evals.suite.ARCHS``: identical cost; the row says ``weights``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

from tapehead.agent import models
from tapehead.agent.loops.episode import Episode, Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.tasks import get_task

from .runner import resolve_policy
from .suite import ARCHS

TOKENS_PER_DIGIT = 36  # the addition teacher's trace, two n-digit operands (docs/tasks.md)


def teacher_trace(min_tokens: int) -> tuple[str, list[int]]:
    """An addition problem whose teacher trace has at least ``min_tokens`` tokens, and the trace."""
    import random

    task, codec = get_task("addition"), models.codec()
    digits = max(5, min_tokens // TOKENS_PER_DIGIT + 8)
    while True:
        rng = random.Random(f"bench_efficiency/{digits}")
        a = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(digits - 1))
        b = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(digits - 1))
        text = task.parse(f"{a}+{b}")
        traj = run_episode(task.teacher(codec), codec, text, task="addition",
                           limits=Limits(max_tokens=task.max_tokens(text)))
        if len(traj.tokens) >= min_tokens:
            return text, traj.tokens
        digits = int(digits * 1.2) + 1


def load_model(name: str, device: str, baselines: str | None):
    """(model, where its weights came from)."""
    if name == "mamba2":
        path = resolve_policy(get_task("addition"), None)
        return models.load(path, device=device)[0], path
    if name not in ("transformer", "swa", "lstm", "gru"):
        raise SystemExit(f"unknown model {name!r}: mamba2, transformer, swa, lstm, gru")
    path = Path(baselines or "") / f"{name}-s0" / "policy"
    if baselines and Path(f"{path}.json").exists():
        return models.load(str(path), device=device)[0], str(path)
    cfg = models.model_config(**ARCHS[name])
    return models.build(cfg, device=device).eval(), f"fresh {name} ({ARCHS[name]})"


def fill_state(model, prefix, device: str, chunk: int, prefill_max: int, room: int):
    """A batch-1 state after ``prefix`` (prefilled in chunks; or, for a full-attention KV cache past
    ``prefill_max``, filled at the right length), and which. A full cache is left with ``room``
    free slots, so that no timed step pays for its (doubling) growth."""
    import torch

    state = model.allocate_state(1, device=device)
    arch = getattr(model.config, "arch", "")
    depth, kind = len(prefix), "prefill"
    if arch == "transformer" and depth > prefill_max:
        gen = torch.Generator(device=device).manual_seed(0)
        for i in range(len(state.k)):
            _, H, _, Dh = state.k[i].shape
            slots = state.window or depth + room
            state.k[i] = torch.randn(1, H, slots, Dh, device=device, generator=gen) * 0.1
            state.v[i] = torch.randn(1, H, slots, Dh, device=device, generator=gen) * 0.1
        state.position = depth
        kind = "filled"
    else:
        ids = torch.tensor(prefix, dtype=torch.long, device=device)[None]
        for s in range(0, depth, chunk):
            model.prefill(ids[:, s:s + chunk], state)
    if arch == "transformer" and not state.window:
        for kv in (state.k, state.v):
            for i, t in enumerate(kv):
                if t.shape[2] < depth + room:
                    grown = t.new_zeros(t.shape[0], t.shape[1], depth + room, t.shape[3])
                    grown[:, :, :t.shape[2]] = t
                    kv[i] = grown
    return state, kind


def replicate(one, state) -> None:
    """Every row of ``state`` (a decoder's, batch B) set to the batch-1 state ``one``: the rows run
    the same episode, so it is prefilled once."""
    if hasattr(one, "position"):  # a KV cache: new tensors of B rows
        B = state.k[0].shape[0] if state.k else 1
        state.k = [t.expand(B, -1, -1, -1).clone() for t in one.k]
        state.v = [t.expand(B, -1, -1, -1).clone() for t in one.v]
        state.position = one.position
        return
    for dst, src in zip(state.tensors(), one.tensors()):  # fixed-size state: in place (a CUDA graph may hold it)
        dst.copy_(src.expand_as(dst))


def kv_bytes(model, batch: int, depth: int) -> int:
    cfg = model.config
    if getattr(cfg, "arch", "") != "transformer":
        return 0
    slots = cfg.sliding_window or 2 * depth  # a full cache grows by doubling
    return batch * cfg.n_layer * 2 * slots * cfg.d_model * 4


def measure(model, name: str, source: str, text: str, trace: list[int], obs: list[bool], episode: Episode,
            depth: int, batch: int, window: int, device: str, chunk: int, prefill_max: int, cpu_budget: float,
            compile_cpu: bool = False) -> dict:
    import torch

    codec = models.codec()
    row = {"model": name, "weights": source, "device": device, "batch": batch, "depth": depth, "window": window,
           "params": model.num_parameters()}
    if device == "cpu" and kv_bytes(model, batch, depth) > cpu_budget * 2**30:
        return {**row, "oom": f"skipped: the KV cache would need {kv_bytes(model, batch, depth) / 2**30:.1f} GiB "
                              f"(> --cpu-budget-gb {cpu_budget:g})"}
    dec = models.decoder(model, batch, device=device, compile_cpu=compile_cpu)
    try:
        with torch.inference_mode():
            t0 = time.perf_counter()
            one, row["fill"] = fill_state(model, trace[:depth], device, chunk, prefill_max, room=window + 8)
            replicate(one, dec.state)
            del one
            _sync(device)
            row["fill_s"] = round(time.perf_counter() - t0, 3)
        row["state_bytes"] = dec.state.nbytes()
        # every row its own episode, positioned after the same depth tokens (resumed once, copied)
        eps = [copy.deepcopy(episode, {id(codec): codec}) for _ in range(batch)]
        feed = trace[depth:depth + window + 1]
        is_obs = obs[depth:depth + window + 1]
        # the network's step alone, then the tool loop's, each from the state at this depth: a
        # Transformer goes back by its position (the cache keeps its room), a fixed state by a copy
        saved = None if hasattr(dec.state, "position") else [t.clone() for t in dec.state.tensors()]
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        row["step_ms"] = _time_steps(dec, feed, device)
        if saved is None:
            dec.state.position = depth
        else:
            for t, v in zip(dec.state.tensors(), saved):
                t.copy_(v)
        t0 = time.perf_counter()
        for i in range(window):
            dec.step([feed[i]] * batch)  # the argmax comes back to the host: the tool loop needs it
            if not is_obs[i]:
                for ep in eps:
                    out = ep.accept(feed[i])  # [token, observation...]: tape reads answered here
                    if out[1:] and out[1] != feed[i + 1]:  # forced along the trace: check the tools agree
                        raise RuntimeError(f"the tape answered {out[1]} at {depth + i + 1}, the trace has "
                                           f"{feed[i + 1]}")
        _sync(device)
        row["loop_ms"] = round(1000 * (time.perf_counter() - t0) / window, 4)
        row["tokens_per_s"] = round(batch * 1000 / row["loop_ms"], 1)
        row["peak_bytes"] = torch.cuda.max_memory_allocated() if device == "cuda" else _rss()
    except torch.cuda.OutOfMemoryError as e:
        row["oom"] = f"CUDA out of memory: {str(e).splitlines()[0][:200]}"
    finally:
        del dec
        if device == "cuda":
            torch.cuda.empty_cache()
    return row


def observation_flags(codec, trace: list[int], prompt_len: int) -> list[bool]:
    """Per token of the trace: is it an observation (fed by a tool, not written by the policy)?"""
    from tapehead.agent.trace.codec import Kind

    reader = codec.reader()
    return [False] * prompt_len + [reader.feed(t) is Kind.OBSERVATION for t in trace[prompt_len:]]


def _time_steps(dec, feed: list[int], device: str) -> float:
    """ms per step of the network alone (no host transfer): the decoder's graph or eager step."""
    import torch

    window = len(feed) - 1
    dec.step([feed[0]] * dec.batch_size)  # captures the graph (Mamba-2, CUDA) outside the timing
    with torch.inference_mode():
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(window - 1):
            dec.graph.replay() if dec.graph is not None else dec._step_eager()
        _sync(device)
    return round(1000 * (time.perf_counter() - t0) / (window - 1), 4)


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def plot(rows: list[dict], path: str) -> None:
    from .report import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    keys = sorted({(r["model"], r["device"], r["batch"]) for r in rows})
    for model, device, batch in keys:
        pts = sorted((r["depth"], r["loop_ms"]) for r in rows if (r["model"], r["device"], r["batch"]) == (
            model, device, batch) and "loop_ms" in r)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=f"{model}, {device}, batch {batch}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("episode length so far (tokens)")
    ax.set_ylabel("ms per tool-loop step (all rows)")
    ax.set_title("What one more token costs as the episode grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.bench_efficiency",
                                description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--models", default="mamba2,transformer,swa")
    p.add_argument("--depths", default="1000,10000,100000,1000000")
    p.add_argument("--batches", default="1,64")
    p.add_argument("--window", type=int, default=256, help="timed steps at each depth")
    p.add_argument("--chunk", type=int, default=4096, help="prefill chunk (tokens)")
    p.add_argument("--prefill-max", type=int, default=None,
                   help="a Transformer's KV cache is prefilled up to this depth, filled beyond "
                        "(default 100000 on CUDA, 10000 on CPU)")
    p.add_argument("--cpu-budget-gb", type=float, default=8.0, help="largest KV cache tried on the CPU")
    p.add_argument("--baselines", default=None, help="directory with transformer-s0/policy, swa-s0/policy")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--compile", action="store_true", help="CPU: the decode step through torch.compile")
    p.add_argument("--json", default=None)
    p.add_argument("--png", default=None)
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    depths = sorted(int(x) for x in args.depths.split(","))
    batches = [int(x) for x in args.batches.split(",")]
    prefill_max = args.prefill_max if args.prefill_max is not None else (100_000 if args.device == "cuda" else 10_000)
    t0 = time.perf_counter()
    codec = models.codec()
    # one problem per depth: a problem long enough for 1M tokens has a prompt longer than the small
    # depths (an episode resumed at depth d must already hold its whole prompt)
    cases = {}
    for depth in depths:
        text, trace = teacher_trace(depth + args.window + 64)
        obs = observation_flags(codec, trace, len(codec.prompt(text)))
        # a depth never falls between a read and its observation (the resumed episode would wait for it)
        d = next(d for d in range(depth, len(trace)) if not obs[d])
        cases[d] = (text, trace, obs, Episode.resume(codec, text, trace[:d], limits=Limits(max_tokens=len(trace) + 10)))
    depths = sorted(cases)
    print(f"teacher traces: {', '.join(f'{len(c[1]):,}' for c in cases.values())} tokens, an episode at every depth "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    meta = {"command": " ".join(["python -m tapehead.evals.bench_efficiency", *(argv or sys.argv[1:])]),
            "date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "device_name": torch.cuda.get_device_name() if args.device == "cuda"
            else platform.processor() or platform.machine(), "cpus": os.cpu_count()}

    def write() -> None:  # after every row: a run cut at a device round's deadline keeps what it measured
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({**meta, "rows": rows}, indent=1))

    rows = []
    for name in args.models.split(","):
        model, source = load_model(name, args.device, args.baselines)
        for batch in batches:
            for depth in depths:
                text, trace, obs, episode = cases[depth]
                r = measure(model, name, source, text, trace, obs, episode, depth, batch, args.window,
                            args.device, args.chunk, prefill_max, args.cpu_budget_gb, args.compile)
                rows.append(r)
                write()
                if "oom" in r:
                    print(f"{name:12s} batch {batch:3d} depth {depth:>9,}  {r['oom']}", flush=True)
                else:
                    print(f"{name:12s} batch {batch:3d} depth {depth:>9,}  step {r['step_ms']:8.3f} ms  loop "
                          f"{r['loop_ms']:8.3f} ms  {r['tokens_per_s']:10,.0f} tok/s  state "
                          f"{r['state_bytes'] / 2**20:9.2f} MiB  peak {r['peak_bytes'] / 2**20:9.1f} MiB  "
                          f"({r['fill']} {r['fill_s']} s)", flush=True)
    if args.png:
        try:
            plot(rows, args.png)
        except ImportError as e:  # the GPU machine has no matplotlib: plot here from the JSON
            print(f"no plot: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
