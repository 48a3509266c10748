"""``tapehead replay``: re-execute a trajectory's tool calls against fresh tools; report divergence.

Registered as a plugin of ``agent/cli/main.py`` (entry points in pyproject.toml); the replay itself
is ``agent/replay.py``.
"""

from __future__ import annotations

import json

from rich.markup import escape

from . import options
from .common import err, out


def register_replay(sub) -> None:
    p = sub.add_parser("replay", help="re-execute a trajectory's tool calls against fresh tools; report divergence")
    p.add_argument("file", type=options.existing_file,
                   help="a trajectory file (tapehead run --out, or TAPEHEAD_HOME/trajectories/ID.json)")
    options.add(p, "workspace", workspace_help="directory for the fresh workspace (default: the recorded source)")
    options.add(p, "trace", "json", trace_help="print the recorded trace, coloured", json_help="print the report as JSON")
    p.set_defaults(func=cmd_replay)


def cmd_replay(args) -> int:
    from tapehead.agent import models
    from tapehead.agent.replay import replay
    from tapehead.agent.trace.trajectory import Trajectory

    if args.trace and not args.json:
        rec = Trajectory.load(args.file)
        codec = models.codec()
        out.print(codec.legend())
        out.print(codec.render(rec.tokens, rec.prompt_len, max_tokens=4000))
    report = replay(args.file, workspace=args.workspace)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for n in report.notes:
            err.print(f"note: {n}", markup=False)
        for d in report.divergences:
            where = f" at token {d.index}" if d.index is not None else ""
            out.print("[red]diverged[/] " + escape(f"({d.what}{where}{' ' + d.tool if d.tool else ''}): "
                      f"recorded {d.recorded!r}, now {d.replayed!r}"))
        verdict = "[green]same[/]" if report.ok else f"[red]{len(report.divergences)} divergence(s)[/]"
        out.print(f"{verdict}: " + escape(f"{report.calls} calls re-executed ({report.action_calls} side-effecting); "
                  f"answer {report.replayed.answer[:60]!r}, exit {report.replayed.exit}"))
    return 0 if report.ok else 1
