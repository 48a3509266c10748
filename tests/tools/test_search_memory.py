"""The search memory's semantics (paper §2.2, App. D.1): grep over the tape's own memory, lines in
order, later thoughts found, bad calls answered, never raised."""

import json

from tapehead.tools.base import Observation, Tool
from tapehead.tools.memory.pointer_tape import PointerTape
from tapehead.tools.memory.search_memory import SearchMemory, search_tools


def mem(text):
    return ["[BOS]"] + [chr(b) for b in text.encode("utf-8")]


def test_every_line_containing_the_pattern_in_order():
    s = SearchMemory(mem("a = 1\nb = a\nc = 2\nd = a and b\n"))
    assert s.find("a") == ["a = 1", "b = a", "d = a and b"]
    assert s.find("b =") == ["b = a"]
    assert s.find(" = ") == ["a = 1", "b = a", "c = 2", "d = a and b"]


def test_a_line_with_several_matches_is_listed_once_and_first_line_has_no_bos():
    s = SearchMemory(mem("x x x\ny\nxx\n"))
    assert s.find("x") == ["x x x", "xx"]
    assert s.find("[BOS]") == []


def test_thoughts_written_later_are_found_through_the_shared_tape_memory():
    tape = PointerTape(mem("v1 = True\nv2 = not v1\n"), heads=1)
    find = search_tools(tape)["find"]
    assert find("v2 =") == "v2 = not v1"
    for ch in "v2 = False\n":  # the loop appends thoughts to the tape: the search sees them
        tape.append(ch)
    assert find("v2 =") == "v2 = not v1\nv2 = False"
    for ch in "v3 < v2":  # the line being written counts too
        tape.append(ch)
    assert find("v3 <") == "v3 < v2"
    tape.append("\n")
    tape.append("[ANS]")
    tape.append("Q")
    assert find("Q") == "[ANS]Q"  # other specials are written by name


def test_no_match_is_an_empty_observation():
    s = SearchMemory(mem("abc\n"))
    obs = s.call(pattern="zzz")
    assert obs.ok and obs.text == "" and obs.data == {"matches": 0}
    assert s("zzz") == ""


def test_bad_calls_answer_with_errors_and_never_raise():
    s = SearchMemory(mem("abc\n"))
    for obs in (s.call(pattern=""), s.call(pattern="a\nb"), s.call(pattern=3), s.call(), s.call(pattern="a", x=1)):
        assert isinstance(obs, Observation) and not obs.ok and obs.text.startswith("error:")
    assert s("").startswith("error: find needs a pattern")
    assert s.call(pattern="b").text == "abc"


def test_utf8_lines_and_patterns():
    s = SearchMemory(mem("café = 1\nnaïve\n"))
    assert s.find("é") == ["café = 1"]
    assert s("ï") == "naïve"


def test_spaces_in_the_call_text_are_part_of_the_pattern():
    s = SearchMemory(mem("v1 = 2\nv11 = 3\nv1 < v2\n"))
    assert s("v1 =") == "v1 = 2"
    assert s("v1 ") == "v1 = 2\nv1 < v2"


def test_memory_replaced_by_a_shorter_one_is_resynced():
    m = mem("aa\nbb\n")
    s = SearchMemory(m)
    assert s.find("b") == ["bb"]
    del m[3:]
    assert s.find("b") == [] and s.find("a") == ["aa"]


def test_describe_and_snapshot_are_json():
    s = SearchMemory(mem("l1\nl2\nl3\n"))
    assert isinstance(s, Tool)
    d = s.describe()
    assert d["name"] == "find" and d["category"] == "memory" and d["args"][0]["name"] == "pattern"
    s("l2")
    snap = s.snapshot()
    json.dumps(snap)
    assert snap["lines"] == 3 and snap["searches"] == 1 and snap["last"] == {"pattern": "l2", "matches": 1}
    assert s.snapshot(full=True)["memory"] == ["l1", "l2", "l3"]


def test_in_an_episode_calls_are_answered_from_the_episode_memory():
    from tapehead.agent.loops.episode import Episode
    from tapehead.agent.models import codec as get_codec

    c = get_codec()
    ep = Episode(c, "k = 1\n", call_tools=search_tools)
    fed = []
    for t in c.text_tokens("k = 2\n") + [c.CALL] + c.text_tokens("find k =") + [c.CALL_END]:
        fed += ep.accept(t)
    assert fed[-1] == c.OBS_END
    calls = c.calls(ep.tokens, len(ep.prompt))
    assert calls == [{"index": calls[0]["index"], "tool": "find", "call": {"text": "k ="}, "observation": "k = 1\nk = 2"}]
    assert ep.tape.memory[-1] == "\n"  # commands and observations never enter the memory
