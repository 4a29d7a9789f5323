"""The message widgets of a chat view, by message id: those laid out now, and spare ones.

The chat view gives only the rows on screen a MessageWidget. A row that scrolls away keeps its
widget for a while among the spare ones (at most `spare_limit`, the oldest dropped first), so
scrolling back costs nothing; a widget is only ever deleted through here, hidden first and with
deleteLater, so no event still on its way can reach a deleted widget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.ui.message_model import MessageRow
from app.ui.message_widget import MessageWidget


class MessageWidgetPool:
    """The widgets in use (`shown`) and the spare ones, oldest first."""

    def __init__(self, make: Callable[[MessageRow], MessageWidget], spare_limit: int) -> None:
        self._make = make
        self._spare_limit = spare_limit
        self.shown: dict[Any, MessageWidget] = {}  # rows laid out now (and pinned ones)
        self.spare: dict[Any, MessageWidget] = {}

    def __len__(self) -> int:
        return len(self.shown)

    def get(self, message_id: Any) -> MessageWidget | None:
        """The widget in use for this message, if there is one."""
        return self.shown.get(message_id)

    def revive(self, message_id: Any) -> MessageWidget | None:
        """The message's widget in use or spare (then in use again), without making one."""
        widget = self.shown.get(message_id) or self.spare.pop(message_id, None)
        if widget is not None:
            self.shown[message_id] = widget
        return widget

    def widget(self, row: MessageRow) -> MessageWidget:
        """The row's widget, up to date: in use, revived from the spare ones, or new."""
        widget = self.shown.get(row.id)
        if widget is None:
            widget = self.spare.pop(row.id, None)
            if widget is None:
                widget = self._make(row)
            else:
                widget.update_row(row)
            self.shown[row.id] = widget
        return widget

    def park(self, on_screen: set[Any], pinned: set[Any]) -> None:
        """Widgets not on screen become spare, except pinned ones (moved out of sight instead)."""
        for message_id in [i for i in self.shown if i not in on_screen]:
            widget = self.shown[message_id]
            if message_id in pinned:
                widget.move(widget.x(), -widget.height() - 100)  # off screen, still updated
                continue
            del self.shown[message_id]
            widget.hide()
            self.spare[message_id] = widget
        while len(self.spare) > self._spare_limit:
            self.spare.pop(next(iter(self.spare))).deleteLater()

    def keep_only(self, ids: set[Any], not_kept: Any = None) -> None:
        """Another thread is shown: the widgets of messages still in it become spare, the rest go."""
        kept = {i: w for i, w in [*self.spare.items(), *self.shown.items()] if i in ids and i != not_kept}
        for message_id, widget in [*self.shown.items(), *self.spare.items()]:
            if kept.get(message_id) is not widget:
                _delete(widget)
        for widget in kept.values():
            widget.hide()
        self.shown.clear()
        self.spare = kept

    def discard(self, message_ids: Iterable[Any]) -> None:
        for message_id in message_ids:
            for pool in (self.shown, self.spare):
                widget = pool.pop(message_id, None)
                if widget is not None:
                    _delete(widget)

    def clear(self) -> None:
        for widget in [*self.shown.values(), *self.spare.values()]:
            _delete(widget)
        self.shown.clear()
        self.spare.clear()


def _delete(widget: MessageWidget) -> None:
    widget.hide()
    widget.deleteLater()
