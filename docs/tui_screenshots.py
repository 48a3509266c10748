"""The README's screenshots of the TUI: ``python docs/tui_screenshots.py`` writes
docs/images/tui-reasoning.svg and docs/images/tui-coding.svg (Textual's SVG screenshots).

Both are real runs: the shipped addition policy on a 12-digit addition, and a scripted policy fixing
a NameError in a small git repository through the sandboxed check and an edit (every call approved
from the modal as a person would, the diff shown at the end, nothing accepted).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile

from tapehead.tui.app import TapeheadApp
from tapehead.tui.driver import RunSpec
from tapehead.tui.screens.approval import ApprovalModal

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
SIZE = (130, 38)
BUGGY = "def greet(name):\n    return 'hello ' + nam\n\n\nprint(greet('tui'))\n"
FIX = ('[CALL]run python main.py[/CALL][OBS][/OBS]'
       '[CALL]replace_text {"path": "main.py", "old": "+ nam\\n", "new": "+ name\\n"}[/CALL][OBS][/OBS]'
       '[CALL]run python main.py[/CALL][OBS][/OBS][ANS]fixed[EOS]')


async def shoot(app: TapeheadApp, name: str, answer_approvals: bool = False) -> None:
    async with app.run_test(size=SIZE) as pilot:
        while True:
            await pilot.pause(0.1)
            if answer_approvals and isinstance(app.screen, ApprovalModal):
                await pilot.press("y")
            run = app.last_run
            if run is not None and run.status not in ("starting", "running", "awaiting approval") \
                    and app.screen is run:
                break
        await pilot.pause(0.5)
        app.clear_notifications()
        await pilot.pause()
        path = app.save_screenshot(f"{name}.svg", OUT)
        print(path)
        ws = run.driver.workspace
        if ws is not None:
            ws.discard()


def main() -> int:
    home = tempfile.mkdtemp(prefix="tapehead-shots-")
    os.environ["TAPEHEAD_HOME"] = home
    db = os.path.join(home, "sessions.sqlite")
    asyncio.run(shoot(TapeheadApp(RunSpec(task="addition", input="314159265358+271828182845", db=db,
                                          thread="20260102-030405-a1b2c3")), "tui-reasoning"))
    repo = os.path.join(home, "greeter")
    os.makedirs(repo)
    with open(os.path.join(repo, "main.py"), "w") as f:
        f.write(BUGGY)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    script = os.path.join(home, "fix.txt")
    with open(script, "w") as f:
        f.write(FIX)
    asyncio.run(shoot(TapeheadApp(RunSpec(input="Fix the bug: `python main.py` fails.", workspace=repo,
                                          check="python main.py", policy=f"script:{script}", db=db,
                                          thread="20260102-030406-d4e5f6")), "tui-coding", answer_approvals=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
