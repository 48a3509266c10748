"""`tapehead eval --tensor-loop --suspend-after`: a run spread over several calls exits 3 until it is
done, ends with the same scores as one call, and its results say where each part ran."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")


def _eval(out, *extra):
    cmd = [sys.executable, "-m", "tapehead", "eval", "addition", "--sizes", "60", "--n", "2", "--batch", "2",
           "--tensor-loop", "--json", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_suspended_evaluation_resumes_to_the_same_result_and_records_its_calls(tmp_path):
    codes = []
    for _ in range(6):
        r = _eval(tmp_path / "parts", "--suspend-after", "0")
        codes.append(r.returncode)
        assert r.returncode in (0, 3), r.stderr[-2000:]
        if r.returncode == 0:
            break
        assert "suspended after" in r.stderr and (tmp_path / "parts" / "snapshot.pt.gz").exists()
    assert codes[0] == 3 and codes[-1] == 0  # ~2,150 steps per episode: at least one suspension (1,024 per call)
    parts = json.loads((tmp_path / "parts" / "results.json").read_text())
    calls = parts["calls"]
    assert [c["outcome"] for c in calls] == ["suspended"] * (len(codes) - 1) + ["finished"]
    steps = [c["steps_done"] for c in calls]
    assert steps == sorted(steps) and steps[0] >= 1024 and all(c["device"] == "cpu" for c in calls)
    assert not (tmp_path / "parts" / "snapshot.pt.gz").exists()  # spent
    r = _eval(tmp_path / "whole")
    assert r.returncode == 0, r.stderr[-2000:]
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    strip = lambda rows: [{k: v for k, v in x.items() if k != "seconds"} for x in rows]  # noqa: E731
    assert strip(parts["instances"]) == strip(whole["instances"])
    assert parts["summary"][0]["answer_acc"] == 1.0 and "calls" not in whole
