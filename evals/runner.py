"""Batch evaluation: a policy against a task's instances at several sizes, scored two ways.

Scores (paper §3.1): the *answer* (the output stream equals the right result) and the whole
*trajectory* (every token equals the teacher's trace, run through the same tools). Episodes run
batched through ``tapehead.agent.loops.batched`` (on the GPU with a CUDA-graph step, or on CPU); teacher
traces for the trajectory score are built in worker processes meanwhile.

Writes one results file (``results.json``: every instance, the summary per size, the command and
the environment), from which ``evals/report.py`` makes tables and plots; per-instance trajectories
go to ``trajectories/`` when asked.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from pathlib import Path

from tapehead.agent import models
from tapehead.agent.loops.batched import run_batched
from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.loops.snapshot import Suspend, Suspended
from tapehead.agent.policies import shipped
from tapehead.agent.policies.source import default_policy_name, default_policy_path
from tapehead.agent.tasks import get_task

def resolve_policy(task, spec: str | None, text: str | None = None) -> str:
    """The checkpoint path to use: ``spec`` (a shipped name or a path) if given, else the task's
    shipped default (``tapehead.agent.policies.shipped``), for ``text`` when the task picks one per
    input (``mult``: by the multiplier's length)."""
    if spec:
        return shipped.resolve(spec)
    if callable(getattr(task, "policy_for", None)) and text is None:
        routes = ", ".join(f"{name} for {k}-digit multipliers" for k, name in getattr(task, "routes", {}).items())
        raise ValueError(f"{task.name} picks its policy per input ({routes}): evaluate those tasks, or give --policy")
    if not default_policy_name(task, text):
        raise FileNotFoundError(f"no trained policy ships for task {task.name!r} yet: pass --policy NAME or PATH (a "
                                "checkpoint without its suffix), or --teacher to run the hard-coded teacher")
    return default_policy_path(task, text)


def _teacher_tokens(task_name: str, text: str) -> list[int]:
    task, codec = get_task(task_name), models.codec()
    return run_episode(task.teacher(codec), codec, text, task=task_name,
                       call_tools=getattr(task, "call_tools", None)).tokens


def instances_for(task, size: int, n: int, seed: int, hard: bool) -> list:
    rng = random.Random(f"eval/{task.name}/{seed}/{size}")
    insts = [task.sample(size, rng) for _ in range(n)]
    if hard:
        insts += task.hard_cases(size, rng)
    return insts


def evaluate(task_name: str, sizes: list[int], n: int, *, policy: str | None = None, device: str = "cpu",
             batch_size: int = 64, seed: int = 0, hard: bool = False, out_dir: str | None = None,
             n_large: int | None = None, large_from: int = 2000, save_trajectories: bool = False,
             cuda_graph: bool = True, teacher_workers: int = 0, max_tokens_factor: float = 1.25,
             progress: bool = True, command: str = "", compile_cpu: bool = False, tensor_loop: bool = False,
             fuse: str = "off", suspend_after: float | None = None, stop_below: float = 0.0) -> dict:
    """Returns the results dict (also written to ``out_dir/results.json`` when given). ``tensor_loop``:
    run tape-only tasks (no ``call_tools``) through ``tapehead.agent.loops.tensor`` (tape on the device, no
    host sync per token; the same trajectories); tasks with call tools still use ``run_batched``.
    ``compile_cpu``: fuse the CPU decode step of ``run_batched`` with torch.compile; ``fuse``: the
    tensor loop's ``compile`` mode (off, rules, all, all-kernels: ``tapehead.agent.loops.tensor``).
    ``suspend_after`` (tensor loop, one size, one batch): stop after that many seconds, keep the run
    in ``out_dir/snapshot.pt.gz`` and raise ``tapehead.agent.loops.snapshot.Suspended``; the same call again
    resumes it; ``out_dir/calls.json`` keeps each call's part of the run (device, steps, seconds),
    and ``results["calls"]`` has them all once it finishes. ``stop_below`` > 0: once a size scores below it on both answers and trajectories, the
    larger sizes are not run; they are listed in ``results["not_run"]`` (never reported as scores)."""
    task = get_task(task_name)
    if suspend_after is not None and not (tensor_loop and len(sizes) == 1 and out_dir):
        raise ValueError("suspending needs --tensor-loop, one size and an --out directory (where the run is kept)")
    codec = models.codec()
    path = resolve_policy(task, policy)
    label = shipped.label(policy) if policy else default_policy_name(task)  # what the results record
    model, meta = models.load(path, device=device)
    decoders: dict[int, object] = {}

    def factory(b):
        if b not in decoders:
            decoders[b] = models.decoder(model, b, device=device, cuda_graph=cuda_graph, compile_cpu=compile_cpu)
        return decoders[b]

    results = {
        "task": task_name, "policy": label, "policy_config": meta.get("model_config"),
        "policy_params": meta.get("num_parameters"),
        "device": device, "tensor_loop": tensor_loop, "compile": compile_cpu, "fuse": fuse, "kernel_path": models.kernel_path(model), "batch_size": batch_size, "seed": seed,
        "command": command or " ".join(sys.argv), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": platform.node(), "python": platform.python_version(), "instances": [], "summary": [],
        "not_run": [], "stop_below": stop_below,
    }
    if device.startswith("cuda"):
        import torch

        results["gpu"] = torch.cuda.get_device_name(0)
    pool = mp.get_context("spawn").Pool(teacher_workers) if teacher_workers > 0 else None
    out = Path(out_dir) if out_dir else None
    if out:
        (out / "trajectories").mkdir(parents=True, exist_ok=True) if save_trajectories else out.mkdir(parents=True, exist_ok=True)
    bar = _progress(progress)
    try:
        for size in sizes:
            last = results["summary"][-1] if results["summary"] else None
            if last and stop_below > 0 and max(last["answer_acc"], last["trajectory_acc"]) < stop_below:
                results["not_run"].append(size)  # a smaller size already failed: spend no GPU time here
                continue
            count = n_large if (n_large is not None and size >= large_from) else n
            insts = instances_for(task, size, count, seed, hard)
            texts = [i.text for i in insts]
            teachers = [pool.apply_async(_teacher_tokens, (task_name, t)) for t in texts] if pool else None
            # a runaway episode is cut at max_tokens_factor x the task's bound on its teacher's length
            limits = Limits(max_tokens=int(max_tokens_factor * max(task.max_tokens(t) for t in texts)) + 200)
            job = bar.add_task(f"{task_name} size {size}", total=len(texts)) if bar else None
            t0 = time.perf_counter()
            on_step = (lambda d, tot: bar.update(job, completed=d)) if bar else None
            if tensor_loop and not getattr(task, "call_tools", None):
                from tapehead.agent.loops.tensor import run_tensor_batched

                suspend = None if suspend_after is None else Suspend(str(out / "snapshot.pt.gz"), suspend_after)
                try:
                    trajs = run_tensor_batched(model, codec, texts, task=task_name, limits=limits,
                                               batch_size=batch_size, device=device, policy_name=label,
                                               on_step=on_step, cuda_graph=cuda_graph, compile=fuse, suspend=suspend)
                except Suspended as e:
                    _record_call(out, results, t0, e.steps, "suspended")
                    raise
                if suspend:
                    results["calls"] = _record_call(out, results, t0, max(t.generated for t in trajs), "finished")
            else:
                trajs = run_batched(lambda b: factory(b), codec, texts, task=task_name, limits=limits,
                                    batch_size=batch_size, policy_name=label,
                                    call_tools=getattr(task, "call_tools", None), on_step=on_step)
            wall = time.perf_counter() - t0
            rows = []
            for k, (inst, tr) in enumerate(zip(insts, trajs)):
                ref = teachers[k].get() if teachers else _teacher_tokens(task_name, inst.text)
                row = {"size": size, "kind": inst.kind, "input": inst.text, "correct": tr.answer == inst.answer,
                       "trajectory_exact": tr.tokens == ref, "exit": tr.exit, "tokens": tr.generated,
                       "teacher_tokens": len(ref) - tr.prompt_len, "seconds": tr.seconds,
                       "answer_head": tr.answer[:40]}
                if not row["trajectory_exact"]:
                    row["first_divergence"] = next((j for j, (a, b) in enumerate(zip(tr.tokens, ref)) if a != b),
                                                   min(len(tr.tokens), len(ref)))
                rows.append(row)
                if out and save_trajectories:
                    with gzip.open(out / "trajectories" / f"{size}-{k:04d}.json.gz", "wt") as f:
                        json.dump(tr.to_json(), f)
            results["instances"].extend(rows)
            results["summary"].append(_summarise(size, rows, wall))
            if out:
                _write(out / "results.json", results)
    finally:
        if bar:
            bar.stop()
        if pool:
            pool.terminate()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if out:
        _write(out / "results.json", results)
    return results


def _record_call(out: Path, results: dict, t0: float, steps: int, outcome: str) -> list[dict]:
    """A suspended run's history, one record per call (``out/calls.json``): where each part of the run
    ran, up to which lockstep step, and how long; copied into ``results["calls"]`` when it ends."""
    path = out / "calls.json"
    calls = json.loads(path.read_text()) if path.exists() else []
    calls.append({"started": results["started"], "machine": results["machine"], "device": results["device"],
                  "gpu": results.get("gpu"), "fuse": results["fuse"], "steps_done": steps,
                  "seconds": round(time.perf_counter() - t0, 3), "outcome": outcome})
    _write(path, calls)
    return calls


def _summarise(size: int, rows: list[dict], wall: float) -> dict:
    rnd = [r for r in rows if r["kind"] == "random"]
    hard = [r for r in rows if r["kind"] != "random"]
    total_tokens = sum(r["tokens"] for r in rows)
    return {
        "size": size, "n": len(rnd),
        "answer_acc": sum(r["correct"] for r in rnd) / max(1, len(rnd)),
        "trajectory_acc": sum(r["trajectory_exact"] for r in rnd) / max(1, len(rnd)),
        "hard_n": len(hard), "hard_correct": sum(r["correct"] for r in hard),
        "mean_tokens": total_tokens / max(1, len(rows)), "seconds": round(wall, 3),
        "tokens_per_s": round(total_tokens / wall, 1) if wall > 0 else None,
    }


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _progress(enabled: bool, eta: bool = False):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    more = (TextColumn("eta"), TimeRemainingColumn()) if eta else ()
    p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), *more,
                 transient=False, redirect_stdout=False)
    p.start()
    return p
