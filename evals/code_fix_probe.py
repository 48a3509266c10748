"""What a trained policy has learned of a code-fix trace, teacher-forced and free-running.

``python -m tapehead.evals.code_fix_probe --policy runs/cf/last --task code-fix-paper --sizes 4,5,6
--n 20`` prints, over fresh instances (seeded apart from training's):

- teacher-forced on the teacher's trace: next-token accuracy on the trained tokens; the share of
  calls whose every token (``[CALL]`` to ``[/CALL]``) is predicted right, in all, for the first call
  and per tool; the share of ``[EOS]`` predicted after ``PASS``;
- free-running through the real loop, the tools answering in process (``memtools.MemoryRepo``):
  the share of repositories fixed (check passes, stdout is the reference's, exactly the necessary
  functions changed) and the mean tokens written.

The full evaluation, in the sandbox and against the benchmark files, is ``tapehead eval code-fix``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics

from tapehead.agent import models
from tapehead.agent.loops.episode import Limits
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.tasks import get_task

from .tasks.code_fix import changed_functions
from .tasks.code_fix.memtools import MemoryRepo


def teacher_forced(model, task, insts, codec) -> dict:
    import torch

    right = total = 0
    calls: dict[str, list[bool]] = {}
    first, eos = [], []
    with torch.no_grad():
        for inst in insts:
            tokens, mask = task.trace(codec, inst)
            logits = model(torch.tensor([tokens]))[0, :-1]
            ok = (logits.argmax(-1) == torch.tensor(tokens[1:])).tolist()
            for i, trained in enumerate(mask[1:]):
                if trained:
                    right, total = right + ok[i], total + 1
            i, seen = 0, 0
            while i < len(tokens):  # a call is exact when [CALL] ... [/CALL] are all predicted right
                if tokens[i] == codec.CALL:
                    j = tokens.index(codec.CALL_END, i)
                    name = codec.vocab.decode_text(tokens[i + 1:j]).split(" ", 1)[0]
                    exact = all(ok[k - 1] for k in range(i, j + 1))
                    calls.setdefault(name, []).append(exact)
                    if seen == 0:
                        first.append(exact)
                    seen, i = seen + 1, j
                i += 1
            eos.append(ok[-1])
    every = [x for v in calls.values() for x in v]
    return {"token_acc": right / max(total, 1), "calls_exact": statistics.mean(every), "first_call_exact":
            statistics.mean(first), "eos_after_pass": statistics.mean(eos),
            "per_tool": {k: round(statistics.mean(v), 4) for k, v in sorted(calls.items())}}


def free_running(model, task, insts, codec) -> dict:
    fixed, written = [], []
    for inst in insts:
        repo = MemoryRepo(inst.files, inst.check)
        bound = 2 * len(task.trace(codec, inst)[0]) + 256
        traj = run_episode(models.model_policy(model), codec, inst.text, limits=Limits(max_tokens=bound),
                           call_tools=repo.call_tools())
        status, out = repo.runner.run(repo.files)
        fixed.append(traj.exit == "eos" and status == 0 and out == inst.expected_stdout
                     and changed_functions(inst.files, repo.files) == set(inst.necessary))
        written.append(traj.counts["generated"])
    return {"fixed": statistics.mean(fixed), "mean_written_tokens": statistics.mean(written)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tapehead.evals.code_fix_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", required=True, help="checkpoint path (without suffix)")
    p.add_argument("--task", default="code-fix-paper")
    p.add_argument("--sizes", default="4,5,6")
    p.add_argument("--n", type=int, default=20, help="instances per size")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    model, _ = models.load(args.policy)
    model.eval()
    codec, task = models.codec(), get_task(args.task)
    out = {"policy": args.policy, "task": args.task, "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(f"probe/{args.seed}/{size}")
        insts = [task.sample(size, rng) for _ in range(args.n)]
        row = {**teacher_forced(model, task, insts, codec), **free_running(model, task, insts, codec)}
        out["sizes"][size] = row
        print(f"size {size}: token acc {row['token_acc']:.3f}, calls exact {row['calls_exact']:.3f} "
              f"(first {row['first_call_exact']:.2f}), EOS after PASS {row['eos_after_pass']:.2f}, "
              f"fixed free-running {row['fixed']:.2f}; per tool {row['per_tool']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
