"""Trajectory files: compact (version 2), the old list format still read, and untrusted input checked.

Every broken file -- a huge or negative ``prompt_len``, float, bool or out-of-vocabulary tokens, a
JSON list, a missing or unknown field, a zlib bomb, a file over the size limit -- is one clear
``ValueError`` naming the file and the field, raised before anything is built on it; the huge ones
in a subprocess whose peak RSS stays small. ``tapehead replay`` of such a file exits 2 with one line.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import zlib
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapehead.agent.graph.state import chunk_of, initial_state, last_token, tokens_of
from tapehead.agent.loops.loop import run_episode
from tapehead.agent.trace import tokens as compact
from tapehead.agent.trace.trajectory import Trajectory

from graph_helpers import ADD, C, teacher

TEXT = ADD.parse("987654321+123456789")


@pytest.fixture(scope="module")
def ref() -> Trajectory:
    return teacher(TEXT)


def v1(traj: Trajectory) -> dict:
    """The old format: version 1, tokens a JSON list."""
    d = traj.to_json()
    d["version"], d["tokens"] = 1, traj.tokens.tolist()
    return d


def write(tmp_path, data, name="t.json", raw: bool = False) -> str:
    p = tmp_path / name
    p.write_text(data if raw else json.dumps(data))
    return str(p)


def test_round_trip_and_the_file_is_compact(tmp_path, ref):
    path = str(tmp_path / "t.json")
    ref.save(path)
    back = Trajectory.load(path)
    assert back == ref and isinstance(back.tokens, array) and back.tokens.typecode == "H"
    old = write(tmp_path, v1(ref), "old.json")
    assert Trajectory.load(old) == ref  # version 1 is still read
    long = teacher(ADD.parse("9" * 300 + "+1"))  # ~11,000 tokens
    assert 5 * len(json.dumps(long.to_json()["tokens"])) < len(json.dumps(long.tokens.tolist()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, C.vocab.size - 1), max_size=3000))
def test_compact_encoding_round_trips(ids):
    enc = compact.encode(ids)
    assert enc["length"] == len(ids)
    assert compact.decode(json.loads(json.dumps(enc)), vocab_size=C.vocab.size, max_tokens=len(ids)).tolist() == ids


def test_graph_chunks_are_bytes_and_old_lists_still_read():
    state = initial_state({"text": "1+2"}, C.prompt("1+2"))
    assert isinstance(state["chunks"][0], bytes) and len(state["chunks"][0]) == 2 * len(C.prompt("1+2"))
    state["chunks"] += [chunk_of([300, 5]), [7, 8]]  # a list: a session written before
    assert tokens_of(state).tolist() == C.prompt("1+2") + [300, 5, 7, 8] and last_token(state) == 8
    assert last_token({"chunks": []}) is None


def _bomb() -> dict:
    data = base64.b64encode(zlib.compress(b"\0" * (64 << 20), 9)).decode()  # 64 MiB of zeros in ~90 KB
    return {"encoding": compact.ENCODING, "length": 10, "data": data}


def _mutations(ref: Trajectory) -> list[tuple[str, object, str]]:
    d1 = v1(ref)
    cases = [
        ("json-list", [1, 2, 3], r"not a tapehead trajectory \(a JSON list, not an object\)"),
        ("json-string", "hello", r"not a tapehead trajectory \(a JSON str"),
        ("other-format", {**d1, "format": "x"}, r"not a tapehead trajectory \(format 'x'\)"),
        ("version-3", {**d1, "version": 3}, r"trajectory version 3 is not supported \(this tapehead reads 1, 2\)"),
        ("unknown-field", {**d1, "extra": 1}, r"unknown fields \['extra'\]"),
        ("prompt-len-huge", {**d1, "prompt_len": 10 ** 9}, r"prompt_len = 1000000000 is out of range \(1\.\."),
        ("prompt-len-negative", {**d1, "prompt_len": -5}, r"prompt_len = -5 is out of range"),
        ("prompt-len-float", {**d1, "prompt_len": 21.0}, r"prompt_len must be an integer, got 21\.0"),
        ("prompt-len-vs-input", {**d1, "prompt_len": 5}, r"prompt_len 5 does not match the input \(21 prompt tokens\)"),
        ("float-token", {**d1, "tokens": d1["tokens"][:30] + [3.5]}, r"tokens\[30\] = 3\.5 is not a token id"),
        ("bool-token", {**d1, "tokens": d1["tokens"][:30] + [True]}, r"tokens\[30\] = true is not a token id"),
        ("string-token", {**d1, "tokens": d1["tokens"][:30] + ["7"]}, r"tokens\[30\] = \"7\" is not a token id"),
        ("oov-token", {**d1, "tokens": d1["tokens"][:30] + [C.vocab.size]}, rf"tokens\[30\] = {C.vocab.size} is not"),
        ("negative-token", {**d1, "tokens": d1["tokens"][:30] + [-1]}, r"tokens\[30\] = -1 is not a token id"),
        ("tokens-not-list", {**d1, "tokens": {"a": 1}}, r"tokens must be a list"),
        ("input-not-str", {**d1, "input": 12}, r"input must be a string, got 12"),
        ("counts-negative", {**d1, "counts": {"generated": -1}}, r"counts\['generated'\] = -1 is out of range"),
        ("seconds-nan", {**d1, "seconds": float("nan")}, r"seconds must be a number"),
        ("meta-run-bad", {**d1, "meta": {"run": {"step_tokens": 10 ** 12}}}, r"meta\.run: step_tokens = 10+ is out"),
        ("v2-garbled", {**ref.to_json(), "tokens": {**compact.encode(ref.tokens), "data": "!!!"}}, r"garbled data"),
        ("v2-length", {**ref.to_json(), "tokens": {**compact.encode(ref.tokens), "length": len(ref.tokens) + 1}},
         rf"data does not hold exactly {len(ref.tokens) + 1:,} tokens"),
        ("v2-oov", {**ref.to_json(), "tokens": compact.encode(array("H", [500] * len(ref.tokens)))},
         r"tokens\[0\] = 500 is not a token id"),
        ("v2-bomb", {**ref.to_json(), "tokens": _bomb()}, r"data does not hold exactly 10 tokens"),
        ("v2-huge-length", {**ref.to_json(), "tokens": {**compact.encode(ref.tokens), "length": 1 << 40}},
         r"length must be an integer in 0\.\."),
    ]
    for name in ("task", "input", "prompt_len", "tokens"):
        cases.append((f"missing-{name}", {k: v for k, v in d1.items() if k != name}, rf"missing fields \['{name}'\]"))
    return cases


CASE_NAMES = [c[0] for c in _mutations(Trajectory("", "1", 2, [257, 49]))]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_broken_file_is_one_clear_error(tmp_path, ref, name):
    _, data, message = next(c for c in _mutations(ref) if c[0] == name)
    path = write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as e:
        Trajectory.load(path)
    assert str(e.value).startswith(path) and "\n" not in str(e.value)


def test_not_json_and_oversized_files(tmp_path, ref):
    with pytest.raises(ValueError, match=r"is not JSON"):
        Trajectory.load(write(tmp_path, '{"format": "tapehead-traj', raw=True))
    path = str(tmp_path / "big.json")
    ref.save(path)
    with pytest.raises(ValueError, match=r"is [\d,]+ bytes, more than the limit of 100 \(pass max_bytes="):
        Trajectory.load(path, max_bytes=100)


PROBE = textwrap.dedent("""
    import json, resource, sys
    from tapehead.agent.replay import replay
    from tapehead.agent.trace.trajectory import Trajectory
    for path in sys.argv[1:]:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        errors = []
        for fn in (Trajectory.load, replay):
            try:
                fn(path)
                errors.append(None)
            except ValueError as e:
                errors.append(str(e))
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({"errors": errors, "grew_kib": grew}))
""")


def test_huge_sizes_are_refused_in_small_memory(tmp_path, ref):
    """prompt_len 10^9 used to take 7.9 GB before failing; a bomb would inflate 64 MiB."""
    d1 = v1(ref)
    cases = [({**d1, "prompt_len": 10 ** 9}, "prompt_len = 1000000000 is out of range"),
             ({**ref.to_json(), "tokens": _bomb()}, "data does not hold exactly 10 tokens")]
    paths = [write(tmp_path, data, f"c{i}.json") for i, (data, _) in enumerate(cases)]
    out = subprocess.run([sys.executable, "-c", PROBE, *paths], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for line, (_, message) in zip(out.stdout.strip().splitlines(), cases):
        r = json.loads(line)
        assert all(e is not None and message in e for e in r["errors"]), r
        assert r["grew_kib"] < 32 * 1024, r


@pytest.mark.parametrize("name", ["json-list", "missing-tokens", "float-token"])
def test_tapehead_replay_of_a_broken_file_exits_2_with_one_line(tmp_path, ref, name):
    _, data, message = next(c for c in _mutations(ref) if c[0] == name)
    path = write(tmp_path, data)
    env = {**os.environ, "TAPEHEAD_HOME": str(tmp_path / "home"), "COLUMNS": "400"}  # rich wraps at 80 otherwise
    out = subprocess.run([sys.executable, "-m", "tapehead", "replay", path], capture_output=True, text=True,
                         timeout=120, env=env)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert path in lines[0] and __import__("re").search(message, lines[0]), lines[0]


def test_a_script_policy_file_is_checked_too(tmp_path):
    from tapehead.agent.policies.source import load_script

    assert load_script(write(tmp_path, [257, 49, 50]))[0] == [257, 49, 50]
    with pytest.raises(ValueError, match=r"tokens\[1\] = 3\.5 is not a token id"):
        load_script(write(tmp_path, [257, 3.5]))
    with pytest.raises(ValueError, match=rf"tokens\[0\] = {10 ** 9} is not a token id"):
        load_script(write(tmp_path, {"tokens": [10 ** 9]}))


def test_episode_record_is_compact(ref):
    tr = run_episode(ADD.teacher(C), C, TEXT, task="addition")
    assert isinstance(tr.tokens, array) and tr.tokens.itemsize == 2 and tr.tokens == ref.tokens
