"""The local grader: a prediction's patch applied to a fresh copy of its instance, checked in the sandbox.

Convention (SWE-bench's harness, without Docker): for each instance, its repository is written to a
fresh temporary directory, the untrusted ``model_patch`` is applied there by ``evals/coding/patch.py``
(refused with a reason when unsafe or not applying), the functions it changed are read *before*
anything runs (nothing the sandbox could have written is read back on the host), and the checks run
in ``tapehead.tools.sandbox`` on a workspace made from that directory:

- ``check``: every FAIL_TO_PASS and PASS_TO_PASS command exits 0 (timeouts and kills fail);
- ``hidden``: the stdout of the first FAIL_TO_PASS command (stderr discarded) equals
  ``expected_stdout`` byte for byte (None when the instance has no hidden check);
- ``minimal``: the set of functions the patch changed equals ``necessary`` (None when unknown);
- ``resolved``: applied, check passed, and the hidden check passed where there is one.

A missing, empty, malformed or non-applying prediction is a row with its ``reason``; an instance
without a prediction is reported as such. Nothing here raises for a bad prediction.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from tapehead.tools.sandbox.sandbox import Limits, Sandbox
from tapehead.tools.workspace.workspace import Workspace
from . import task_api
from .patch import apply_patch
from .record import BenchInstance
from .repo_files import RepoRefused, read_tree, texts, write_files

HIDDEN_PREFIX = "exec 2>/dev/null\n"  # the hidden check compares stdout alone


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """``path::qualname`` of the Python functions that differ (the code-fix tasks' own rule)."""
    return sorted(task_api.changed_functions(texts(before), texts(after)))


def grade_one(inst: BenchInstance, patch, *, limits: Limits | None = None, scratch_parent: str | None = None) -> dict:
    """One instance and one patch: the report row (see the module docstring)."""
    t0 = time.perf_counter()
    row = {"instance_id": inst.instance_id, "applied": False, "check": False, "hidden": None, "minimal": None,
           "resolved": False, "reason": "", "changed": None, "check_runs": 0, "sandbox_seconds": 0.0}
    tmp = tempfile.mkdtemp(prefix="tapehead-grade-", dir=scratch_parent)
    try:
        repo = os.path.join(tmp, "repo")
        write_files(inst.files, repo, inst.executable)
        applied = apply_patch(repo, patch, scratch=os.path.join(tmp, "apply"))
        if not applied.ok:
            row["reason"] = applied.reason
            return row
        row["applied"] = True
        try:
            after, _ = read_tree(repo)
        except RepoRefused as e:  # apply_patch checked this already; a second look costs nothing
            row["reason"] = f"refused after applying: {e}"
            return row
        row["changed"] = changed(inst.files, after)
        if inst.necessary is not None:
            row["minimal"] = set(row["changed"]) == set(inst.necessary)
        row.update(run_checks(inst, repo, limits=limits, scratch_parent=tmp))
        row["resolved"] = row["check"] and row["hidden"] is not False
        if not row["resolved"] and not row["reason"]:
            row["reason"] = "hidden check: the output differs from the reference's"
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        row["seconds"] = round(time.perf_counter() - t0, 3)


def run_checks(inst: BenchInstance, repo: str, *, limits: Limits | None = None, scratch_parent: str | None = None) -> dict:
    """Run the instance's checks on the files in ``repo`` (a scratch copy is made; ``repo`` is left alone)."""
    expected = inst.expected_stdout
    base = limits or Limits()
    # the hidden check compares whole outputs: keep all of an output as long as the expected one
    room = max(base.head_bytes, 2 * len(expected.encode("utf-8")) + 1024) if expected is not None else base.head_bytes
    lim = replace(base, timeout_s=inst.timeout_s, max_timeout_s=max(base.max_timeout_s, inst.timeout_s), head_bytes=room)
    out = {"check": True, "hidden": None, "reason": "", "check_runs": 0, "sandbox_seconds": 0.0, "outputs": []}
    ws = Workspace.create(repo, scratch_parent=scratch_parent)
    try:
        box = Sandbox(ws, lim)
        for cmd in (*inst.fail_to_pass, *inst.pass_to_pass):
            r = box.run(["/bin/sh", "-c", cmd])
            out["check_runs"] += 1
            out["sandbox_seconds"] += r.wall_s
            if r.returncode != 0 or r.timed_out:
                out["check"] = False
                out["reason"] = out["reason"] or f"`{cmd}`: {r.outcome}"
                out["outputs"].append({"command": cmd, "outcome": r.outcome, "tail": _tail(r)})
        if expected is not None:
            r = box.run(["/bin/sh", "-c", HIDDEN_PREFIX + inst.check])
            out["check_runs"] += 1
            out["sandbox_seconds"] += r.wall_s
            got = r.head + r.tail if not r.cut_bytes else None
            out["hidden"] = got is not None and r.returncode == 0 and got == expected.encode("utf-8")
    finally:
        ws.discard()
    out["sandbox_seconds"] = round(out["sandbox_seconds"], 3)
    return out


def _tail(r, n: int = 600) -> str:
    text = (r.head + r.tail).decode("utf-8", "replace")
    return text[-n:]


def grade(instances: list[BenchInstance], predictions: list[dict], problems: list[dict] | None = None, *,
          workers: int = 1, limits: Limits | None = None, on_row=None) -> dict:
    """The whole report: one row per instance (graded, or why not), the problem lines, the counts."""
    by_id = {i.instance_id: i for i in instances}
    problems = list(problems or [])
    todo = []
    for p in predictions:
        inst = by_id.get(p["instance_id"])
        if inst is None:
            problems.append({"line": p.get("line"), "instance_id": p["instance_id"], "reason": "unknown instance_id"})
        else:
            todo.append((inst, p))
    predicted = {inst.instance_id for inst, _ in todo}
    rows: dict[str, dict] = {}

    def one(item):
        inst, p = item
        row = grade_one(inst, p.get("model_patch"), limits=limits)
        row["model_name_or_path"] = p.get("model_name_or_path")
        if on_row is not None:
            on_row(row)
        return row

    with ThreadPoolExecutor(max(1, workers)) as pool:  # the sandbox runs are child processes: threads suffice
        for row in pool.map(one, todo):
            rows[row["instance_id"]] = row
    for inst in instances:
        if inst.instance_id not in predicted:
            rows[inst.instance_id] = {"instance_id": inst.instance_id, "applied": False, "check": False, "hidden": None,
                                      "minimal": None, "resolved": False, "reason": "no prediction"}
    ordered = [rows[i.instance_id] for i in instances]
    n = len(instances)
    count = lambda key: sum(1 for r in ordered if r.get(key) is True)  # noqa: E731
    summary = {"instances": n, "predictions": len(todo), "problems": len(problems), "applied": count("applied"),
               "check": count("check"), "hidden": count("hidden"), "minimal": count("minimal"),
               "resolved": count("resolved"), "resolved_rate": round(count("resolved") / n, 4) if n else 0.0,
               "resolved_ids": [r["instance_id"] for r in ordered if r["resolved"]],
               "unresolved_ids": [r["instance_id"] for r in ordered if not r["resolved"]]}
    return {"summary": summary, "instances": ordered, "problems": problems}
