"""Benchmark files and the grader: records round-trip, gold patches resolve, wrong / malformed / hostile
predictions are reported per instance (real repositories, real git, the real sandbox)."""

import json

import pytest

from tapehead.agent.cli.main import main
from tapehead.evals.coding.grader import grade, grade_one
from tapehead.evals.coding.record import BadRecord, BenchInstance, load_instances, load_predictions
from tapehead.evals.heldout.loader import load

INVOICE = load("invoice_cli")


def _patch_of(inst, edits):
    """A patch from the instance's files to the same files with ``edits`` (path -> text) over them."""
    from tapehead.evals.coding.patch import make_patch

    return make_patch(inst.files, {**inst.files, **{p: t.encode() for p, t in edits.items()}})


def test_record_round_trips_as_files_and_as_archive():
    for archive in (False, True):
        rec = INVOICE.to_json(archive=archive)
        assert rec["repo_format"] == ("tar.gz+base64" if archive else "files")
        back = BenchInstance.from_json(json.loads(json.dumps(rec)))
        assert back == INVOICE


@pytest.mark.parametrize("change, why", [
    ({"repo": {"../x.py": "x"}}, "repo refused: '..'"), ({"FAIL_TO_PASS": []}, "at least one check"),
    ({"instance_id": ""}, "instance_id"), ({"repo_format": "zip"}, "unknown repo_format"),
    ({"timeout_s": 0}, "timeout_s"), ({"repo": "AAAA", "repo_format": "tar.gz+base64"}, "gzipped tar"),
])
def test_bad_instances_name_their_line(tmp_path, change, why):
    path = tmp_path / "inst.jsonl"
    path.write_text(json.dumps(INVOICE.to_json()) + "\n" + json.dumps({**INVOICE.to_json(), "instance_id": "b", **change}) + "\n")
    with pytest.raises(BadRecord, match=f"inst.jsonl:2: .*{why}"):
        load_instances(str(path))


def test_swe_bench_json_encoded_test_lists_are_read():
    rec = {**INVOICE.to_json(), "FAIL_TO_PASS": json.dumps(["python main.py"]), "PASS_TO_PASS": "[]"}
    assert BenchInstance.from_json(rec).fail_to_pass == ("python main.py",)


def test_gold_patch_resolves_and_a_wrong_one_does_not():
    gold = grade_one(INVOICE, INVOICE.patch)
    assert gold["applied"] and gold["check"] and gold["hidden"] and gold["minimal"] and gold["resolved"], gold
    # runs, but prints the amounts in another currency: the check passes, the hidden check does not
    report = INVOICE.texts()["invoicing/report.py"].replace("currency)", '"USD")')
    wrong = grade_one(INVOICE, _patch_of(INVOICE, {"invoicing/report.py": report}))
    assert wrong["applied"] and wrong["check"] and wrong["hidden"] is False and not wrong["resolved"]
    assert wrong["minimal"] is False and wrong["changed"] == ["invoicing/report.py::Report._line"]
    assert "hidden check" in wrong["reason"]
    # applies, changes nothing that matters: the check still fails
    idle = grade_one(INVOICE, _patch_of(INVOICE, {"README.md": "notes\n"}))
    assert idle["applied"] and not idle["check"] and "exit 1" in idle["reason"] and idle["changed"] == []


def test_malformed_and_hostile_predictions_are_reported_never_raised(tmp_path):
    other = BenchInstance.from_json({**INVOICE.to_json(), "instance_id": "other"})
    third = BenchInstance.from_json({**INVOICE.to_json(), "instance_id": "third"})
    symlink = "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc\n\\ No newline at end of file\n"
    dotdot = "diff --git a/../up.py b/../up.py\nnew file mode 100644\n--- /dev/null\n+++ b/../up.py\n@@ -0,0 +1 @@\n+x\n"
    lines = [json.dumps({"instance_id": INVOICE.instance_id, "model_name_or_path": "m", "model_patch": INVOICE.patch}),
             "{not json", json.dumps(["a list"]), json.dumps({"instance_id": "nope", "model_patch": INVOICE.patch}),
             json.dumps({"instance_id": "other", "model_patch": ""}),
             json.dumps({"instance_id": INVOICE.instance_id, "model_patch": ""}),
             json.dumps({"instance_id": "third", "model_patch": symlink})]
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(lines) + "\n")
    preds, problems = load_predictions(str(path))
    assert [p["line"] for p in problems] == [2, 3, 6]
    assert "not JSON" in problems[0]["reason"] and "duplicate" in problems[2]["reason"]
    report = grade([INVOICE, other, third], preds, problems)
    rows = {r["instance_id"]: r for r in report["instances"]}
    assert rows[INVOICE.instance_id]["resolved"]
    assert rows["other"]["reason"] == "empty patch" and not rows["other"]["applied"]
    assert "symlink" in rows["third"]["reason"]
    assert any(p["instance_id"] == "nope" and p["reason"] == "unknown instance_id" for p in report["problems"])
    s = report["summary"]
    assert (s["instances"], s["resolved"], s["applied"], s["problems"]) == (3, 1, 1, 4)
    up = grade_one(INVOICE, dotdot)
    assert not up["applied"] and "invalid path '../up.py'" in up["reason"]
    missing = grade([INVOICE], [])["instances"][0]
    assert missing["reason"] == "no prediction" and not missing["resolved"]


def test_bench_make_round_trips_and_its_gold_patches_grade_resolved(tmp_path, capsys):
    inst = tmp_path / "inst.jsonl"
    assert main(["bench", "make", "code-fix", "--sizes", "4,8", "--n", "2", "--out", str(inst)]) == 0
    insts = load_instances(str(inst))
    assert [i.size for i in insts] == [4, 4, 8, 8] and len({i.instance_id for i in insts}) == 4
    assert all(i.problem_statement and i.patch.startswith("diff --git") and i.necessary for i in insts)
    assert [json.loads(line) for line in inst.read_text().splitlines()] == [i.to_json() for i in insts]
    preds = tmp_path / "gold.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": i.instance_id, "model_name_or_path": "gold",
                                         "model_patch": i.patch}) + "\n" for i in insts))
    out = tmp_path / "report.json"
    assert main(["bench", "grade", str(inst), str(preds), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["resolved"] == summary["minimal"] == summary["hidden"] == 4
    assert json.loads(out.read_text())["summary"] == summary


def test_bench_predict_with_the_teacher_writes_predictions_that_resolve(tmp_path, capsys):
    inst = tmp_path / "inst.jsonl"
    inst.write_text(json.dumps(INVOICE.to_json()) + "\n")
    preds = tmp_path / "preds.jsonl"
    assert main(["bench", "predict", str(inst), "--teacher", "--out", str(preds)]) == 0
    (pred,) = [json.loads(line) for line in preds.read_text().splitlines()]
    assert pred["instance_id"] == INVOICE.instance_id and pred["model_name_or_path"] == "teacher"
    assert grade_one(INVOICE, pred["model_patch"])["resolved"]


def test_bench_user_errors_are_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    assert main(["bench", "grade", str(bad), str(bad)]) == 2
    assert "bad.jsonl:1:notJSON" in "".join(capsys.readouterr().err.split())  # rich wraps the one line
    assert main(["bench", "grade", str(tmp_path / "missing.jsonl"), str(bad)]) == 2
    assert main(["bench", "predict", str(bad), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "no trained code-fix policy ships yet" in " ".join(capsys.readouterr().err.split())
