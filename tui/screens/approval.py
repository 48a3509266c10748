"""The approval modal: answers the graph's ``interrupt()`` for a side-effecting call.

Convention (``agent/graph/approval.py``): a request is ``{"kind": "approval", "tool", "category",
"args", "index"}`` and the answer ``{"approve": bool, "note": str}``. The modal dismisses with an
``Answer``: approve, deny (with the note typed in the field), or approve the rest of this category
(the run screen switches the category to ``yolo`` before answering yes). A request of another
kind (a re-run request, or one this version does not know) is shown as it is, JSON included, and
answered yes or no: nothing is assumed about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class Answer:
    approve: bool
    note: str = ""
    category: str | None = None  # set: approve every later call of this category

    def value(self) -> dict:
        """The resume value for ``Command(resume=...)``."""
        return {"approve": self.approve, "note": self.note}


def describe(request: dict) -> Text:
    t = Text()
    kind = request.get("kind", "approval")
    if kind == "approval":
        t.append(f"{request.get('tool', '?')}", style="bold")
        t.append(f"  ({request.get('category', '?')})\n\n", style="dim")
        args = request.get("args") or {}
        for k, v in args.items():
            t.append(f"{k}: ", style="bold")
            t.append(f"{v}\n" if isinstance(v, str) else f"{json.dumps(v)}\n")
    else:
        t.append(f"a request of kind {kind!r}", style="bold")
        t.append(" (answer yes or no)\n\n", style="dim")
        t.append(json.dumps(request, indent=2, ensure_ascii=False, default=str))
    return t


class ApprovalModal(ModalScreen[Answer]):
    CSS_PATH = "approval.tcss"
    BINDINGS = [
        Binding("y", "approve", "Approve"),
        Binding("n", "deny", "Deny"),
        Binding("A", "approve_all", "Approve category"),
        Binding("escape", "deny", "Deny", show=False),  # also from the note field (Enter too)
    ]

    def __init__(self, request: dict):
        super().__init__()
        self.request = request
        self.known = request.get("kind", "approval") == "approval"

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-box") as box:
            box.border_title = "approve this call?" if self.known else "the agent asks"
            with VerticalScroll(id="approval-body"):
                yield Static(describe(self.request), id="approval-request")
            yield Label("note for the policy when you deny (optional):", id="note-label")
            yield Input(placeholder="e.g. not in this directory", id="note")
            with Horizontal(id="approval-buttons"):
                yield Button("Approve [y]", variant="success", id="approve")
                if self.known:
                    yield Button(f"Approve all {self.request.get('category', '')} [A]", variant="primary",
                                 id="approve_all")
                yield Button("Deny [n]", variant="error", id="deny")

    def on_mount(self) -> None:
        self.query_one("#approve", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        getattr(self, f"action_{event.button.id}")()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_deny()

    def _note(self) -> str:
        return self.query_one("#note", Input).value.strip()

    def check_action(self, action: str, parameters) -> bool | None:
        # (while the note field has focus, letters go into it: Input handles them first)
        return self.known if action == "approve_all" else True

    def action_approve(self) -> None:
        self.dismiss(Answer(True, self._note()))

    def action_deny(self) -> None:
        self.dismiss(Answer(False, self._note()))

    def action_approve_all(self) -> None:
        self.dismiss(Answer(True, self._note(), category=self.request.get("category")))
