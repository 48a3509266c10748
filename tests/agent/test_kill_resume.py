"""A run killed with SIGKILL in a subprocess, resumed from its SQLite session: no completed step is
lost and the final trajectory is identical to an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

from tapehead.agent.agent import Agent
from tapehead.agent.policies.policy import ScriptedPolicy
from tapehead.agent.trace.trajectory import Trajectory

from graph_helpers import ADD, C, teacher

A = "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"
B = "27182818284590452353602874713526624977572470936999595749669676277240766303535475945713821785251664274"

CHILD = r"""
import json, sys, time
from tapehead.agent.agent import Agent
from tapehead.agent.models import codec
from tapehead.agent.policies.policy import ScriptedPolicy

class SlowScripted(ScriptedPolicy):  # the recorded trace at a model's pace, so the kill lands mid-run
    def propose(self):
        time.sleep(0.0004)
        return super().propose()

script, db, problem, out = sys.argv[1:5]
agent = Agent(task="addition", policy=SlowScripted(json.load(open(script)), codec().EOS), db=db, step_tokens=64)
agent.solve(problem, thread_id="victim", out=out)
print("FINISHED", flush=True)
"""


def test_sigkill_mid_run_then_resume_loses_nothing(tmp_path):
    text = ADD.parse(f"{A}+{B}")
    ref = teacher(text)
    assert len(ref.tokens) > 3500
    script, db, out = tmp_path / "script.json", str(tmp_path / "s.sqlite"), str(tmp_path / "victim.json")
    script.write_text(json.dumps(ref.tokens.tolist()))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(script), db, f"{A}+{B}", out], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # a reader in this process, on the same database (another connection: WAL lets it read while the child writes)
    reader = Agent(task="addition", policy=ScriptedPolicy(ref.tokens, C.EOS), db=db, step_tokens=64)
    seen, t0 = 0, time.time()
    try:
        while time.time() - t0 < 60 and child.poll() is None:
            st = reader.state("victim") if os.path.exists(db) else {}
            seen = st.get("n_tokens", 0) if st else 0
            if seen >= 1200:
                break
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert "FINISHED" not in child.stdout.read()
    st = reader.state("victim")
    # every step that was committed when we looked is still there; the run is unfinished
    assert seen <= st["n_tokens"] < len(ref.tokens) and st["exit"] is None
    assert reader.sessions()[0]["status"] == "running"
    events = []
    res = reader.resume("victim", on_event=events.append)
    assert events[0].type == "RunStarted" and events[0].resumed
    assert res.exit == "eos" and res.correct
    assert res.trajectory.tokens == ref.tokens and res.trajectory.counts == ref.counts
    final = Trajectory.load(out)  # the file the killed run started, finished by the resumed one
    assert final.tokens == ref.tokens and final.exit == "eos" and final.answer == ADD.answer(text)
    reader.close()
