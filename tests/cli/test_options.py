"""The option schema (agent/cli/options.py) and the parsers built from it: bounds and ASCII digits in
every type, every parser without abbreviations and with its defaults in ``--help``, ``--version``,
one-line argparse errors, and ``eval``'s per-task and study parsers holding only their own options."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapehead.agent.cli import options as o
from tapehead.agent.cli.config import _actions
from tapehead.agent.cli.main import Parser, build_parser, main


def _parsers(p, path=("tapehead",)):
    yield path, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield from _parsers(sub, path + (name,))


@pytest.fixture(scope="module")
def parser():
    return build_parser()


def test_every_parser_refuses_abbreviations_and_shows_defaults(parser):
    seen = 0
    for path, p in _parsers(parser):
        assert isinstance(p, Parser) and p.allow_abbrev is False, path
        text = " ".join(p.format_help().split())
        for a in p._actions:
            if a.option_strings and not any(a.default is x for x in (None, False, argparse.SUPPRESS)):
                assert f"(default: {a.default})" in text or "%(default)" in (a.help or ""), (path, a.dest)
                seen += 1
    assert seen > 100  # every command's numeric options have defaults, and they are shown


def test_every_numeric_option_has_a_bounded_type(parser):
    """No ``type=int``/``float`` left anywhere: each number goes through a schema type with a lower bound."""
    for a in _actions(parser):
        assert a.type not in (int, float), a.dest
        if isinstance(a.type, (o.Integer, o.Number)):
            assert a.type.lo is not None, a.dest
        if isinstance(a.type, o.IntList):
            assert a.type.item.lo is not None, a.dest


def test_per_task_eval_and_the_study_have_their_own_options(parser):
    parsers = dict(_parsers(parser))
    task = {f for a in parsers[("tapehead", "eval", "addition")]._actions for f in a.option_strings}
    study = {f for a in parsers[("tapehead", "eval", "suite", "paper")]._actions for f in a.option_strings}
    code = {f for a in parsers[("tapehead", "eval", "suite", "code")]._actions for f in a.option_strings}
    only_study = {"--tasks", "--archs", "--seeds", "--steps", "--multitask", "--micro-tokens", "--report-only",
                  "--train-batch", "--lr", "--train-size", "--workers"}
    only_task = {"--hard", "--policy", "--save-trajectories", "--teacher-workers", "--no-cuda-graph", "--compile",
                 "--fuse", "--suspend-after", "--seed"}
    assert only_study <= study and not only_study & task
    assert only_task <= task and not only_task & study
    assert {"--archs", "--seeds", "--steps", "--teachers", "--train-seconds", "--report-only"} <= code
    assert not {"--tasks", "--multitask", "--hard", "--policy"} & code  # the coding study's own options
    for name in ("solve", "run", "train"):
        assert "--threads" in {f for a in parsers[("tapehead", name)]._actions for f in a.option_strings}
    assert "--threads" in task and "--threads" in study


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tapehead 0.")


def test_argparse_errors_are_one_line(capsys):
    assert main(["solve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tapehead solve: error:") and "usage:" not in err


@pytest.mark.parametrize("t, good, bad", [
    (o.positive_int, ["1", "+7", "1_000", " 3 "], ["0", "-1", "1.0", "1e3", "٣", "３", "²", "", "0x10", "1__0"]),
    (o.nonneg_int, ["0", "12"], ["-1", "a"]),
    (o.number(0, 1), ["0", "1", ".5", "5e-1"], ["1.01", "-0.0001", "nan", "inf", "-inf", "1,5", "٠.٥"]),
    (o.int_list(1), ["5", "5,10, 1_000"], ["", ",", "5,,0", "5,x", "١"]),
    (o.device, ["cpu"], ["gpu", "CPU", "cuda:x", "cuda:123", ""]),
    (o.thread_id, ["a", "A.b-c_9", "x" * 128], ["", ".", "..", "-a", "a/b", "x" * 129, "é", "a b"]),
])
def test_types(t, good, bad):
    for v in good:
        t(v)
    for v in bad:
        with pytest.raises(argparse.ArgumentTypeError) as e:
            t(v)
        assert isinstance(e.value, ValueError) and "\n" not in str(e.value)


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_only_ascii_digits_are_integers(s):
    if s.isascii():
        assert o.nonneg_int(s) == int(s)
    else:
        with pytest.raises(o.Bad):
            o.nonneg_int(s)


@given(st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.booleans(), st.text(max_size=12)))
@settings(max_examples=200, deadline=None)
def test_bounds_hold_for_any_value(v):
    t = o.integer(1, 1024)
    try:
        got = t.typed(v)
    except o.Bad as e:
        assert "\n" not in str(e)
    else:
        assert type(got) is int and 1 <= got <= 1024 and not isinstance(v, (bool, str, float))


def test_read_input(tmp_path, monkeypatch):
    import io
    import sys

    (tmp_path / "x.txt").write_text("12+34\n")
    assert o.read_input("@" + str(tmp_path / "x.txt"), 100) == "12+34\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"5+5")))
    assert o.read_input("-", 100) == "5+5"
    assert o.read_input("7+7", 100) == "7+7"
    with pytest.raises(ValueError, match="over the input-size limit of 4 bytes"):
        o.read_input("12345", max_bytes=4)


def test_an_evaluation_with_options_of_its_own(tmp_path, monkeypatch, capsys):
    """A ``tapehead.eval`` entry point (a real distribution on sys.path) gets ``tapehead eval NAME`` with
    its own options, in place of a task's default parser: e.g. the coding tasks' ``eval code-fix``."""
    dist = tmp_path / "evalplugin-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evalplugin\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[tapehead.eval]\naddition = evalplugin_mod:register\n")
    (tmp_path / "evalplugin_mod.py").write_text(
        "from tapehead.agent.cli import options\n"
        "def register(sub):\n"
        "    p = sub.add_parser('addition', help='a plugin evaluation')\n"
        "    p.add_argument('--repos', type=options.positive_int, default=3)\n"
        "    p.set_defaults(func=lambda args: print('repos', args.repos) or 0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["eval", "addition", "--repos", "5"]) == 0
    assert capsys.readouterr().out == "repos 5\n"
    assert main(["eval", "addition", "--sizes", "5"]) == 2  # the task's default options are not there
    assert "unrecognized arguments: --sizes" in capsys.readouterr().err
    assert main(["eval", "addition", "--repos", "0"]) == 2
