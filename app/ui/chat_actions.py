"""What the person asks of the messages in the chat view, turned into the view's signals.

`ChatActions` belongs to one ChatView. It hears each message widget's requests (copy, edit,
continue, regenerate, delete, the branch switcher, the reasoning fold) and keeps the two pieces of
state they leave behind: which message is being edited (only one at a time) and which replies
have their reasoning open (so a widget made again for that row opens it too).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication

from app.ui.message_widget import MessageWidget


class ChatActions:
    """The message being edited, the open reasoning folds, and the routing of message requests."""

    def __init__(self, view: Any) -> None:
        self.view = view  # a ChatView: its signals, model and widgets
        self.editing: Any = None  # the id of the message being edited
        self.reasoning_open: set[Any] = set()

    def connect(self, widget: MessageWidget) -> None:
        widget.action_requested.connect(self.on_action)
        widget.edit_submitted.connect(self.on_edit_submitted)
        widget.edit_cancelled.connect(self.on_edit_cancelled)
        widget.reasoning_toggled.connect(self.on_reasoning_toggled)
        widget.link_activated.connect(self.view.link_activated)
        widget.code_copied.connect(self.view.code_copied)

    def forget(self, message_id: Any) -> None:
        """The message is gone from the thread."""
        self.reasoning_open.discard(message_id)
        if self.editing == message_id:
            self.editing = None

    def on_action(self, action: str, message_id: Any) -> None:
        view = self.view
        if action == "copy":
            model = view.model()
            row = model.find(message_id) if model is not None else None
            if row is not None:
                QGuiApplication.clipboard().setText(row.content)
            view.copy.emit(message_id)
        elif action == "edit":
            self.start_editing(message_id)
            view.edit.emit(message_id)
        else:
            signal = {
                "continue": view.continue_,
                "regenerate": view.regenerate,
                "delete": view.delete,
                "branch_prev": view.branch_prev,
                "branch_next": view.branch_next,
            }[action]
            signal.emit(message_id)

    def start_editing(self, message_id: Any) -> None:
        widget = self.view.widget_for(message_id)
        if widget is None:
            return
        if self.editing is not None and self.editing != message_id:
            other = self.view.widget_for(self.editing)
            if other is not None:
                other.cancel_editing()
        self.editing = message_id
        widget.start_editing()

    def on_edit_submitted(self, message_id: Any, text: str) -> None:
        self.editing = None
        self.view.edit_submitted.emit(message_id, text)

    def on_edit_cancelled(self, message_id: Any) -> None:
        if self.editing == message_id:
            self.editing = None

    def on_reasoning_toggled(self, message_id: Any, open_: bool) -> None:
        if open_:
            self.reasoning_open.add(message_id)
        else:
            self.reasoning_open.discard(message_id)
