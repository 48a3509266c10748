"""The local-decision rule, checked on a teacher's traces (docs/design.md, "The local-decision rule").

A trace generalizes when every token the policy writes depends only on the last observation and a
bounded recent window. This module measures that of a teacher: it cuts each trace into segments
(a call, a thought line, the answer, each observation) and, over many instances, maps *window ->
next written segment*, where the window is everything from the ``window``-th last observation up
to the segment. Two equal windows followed by different segments are a **conflict**: the teacher
decided from something outside the window, which the policy would have to carry in its state.

Names (``v630``) are random per instance, so a window is compared up to names: each name is
replaced by its order of first appearance in the window (``N0``, ``N1``...), and a name the segment
uses that the window does not contain becomes ``?`` (it had to be remembered). The check is a
necessary condition, not a proof: zero conflicts over many instances says no decision *seen* needed
more than the window.

``python -m tapehead.evals.tasks.locality logical-graph logical-graph-local --window 2`` prints the
conflicts of each task and the first one found (the window and the two segments).
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field

NAMES = re.compile(r"v\d+")  # the logical graph's variables; a task with other names passes its own


@dataclass
class Report:
    task: str
    window: int
    segments: int = 0  # written segments checked
    windows: int = 0  # distinct windows seen
    conflicts: int = 0
    example: tuple | None = None  # (window, segment seen first, segment seen now)
    table: dict = field(default_factory=dict, repr=False)


def segments(codec, traj) -> list[tuple[str, str]]:
    """(kind, text) after the input: "obs" (one observation, delimiters included), "call" (one
    command), "write" (one line of thought, or the answer and [EOS]); specials by name."""
    from tapehead.agent.trace.codec import Kind

    toks = list(traj.tokens)
    kinds = codec.kinds(toks, traj.prompt_len)
    spell = lambda ts: "".join(codec.name(t) if t >= 256 else chr(t) for t in ts)  # noqa: E731 (bytes < 256)
    group = {Kind.OBSERVATION: "obs", Kind.COMMAND: "call"}
    runs: list[tuple[str, list[int]]] = []
    for t, k in zip(toks[traj.prompt_len:], kinds[traj.prompt_len:]):
        g = group.get(k, "write")
        if runs and runs[-1][0] == g and not (g == "call" and codec.name(t) == "[CALL]"):
            runs[-1][1].append(t)
        else:
            runs.append((g, [t]))
    out = []
    for g, ts in runs:
        text = spell(ts)
        out += [(g, ln) for ln in re.split(r"(?<=\n)", text) if ln] if g == "write" else [(g, text)]
    return out


def canonical(window: list[str], segment: str, names: re.Pattern = NAMES) -> tuple[tuple[str, ...], str]:
    seen: dict[str, str] = {}
    w = tuple(names.sub(lambda m: seen.setdefault(m.group(0), f"N{len(seen)}"), s) for s in window)
    return w, names.sub(lambda m: seen.get(m.group(0), "?"), segment)


def check(task, codec, instances, window: int = 2, names: re.Pattern = NAMES, report: Report | None = None) -> Report:
    """Runs the teacher on each instance (the real loop and the task's tools) and counts conflicts."""
    from tapehead.agent.loops.loop import run_episode

    rep = report or Report(task.name, window)
    for inst in instances:
        tr = run_episode(task.teacher(codec), codec, inst.text, task=task.name,
                         call_tools=getattr(task, "call_tools", None))
        segs = segments(codec, tr)
        obs: list[int] = []
        for i, (kind, text) in enumerate(segs):
            if kind == "obs":
                obs.append(i)
                continue
            start = obs[-window] if len(obs) >= window else 0
            key, seg = canonical([t for _, t in segs[start:i]], text, names)
            first = rep.table.setdefault(key, seg)
            rep.segments += 1
            if first != seg:
                rep.conflicts += 1
                rep.example = rep.example or (key, first, seg)
    rep.windows = len(rep.table)
    return rep


def main(argv=None) -> int:
    from tapehead.agent.models import codec
    from tapehead.agent.tasks import get_task

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tasks", nargs="+")
    p.add_argument("--window", type=int, default=2, help="observations in the window (default 2)")
    p.add_argument("--sizes", default="", help="sizes (default: the task's training size)")
    p.add_argument("--n", type=int, default=300, help="instances per size (training draws: sizes up to it)")
    args = p.parse_args(argv)
    c = codec()
    for name in args.tasks:
        task = get_task(name)
        sizes = [int(s) for s in args.sizes.split(",") if s] or [task.train_size]
        rng = random.Random(0)
        rep = check(task, c, [task.sample(s, rng, train=True) for s in sizes for _ in range(args.n)], args.window)
        print(f"{name}: {rep.conflicts} conflicts in {rep.segments:,} written segments "
              f"({rep.windows:,} distinct windows of {args.window} observations)")
        if rep.example:
            key, first, now = rep.example
            print("  window: " + " ".join(key).replace("\n", "\\n"))
            print(f"  then:   {first!r}  and elsewhere:  {now!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
