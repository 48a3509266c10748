"""The Textual app: ``tapehead tui``. Screens, app-wide keys, the command palette, a clean quit.

Convention (Textual's ``App``): the app holds no run state of its own -- each ``RunScreen`` owns
its ``RunDriver`` -- and opens on the run (a task and input, a workspace, or ``--resume ID``) or on
the start screen. App-wide keys: F1/``?`` help, ``ctrl+p`` the command palette (Textual's, with
the app's actions added through ``get_system_commands``), ``n`` a new run, ``s`` sessions, ``q``
quit. Quitting stops a streaming run after the step in flight (its checkpoint is on disk), so the
session is left resumable; ``exit_code`` follows ``tapehead run``: 0 ``eos`` (or no run), 1 another
exit status, 3 a run left unfinished (paused, stopped, waiting for approval).
"""

from __future__ import annotations

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from .driver import RunDriver, RunSpec
from .screens.help import HelpScreen
from .screens.run import RunScreen


class TapeheadApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "tapehead"
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help"),
        Binding("n", "new_run", "New run"),
        Binding("s", "sessions", "Sessions"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, spec: RunSpec | None = None, *, db: str | None = None, start: str = "auto"):
        super().__init__()
        self.spec = spec
        self.db = db or (spec.db if spec else None)
        self.start_on = start  # auto (the run if one is given, else the start screen), sessions
        self.last_run: RunScreen | None = None

    def on_mount(self) -> None:
        if self.start_on == "sessions":
            self.action_sessions()
        elif self.spec is not None:
            self.open_run(self.spec)
        else:
            self.action_new_run()

    # --- screens --------------------------------------------------------------------------------------
    def open_run(self, spec: RunSpec) -> RunScreen:
        spec.db = spec.db or self.db
        screen = RunScreen(RunDriver(spec))
        self.last_run = screen
        self.push_screen(screen)
        return screen

    def action_new_run(self) -> None:
        from .screens.start import StartScreen

        if not isinstance(self.screen, StartScreen):
            self.push_screen(StartScreen(self.db))

    def action_sessions(self) -> None:
        from .screens.sessions import SessionsScreen

        if not isinstance(self.screen, SessionsScreen):
            self.push_screen(SessionsScreen(self.db))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("New run", "Pick a task and an input, or a repository", self.action_new_run)
        yield SystemCommand("Sessions", "List, open, resume and delete sessions", self.action_sessions)
        yield SystemCommand("Help", "Keys and the trace's colours", self.action_help)
        if isinstance(screen, RunScreen):
            for action, title, help_ in (("toggle_pause", "Pause / resume", "Pause after this step, or go on"),
                                         ("stop", "Stop", "Stop after this step (the session stays resumable)"),
                                         ("accept", "Accept diff", "Apply the workspace's diff to your tree"),
                                         ("discard", "Discard diff", "Drop the scratch copy and its diff"),
                                         ("undo", "Undo accept", "Put your files back as before the accept")):
                if screen.check_action(action, ()):
                    yield SystemCommand(title, help_, getattr(screen, f"action_{action}"))

    # --- quitting ----------------------------------------------------------------------------------
    def run_screens(self) -> list[RunScreen]:
        return [s for s in self.screen_stack if isinstance(s, RunScreen)]

    async def action_quit(self) -> None:
        busy = [s for s in self.run_screens() if s.busy]
        if busy:
            self.notify("stopping after the step in flight…", timeout=3)
        for s in busy:
            await s.stop_and_wait()
        for s in self.run_screens():
            s.driver.close()
        self.exit(return_code=self.exit_status())

    def exit_status(self) -> int:
        run = self.last_run
        if run is None:
            return 0
        fin = run.driver.finished
        if fin is None:
            return 3 if run.driver.thread_id else 0
        return 0 if fin.exit == "eos" else 1

    def summary(self) -> str | None:
        """One line for the terminal after the app closed: the session and how to continue it."""
        run = self.last_run
        if run is None or not run.driver.thread_id:
            return None
        tid, fin = run.driver.thread_id, run.driver.finished
        if fin is None:
            return f"session {tid}: {run.status}; continue with `tapehead tui --resume {tid}`"
        return f"session {tid}: exit={fin.exit}" + (f", answer {fin.answer[:80]!r}" if fin.answer else "")
