"""The keyboard in the chat pane: which message holds the focus, and the Tab order between messages.

The chat view makes message widgets in whatever order rows come on screen (scrolling up makes the
earlier ones last), so Qt's own focus chain, which follows creation, would jump about. `ChatFocus`
chains the widgets on screen top to bottom whenever that order changes, tells a message when the
focus enters or leaves it (its actions show then), and scrolls the view to bring what got the
focus into sight.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget

from app.ui.message_widget import MessageWidget


def message_of(widget: QWidget | None) -> MessageWidget | None:
    """The message widget `widget` belongs to, if any."""
    while widget is not None and not isinstance(widget, MessageWidget):
        widget = widget.parentWidget()
    return widget


class ChatFocus(QObject):
    """The message holding the focus and the Tab order of the messages on screen."""

    def __init__(self, view: QAbstractScrollArea) -> None:
        super().__init__(view)
        self._view = view
        self._order: list[Any] = []  # the message ids on screen, top to bottom, as last chained
        self._focused: MessageWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def chain(self, widgets: list[MessageWidget]) -> None:
        """Tab goes through these messages in this order (their switcher, text and actions each)."""
        order = [widget.message_id for widget in widgets]
        if order == self._order:
            return
        self._order = order
        # After the view itself (whose Page Up and Down scroll), before what followed it (the composer).
        previous: QWidget | None = self._view
        for widget in widgets:
            for part in widget.focus_chain():
                if previous is not None:
                    QWidget.setTabOrder(previous, part)
                previous = part

    def release(self, keep: set[Any]) -> None:
        """Messages not in `keep` are about to be hidden: if one holds the focus, the view takes it.

        Qt would otherwise hand the focus on along the chain, to a message that may be far off.
        """
        if self._focused is not None and shiboken6.isValid(self._focused) and self._focused.message_id not in keep:
            self._view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if not shiboken6.isValid(self._view):
            return
        message = message_of(new) if new is not None and self._view.isAncestorOf(new) else None
        if self._focused is not message:
            if self._focused is not None and shiboken6.isValid(self._focused):
                self._focused.set_focus_within(False)
            self._focused = message
            if message is not None:
                message.set_focus_within(True)
        if message is not None and new is not None:
            QTimer.singleShot(0, self, lambda: self._bring_into_sight(new))

    def _bring_into_sight(self, part: QWidget) -> None:
        """A part of a message out of sight got the focus (by Tab): scroll the view so that it shows.

        Only a part wholly out of sight: a click lands on a part in sight, and must not scroll.
        """
        if not shiboken6.isValid(part) or not part.hasFocus():
            return
        viewport = self._view.viewport()
        top = part.mapTo(viewport, part.rect().topLeft()).y()
        if top + part.height() > 0 and top < viewport.height():
            return
        bar = self._view.verticalScrollBar()
        if top < 0:
            bar.setValue(bar.value() + top)
        else:
            bar.setValue(bar.value() + top + min(part.height(), viewport.height()) - viewport.height())
