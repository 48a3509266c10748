"""The efficiency benchmark runs end to end on CPU and measures what it claims (issue 18).

Tiny depths and windows: the figures themselves are for docs/benchmarks.md, never asserted here
(timings are benchmarks, not tests); what is asserted is behaviour: a Mamba-2 state does not grow
with the episode, a full-attention KV cache does, a sliding-window one stops at its window, and the
forced tool loop agrees with the tape at every step (the benchmark raises otherwise).
"""

import json

from tapehead.evals import bench_efficiency


def test_state_sizes_along_the_episode(tmp_path):
    out = tmp_path / "eff.json"
    rc = bench_efficiency.main(["--device", "cpu", "--models", "mamba2,transformer,swa", "--depths", "300,700",
                                "--batches", "1,2", "--window", "8", "--chunk", "128", "--json", str(out)])
    assert rc == 0
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 12 and not any("oom" in r for r in rows)
    by = {(r["model"], r["batch"], r["depth"] // 100): r for r in rows}
    m = [by["mamba2", 1, 3]["state_bytes"], by["mamba2", 1, 7]["state_bytes"]]
    assert m[0] == m[1] and by["mamba2", 2, 7]["state_bytes"] == 2 * m[0]
    assert by["transformer", 1, 7]["state_bytes"] > by["transformer", 1, 3]["state_bytes"]
    # the fresh SWA baseline (window 256) holds a ring of 256 slots whatever the depth
    assert by["swa", 1, 3]["state_bytes"] == by["swa", 1, 7]["state_bytes"]
    assert all(r["loop_ms"] > 0 and r["tokens_per_s"] > 0 for r in rows)


def test_cpu_budget_refuses_a_cache_that_does_not_fit(tmp_path):
    out = tmp_path / "eff.json"
    bench_efficiency.main(["--device", "cpu", "--models", "transformer", "--depths", "400", "--batches", "1",
                           "--window", "4", "--cpu-budget-gb", "0.000001", "--json", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    assert row["oom"].startswith("skipped: the KV cache would need")
