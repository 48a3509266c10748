"""Training progress for ``model/training/train.py``: a rich progress bar on a terminal, plain log lines
otherwise, silence on ranks other than 0. Both go to stderr, so that stdout holds only what a
command prints as its result (``tapehead train``'s summary: one JSON line, whole in a pipe)."""

from __future__ import annotations

import sys


class Reporter:
    """Progress bar on a terminal, plain lines otherwise; silent off rank 0."""

    def __init__(self, cfg, rank: int, start: int):
        self.cfg = cfg
        self.active = rank == 0
        use_bar = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        self.bar = None
        if self.active and use_bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[tps]} tok/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.task = self.bar.add_task("train", total=cfg.steps, completed=start, loss="-", lr="-", tps="-")
            self.bar.start()

    def advance(self):
        if self.bar is not None:
            self.bar.update(self.task, advance=1)

    def log(self, info: dict):
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(
                self.task, loss=f"{info['loss']:.4f}", lr=f"{info['lr']:.2e}", tps=f"{info['tokens_per_s']:,.0f}"
            )
        else:
            print(
                f"step {info['step']:>7}/{self.cfg.steps}  loss {info['loss']:.4f}  lr {info['lr']:.3e}  "
                f"gnorm {info['grad_norm']:.3f}  {info['tokens_per_s']:,.0f} tok/s",
                file=sys.stderr, flush=True,
            )

    def message(self, text: str):
        if not self.active:
            return
        if self.bar is not None:
            self.bar.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.stop()
