"""The pointer tape's semantics (paper App. D.1) and its no-raise rule."""

import json

from tapehead.tools.memory.pointer_tape import END, PointerTape


def test_heads_start_on_first_input_symbol_and_read_one_symbol():
    t = PointerTape(list("12+3="), heads=2)
    assert t.read(1) == "1" and t.read(2) == "1"
    t.right(1)
    assert t.read(1) == "2" and t.read(2) == "1"


def test_left_stops_at_start_right_stops_one_past_end():
    t = PointerTape(list("ab"), heads=1)
    t.left(1)
    t.left(1)
    assert t.heads == [0] and t.read(1) == "a"
    for _ in range(5):
        t.right(1)
    assert t.heads == [2] and t.read(1) == END


def test_init_returns_head_to_start():
    t = PointerTape(list("abc"), heads=3)
    t.right(3)
    t.right(3)
    t.init(3)
    assert t.read(3) == "a"


def test_appended_thoughts_become_readable_and_end_marker_moves():
    t = PointerTape(list("x"), heads=1)
    t.right(1)
    assert t.read(1) == END
    t.append("7")
    assert t.read(1) == "7"
    t.append("[ANS]")
    t.right(1)
    assert t.read(1) == "[ANS]"


def test_bad_calls_are_observations_not_exceptions():
    t = PointerTape(list("ab"), heads=2)
    obs = t.call(head=3, op="read")
    assert not obs.ok and "no head 3" in obs.text
    obs = t.call(head=1, op="jump")
    assert not obs.ok and "unknown tape operation" in obs.text
    obs = t.call(head="x", op="read")
    assert not obs.ok and "must be int" in obs.text
    obs = t.call(op="read")
    assert not obs.ok and "missing argument 'head'" in obs.text
    assert t.call(head=1, op="read").text == "a"
    assert t.call(head=1, op="right").ok and t.call(head=1, op="read").text == "b"


def test_snapshot_is_json_and_windowed():
    t = PointerTape(list("0123456789"), heads=2)
    for _ in range(7):
        t.right(2)
    snap = t.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["heads"] == [0, 7] and snap["memory"][7] == "7" and snap["length"] == 10
    w = t.snapshot(window=1)
    assert "memory" not in w
    assert [x["symbols"] for x in w["windows"]] == [["0", "1"], ["6", "7", "8"]]


def test_describe_names_args():
    d = PointerTape().describe()
    assert d["name"] == "tape" and [a["name"] for a in d["args"]] == ["head", "op"]
