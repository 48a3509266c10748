"""Policies by name (agent/policies/shipped.py): ``--policy NAME`` from any directory, ``tapehead
policies`` (its JSON and its table), paths still working, an unknown name naming the ones that exist,
and the measured ranges in the shipped JSONs equal to the results files they cite."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tapehead.agent.cli.main import main
from tapehead.agent.policies import shipped

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["addition", "mult1", "mult1-reread", "mult2", "mult2-reread", "multitask"]


def test_shipped_names_are_package_data_of_tapehead_evals():
    found = shipped.shipped()
    assert list(found) == NAMES
    for name, path in found.items():
        assert Path(path).parent.name == "policies" and Path(path).parent.parent.name == "evals"
        assert Path(path + ".json").is_file() and Path(path + ".safetensors").is_file()
        assert json.loads(Path(path + ".json").read_text())["weights"]["file"] == f"{name}.safetensors"
    assert shipped.resolve("multitask") == found["multitask"]
    assert shipped.resolve("some/dir/ck") == os.path.abspath("some/dir/ck")  # a path stays a path
    assert shipped.label("addition") == "addition" and shipped.label("./addition") == os.path.abspath("addition")


def test_unknown_name_lists_the_names(capsys):
    assert main(["solve", "addition", "1+1", "--policy", "additon"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no shipped policy 'additon'" in err and "addition, mult1, mult1-reread, mult2, mult2-reread, multitask" in err
    assert "Traceback" not in err


def test_policies_json_reads_every_checkpoint(capsys):
    assert main(["policies", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == NAMES
    add = rows["addition"]
    assert add["tasks"] == ["addition"] and add["parameters"] == 1_802_080 and add["arch"] == "mamba2"
    assert add["recipe"] == {"steps": 2000, "batch": 256, "lr": 0.002, "seed": 0, "train_size": {"addition": 5}}
    (m,) = add["measured"]
    assert m["exact_to"] == 100_000 and m["first_below"] is None
    mult1 = rows["mult1"]["measured"][0]
    assert mult1["exact_to"] == 20 and mult1["first_below"] == [50, 0.48]
    for name in ("mult1-reread", "mult2-reread"):  # the same problems on our trace: exact to 1,000 digits
        (m,) = rows[name]["measured"]
        assert rows[name]["tasks"] == [name] and m["exact_to"] == 1000 and m["first_below"] is None
    multi = rows["multitask"]
    assert multi["tasks"] == ["addition", "mult1", "mult2", "logical-graph"]
    assert multi["recipe"]["train_size"] == {"addition": 5, "mult1": 10, "mult2": 10, "logical-graph": 10}
    by_task = {x["task"]: x for x in multi["measured"]}
    assert by_task["addition"]["exact_to"] == 10 and by_task["addition"]["first_below"] == [20, 0.71875]
    assert by_task["logical-graph"]["exact_to"] is None and by_task["logical-graph"]["first_below"] == [10, 0.375]


def test_measured_ranges_are_the_cited_results_files():
    """No figure in a shipped JSON's ``metrics.eval`` is made up: each equals the results file it names."""
    for name, path in shipped.shipped().items():
        evals = json.loads(Path(path + ".json").read_text())["metrics"]["eval"]
        assert evals, name
        for e in evals:
            cited = {}
            for f in e["results"]:
                for s in json.loads((ROOT / f).read_text())["summary"]:
                    cited[s["size"]] = (s["n"], s["trajectory_acc"], s["answer_acc"])
            assert {size: (n, t, a) for size, n, t, a in
                    zip(e["sizes"], e["n"], e["trajectory_acc"], e["answer_acc"])} == cited, (name, e["task"])


def test_policies_table_off_a_terminal_is_one_line_per_task():
    r = subprocess.run([sys.executable, "-m", "tapehead", "policies"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    header, *lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert header.split()[:3] == ["name", "task", "trained"]
    cut = header.index("task")  # the name column: blank on a multi-task policy's further lines
    assert [ln[:cut].strip() for ln in lines] == ["addition", "mult1", "mult1-reread", "mult2", "mult2-reread",
                                                  "multitask", "", "", ""]
    rows = [ln[cut:].split() for ln in lines]
    assert [row[0] for row in rows[5:]] == ["addition", "mult1", "mult2", "logical-graph"]
    assert rows[0][:4] == ["addition", "<=", "5", "1,802,080"] and " ".join(rows[0]).endswith("exact to 100,000")
    assert " ".join(rows[1]).endswith("exact to 20, 48% at 50")
    assert " ".join(rows[2]).endswith("exact to 1,000") and " ".join(rows[4]).endswith("exact to 1,000")
    assert " ".join(rows[8]) == "logical-graph <= 10 38% at 10"


def test_policy_by_name_and_by_path_from_another_directory(tmp_path):
    """A real subprocess whose working directory is not the repository: the name resolves to the
    package data; a relative checkpoint path resolves against that directory."""
    pytest.importorskip("torch")
    mine = tmp_path / "ckpts"
    mine.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(shipped.shipped()["mult1"] + suffix, mine / f"my-mult1{suffix}")
    env = {**os.environ, "TAPEHEAD_HOME": str(tmp_path / "home")}
    for policy, task, problem, answer in (("multitask", "mult1", "1234*7", "8638"),
                                          ("ckpts/my-mult1", "mult1", "4321*3", "12963")):
        r = subprocess.run([sys.executable, "-m", "tapehead", "solve", task, problem, "--policy", policy, "--json",
                            "--threads", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)
        assert res["answer"] == answer and res["correct"]
        assert res["policy"] == (policy if policy == "multitask" else str(mine / "my-mult1"))


def test_run_records_a_shipped_policy_by_name(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAPEHEAD_HOME", str(tmp_path / "home"))
    assert main(["run", "--task", "mult2", "--input", "12*34", "--policy", "mult2", "--json", "--thread", "p1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["answer"] == "408" and res["policy"] == "mult2"
    assert main(["sessions", "show", "p1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run"]["policy"] == "mult2"  # --resume resolves it again
