"""The action buttons of one message: copy, edit, continue, regenerate (retry), delete, as icons.

Which actions a message offers depends on its role and status (the message widget says); whether
they show depends on the person: they appear while the message is under the mouse or holds the
keyboard focus (and on the latest reply), so a long chat is not a wall of buttons. Hidden
buttons keep their place, so revealing them never moves the text. Each has a tooltip (on hover
and on keyboard focus) and an accessible name.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from app.ui.icons import action_icon, icon_button
from app.ui.message_model import STREAMING, MessageRow
from app.ui.message_stats import can_continue

# (action, accessible name, tooltip, icon); the order they appear in
ACTIONS = (
    ("copy", "Copy", "Copy the message (Ctrl+Shift+C copies the latest reply)", "copy"),
    ("edit", "Edit", "Edit this message and send it again as a new branch (Ctrl+Shift+E: your last one)", "pencil"),
    ("continue", "Continue", "Continue this reply from where it stopped", "step-forward"),
    ("regenerate", "Regenerate", "Write a new reply, as a new branch (Ctrl+R: the latest)", "refresh-cw"),
    ("delete", "Delete", "Delete this message and what follows it", "trash-2"),
)
RETRY_TIP = "Try this reply again"
COPIED_MS = 1200  # how long the copy button shows a tick


def offered_actions(row: MessageRow) -> tuple[str, ...]:
    """The actions a message offers, by its role and status (none while it is being written)."""
    if row.status == STREAMING:
        return ()
    if row.role == "user":
        return ("copy", "edit", "delete")
    if row.role == "assistant":
        resume = ("continue",) if can_continue(row.status, row.finish_reason) else ()
        return ("copy", *resume, "regenerate", "delete")
    return ("copy",)


class MessageActions(QWidget):
    """The buttons, which of them the message offers, and whether they show now."""

    triggered = Signal(str)  # the action

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, QToolButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for action, name, tip, icon in ACTIONS:
            button = icon_button(name, tip, icon)
            button.clicked.connect(lambda _checked=False, action=action: self._clicked(action))
            button.setVisible(False)
            self.buttons[action] = button
            layout.addWidget(button)
        self.offered: tuple[str, ...] = ()
        self.revealed = False

    def offer(self, actions: tuple[str, ...], retry: bool = False) -> None:
        """The actions this message has now; the others take no room."""
        self.offered = actions
        for action, button in self.buttons.items():
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(action in actions)
            button.setSizePolicy(policy)
            button.setVisible(self.revealed and action in actions)
        regenerate = self.buttons["regenerate"]
        regenerate.setText("Retry" if retry else "Regenerate")
        regenerate.setAccessibleName(regenerate.text())
        regenerate.setToolTip(RETRY_TIP if retry else ACTIONS[3][2])
        regenerate.setIcon(action_icon("rotate-ccw" if retry else "refresh-cw"))

    def reveal(self, revealed: bool) -> None:
        """Show the offered buttons (the message is hovered or focused) or hide them, keeping their room."""
        if revealed == self.revealed:
            return
        self.revealed = revealed
        for action in self.offered:
            self.buttons[action].setVisible(revealed)

    def _clicked(self, action: str) -> None:
        if action == "copy":
            button = self.buttons["copy"]
            button.setIcon(action_icon("check"))
            QTimer.singleShot(COPIED_MS, button, lambda: button.setIcon(action_icon("copy")))
        self.triggered.emit(action)

    def sizeHint(self):  # noqa: ANN201 - QSize
        hint = super().sizeHint()
        if not self.offered:
            hint.setWidth(0)
        return hint

    def focusable(self) -> list[QToolButton]:
        return list(self.buttons.values())
