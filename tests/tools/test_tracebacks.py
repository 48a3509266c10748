"""The compact check observation: trim_traceback on the output of real Python runs, and the check
tool in the real sandbox (PASS, FAIL, a timeout, a failure without traceback)."""

import os
import subprocess
import sys

from workspace_helpers import user_repo, ws  # noqa: F401

from tapehead.tools.code.check import Check
from tapehead.tools.code.tracebacks import trim_traceback
from tapehead.tools.sandbox.sandbox import Limits, Sandbox


def run(tmp_path, files: dict, script="main.py"):
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    r = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr, str(tmp_path)


def test_name_error_innermost_frame_relative_without_carets_or_hint(tmp_path):
    code, out, root = run(tmp_path, {"main.py": "from f1 import f1\n\n\ndef main():\n    v10 = 1\n    f1(2)\n\n\nmain()\n",
                                     "f1.py": "def f1(v1):\n    print('hello')\n    print(v10 + v1)\n"})
    assert "Did you mean" in out and root in out  # what the interpreter printed
    assert trim_traceback(out, code, root) == (
        "FAIL exit 1\nf1.py:3 in f1: print(v10 + v1)\nNameError: name 'v10' is not defined")


def test_type_error_names_the_callers_line(tmp_path):
    code, out, root = run(tmp_path, {"main.py": "def foo(a, v10):\n    pass\n\n\ndef main():\n    foo(\n        1,\n    )\n\n\nmain()\n"})
    assert trim_traceback(out, code, root) == (
        "FAIL exit 1\nmain.py:6 in main: foo(\nTypeError: foo() missing 1 required positional argument: 'v10'")


def test_syntax_error_chained_and_library_frames(tmp_path):
    code, out, root = run(tmp_path, {"main.py": "import bad\n", "bad.py": "def f(:\n    pass\n"})
    obs = trim_traceback(out, code, root)
    assert obs.startswith("FAIL exit 1\nbad.py:1: def f(:\nSyntaxError: ")
    code, out, root = run(tmp_path, {"main.py": "try:\n    {}['k']\nexcept KeyError:\n    raise ValueError('second')\n"})
    assert "During handling" in out
    assert trim_traceback(out, code, root) == "FAIL exit 1\nmain.py:4 in <module>: raise ValueError('second')\nValueError: second"
    code, out, root = run(tmp_path, {"main.py": "import json\n\n\ndef load():\n    return json.loads('{')\n\n\nload()\n"})
    assert "json/decoder.py" in out  # the innermost frame is the library's; the workspace's is shown
    assert trim_traceback(out, code, root).split("\n")[1] == "main.py:5 in load: return json.loads('{')"


def test_exit_without_traceback_pass_and_long_lines(tmp_path):
    code, out, root = run(tmp_path, {"main.py": "import sys\nprint('a')\nprint('b')\nprint('c')\nprint('d')\nsys.exit('bad config')\n"})
    assert trim_traceback(out, code, root) == "FAIL exit 1\nc\nd\nbad config"  # the last three lines
    code, out, root = run(tmp_path, {"main.py": "print('fine')\n"})
    assert trim_traceback(out, code, root) == "PASS"
    code, out, root = run(tmp_path, {"main.py": "x = 1\nraise ValueError('" + "y" * 500 + "')\n"})
    obs = trim_traceback(out, code, root).split("\n")
    assert len(obs[1]) <= len("main.py:2 in <module>: ") + 123 and obs[1].endswith("...")
    assert len(obs[2]) == 203 and obs[2].endswith("...")
    assert trim_traceback("", None, root, outcome="killed: wall-clock timeout after 1.0 s") == \
        "FAIL killed: wall-clock timeout after 1.0 s"


def test_check_tool_in_the_sandbox(ws):
    with open(os.path.join(ws.root, "main.py"), "w") as f:
        f.write("def main():\n    print(v10)\n\n\nmain()\n")
    sandbox = Sandbox(ws, Limits(timeout_s=5))
    check = Check(ws, sandbox)
    obs = check.call()
    assert obs.ok and obs.text == "FAIL exit 1\nmain.py:2 in main: print(v10)\nNameError: name 'v10' is not defined"
    assert obs.data["command"] == "python main.py" and obs.data["returncode"] == 1
    with open(os.path.join(ws.root, "main.py"), "w") as f:
        f.write("print('ok')\n")
    assert check.call().text == "PASS"
    slow = Check(ws, sandbox, command="python -c 'while True: pass'", timeout_s=1)
    assert slow.call().text.startswith("FAIL killed: wall-clock timeout after 1")
    assert Check(ws, sandbox, command="exit 3").call().text == "FAIL exit 3"
    assert not check.call(command="rm -rf /").ok  # the command is the workspace's, not the caller's
    assert check.snapshot()["command"] == "python main.py"


def test_hints_of_newer_pythons_are_dropped_too():
    """Python 3.12 words other hints (CPython's traceback.py: no question mark after the import hint,
    and "Or did you forget" after a "Did you mean"); its traceback module prints them all (the GPU
    machine's): the observation must not depend on the interpreter that ran the check."""
    head = 'Traceback (most recent call last):\n  File "/r/main.py", line 1, in <module>\n    os.getcwd()\n'
    want = "FAIL exit 1\nmain.py:1 in <module>: os.getcwd()\nNameError: name 'os' is not defined"
    for hint in [". Did you forget to import 'os'", ". Did you mean: 'oz'? Or did you forget to import 'os'",
                 ". Did you mean: 'oz'?"]:
        assert trim_traceback(f"{head}NameError: name 'os' is not defined{hint}\n", 1, "/r") == want
