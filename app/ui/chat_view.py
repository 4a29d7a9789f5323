"""The chat pane: the messages of a MessageModel, virtualized and smooth while a reply streams.

Only the rows on screen (plus a margin) have a MessageWidget; the others are a height in a
Fenwick tree (row_heights): an estimate from their length until they are first shown, then the
measured height. Opening a thread of a thousand messages therefore builds a handful of widgets,
and a growing last message costs the same whatever the length of the thread.

The model reports every delta; the view only marks the row dirty and applies the changes on a
timer, at most every FLUSH_INTERVAL_MS (about 40 times a second). The reply's document is updated
incrementally (markdown.MarkdownDocument), so an update costs the last Markdown block, not the
reply. While the user is at the bottom the view follows the reply; once they scroll up it stays
where they are (anchored to the first message on screen) until they come back to the bottom.
Messages sit in a centred column at most TEXT_COLUMN_PX of text wide; the text size can be zoomed.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QPalette, QResizeEvent
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QWidget

from app.ui.chat_actions import ChatActions
from app.ui.chat_focus import ChatFocus
from app.ui.chat_theme import DARK_CODE_STYLE, LIGHT_CODE_STYLE, MESSAGE_PADDING_PX, TEXT_COLUMN_PX, ChatTheme
from app.ui.code_highlight import warm_up_in_background
from app.ui.message_model import STREAMING, MessageModel, MessageRow
from app.ui.message_widget import MessageWidget
from app.ui.message_widget_pool import MessageWidgetPool
from app.ui.row_heights import RowHeights, estimated_height

FLUSH_INTERVAL_MS = 25
MAX_CONTENT_WIDTH = TEXT_COLUMN_PX + 2 * MESSAGE_PADDING_PX  # long lines are hard to read: margins instead
ROW_SPACING = 6
OVERSCAN_PX = 300  # rows this far outside the viewport are laid out too, so scrolling finds them ready
SPARE_WIDGETS = 24  # widgets of rows that left the screen, kept for when the user scrolls back
WARM_UP_DELAY_MS = 1500  # then Pygments is prepared on a worker thread (code_highlight)
FOLLOW_SLACK_PX = 8  # this close to the bottom counts as "at the bottom"


class ChatView(QAbstractScrollArea):
    """The row heights and on-screen widgets of a MessageModel, the scroll position, the edited message."""

    # What the user asked for, by message id; the window connects these to the chat controller.
    regenerate = Signal(object)
    edit = Signal(object)  # the user opened the inline editor on this message
    edit_submitted = Signal(object, str)  # ... and saved this new text
    continue_ = Signal(object)
    copy = Signal(object)  # the view has already put the message's text on the clipboard
    delete = Signal(object)
    branch_prev = Signal(object)
    branch_next = Signal(object)
    link_activated = Signal(str)  # a link in a message was clicked; the view opens nothing itself
    code_copied = Signal(str)  # a code block's Copy link put this code on the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Conversation")
        self.setAccessibleDescription("The open chat's messages; Tab moves through them, Page Up and Down scroll")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Base)
        self.viewport().setAutoFillBackground(True)
        self.verticalScrollBar().setSingleStep(40)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

        self._model: MessageModel | None = None
        self._heights = RowHeights()
        self._measured: list[bool] = []  # per row: the height was measured at the current width
        self._widgets = MessageWidgetPool(self._make_widget, SPARE_WIDGETS)
        self._actions = ChatActions(self)
        self._dirty: set[Any] = set()
        self._following = True
        self._anchor: tuple[Any, int] | None = None  # (message id, offset into it) when not following
        self._adjusting = False  # the view itself is moving the scroll bar
        self._width = 0
        self._estimate_scale = (80, 16.0)  # (characters per line, pixels per line) at the current width
        self._text_points = 0.0  # the chat text's size; 0 is the window's own font
        self._theme = ChatTheme.from_palette(self.palette(), self.font())
        self._focus = ChatFocus(self)
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self.flush)
        # Later, not at once: start-up and the first thread opened must not compete with it for the GIL.
        QTimer.singleShot(WARM_UP_DELAY_MS, lambda: warm_up_in_background((LIGHT_CODE_STYLE, DARK_CODE_STYLE)))
        # Measurements for tests and benchmarks: how many coalesced updates ran, and the last one's cost.
        self.update_count = 0
        self.last_update_ms = 0.0

    # --- public -------------------------------------------------------------------------------------

    def set_model(self, model: MessageModel) -> None:
        if self._model is not None:
            for signal, slot in self._connections():
                signal.disconnect(slot)
        self._model = model
        for signal, slot in self._connections():
            signal.connect(slot)
        self._rebuild()

    def model(self) -> MessageModel | None:
        return self._model

    @property
    def theme(self) -> ChatTheme:
        return self._theme

    def widget_for(self, message_id: Any) -> MessageWidget | None:
        """The widget showing this message, if it is laid out now."""
        return self._widgets.get(message_id)

    def is_following(self) -> bool:
        """True while the view sticks to the bottom (the user has not scrolled up)."""
        return self._following

    def set_text_size(self, points: float) -> None:
        """The chat text's size in points (0: the window's own font); messages are laid out again."""
        self._text_points = points
        self._on_theme_changed()

    def text_size(self) -> float:
        return self._theme.font.pointSizeF()

    def scroll_to_bottom(self) -> None:
        self._following = True
        self._anchor = None
        self._relayout()

    def flush(self) -> None:
        """Apply the pending changes now (the timer calls this; tests may too)."""
        self._flush_timer.stop()
        if self._model is None or not self._dirty:
            return
        started = time.perf_counter()
        for message_id in list(self._dirty):
            position = self._model.row_of(message_id)
            if position is None:
                continue
            row = self._model.row_at(position)
            widget = self._widgets.revive(message_id)
            if widget is not None:
                widget.update_row(row)
                self._store_height(position, widget.height_for_width(self._width) + ROW_SPACING, True)
            else:
                self._store_height(position, self._estimate(row), False)
        self._dirty.clear()
        self._relayout()
        self.update_count += 1
        self.last_update_ms = (time.perf_counter() - started) * 1000.0

    # --- model signals ------------------------------------------------------------------------------

    def _connections(self) -> list[tuple[Any, Any]]:
        model = self._model
        assert model is not None
        return [
            (model.modelReset, self._rebuild),
            (model.layoutChanged, self._rebuild),
            (model.rowsMoved, self._rebuild),
            (model.rowsInserted, self._on_rows_inserted),
            (model.rowsAboutToBeRemoved, self._on_rows_about_to_be_removed),
            (model.rowsRemoved, self._on_rows_removed),
            (model.dataChanged, self._on_data_changed),
        ]

    def _rebuild(self, *_: Any) -> None:
        """The whole thread changed (another conversation, or a branch switch in this one).

        Widgets of messages that are still there are reused, and if the message at the top of the
        screen is still there the view stays on it: switching a branch mid-thread keeps your place.
        """
        rows = self._all_rows()
        ids = {row.id for row in rows}
        self._focus.release(set())
        self._widgets.keep_only(ids, not_kept=self._actions.editing)
        self._dirty.clear()  # a reused widget is brought up to date when it is shown again
        self._actions.editing = None
        if self._anchor is None or self._anchor[0] not in ids:
            self._following, self._anchor = True, None
        self._actions.reasoning_open &= ids
        self._set_width(self._content_width())
        self._heights.reset([self._estimate(row) for row in rows])
        self._measured = [False] * len(rows)
        self._relayout()

    def _on_rows_inserted(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        assert self._model is not None
        rows = [self._model.row_at(position) for position in range(first, last + 1)]
        self._heights.insert(first, [self._estimate(row) for row in rows])
        self._measured[first:first] = [False] * len(rows)
        if last == self._model.rowCount() - 1 and any(row.role == "user" for row in rows):
            self._following, self._anchor = True, None  # the user just sent a message: show it
        self._relayout()

    def _on_rows_about_to_be_removed(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        assert self._model is not None
        for position in range(first, last + 1):
            message_id = self._model.row_at(position).id
            self._widgets.discard([message_id])
            self._dirty.discard(message_id)
            self._actions.forget(message_id)

    def _on_rows_removed(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        self._heights.remove(first, last - first + 1)
        del self._measured[first : last + 1]
        self._relayout()

    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: list[int] = ()) -> None:
        assert self._model is not None
        for position in range(top_left.row(), bottom_right.row() + 1):
            self._dirty.add(self._model.row_at(position).id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    # --- layout -------------------------------------------------------------------------------------

    def _all_rows(self) -> list[MessageRow]:
        if self._model is None:
            return []
        return [self._model.row_at(position) for position in range(self._model.rowCount())]

    def _content_width(self) -> int:
        return max(160, min(self.viewport().width(), MAX_CONTENT_WIDTH))

    def _set_width(self, width: int) -> None:
        self._width = width
        metrics = QFontMetrics(self._theme.font)
        per_line = max(20, (width - 40) // max(metrics.averageCharWidth(), 1))
        self._estimate_scale = (per_line, metrics.lineSpacing() * 1.15)

    def _estimate(self, row: MessageRow) -> int:
        return estimated_height(row.content, *self._estimate_scale) + ROW_SPACING

    def _store_height(self, position: int, height: int, measured: bool) -> None:
        self._heights.set(position, height)
        self._measured[position] = measured

    def _pinned(self) -> set[Any]:
        """Rows whose widgets stay alive off screen: the reply being written and the one being edited."""
        pinned = set()
        if self._model is not None:
            last = self._model.last()
            if last is not None and last.status == STREAMING:
                pinned.add(last.id)
        if self._actions.editing is not None:
            pinned.add(self._actions.editing)
        return pinned

    def _make_widget(self, row: MessageRow) -> MessageWidget:
        widget = MessageWidget(row, self._theme, row.id in self._actions.reasoning_open, self.viewport())
        self._actions.connect(widget)
        widget.size_changed.connect(self._on_widget_size_changed)
        return widget

    def _relayout(self) -> None:
        """Measure the rows on screen, place their widgets and set the scroll bar."""
        model = self._model
        count = model.rowCount() if model is not None else 0
        viewport_height = self.viewport().height()
        if model is None or count == 0:
            self._widgets.park(set(), self._pinned())
            self._set_scroll(0, 0)
            return
        scroll = 0
        visible: list[int] = []
        for _ in range(12):  # measuring rows changes heights: repeat until nothing moves
            scroll = self._scroll_target(viewport_height)
            visible, changed = [], False
            position = self._heights.row_at(max(scroll - OVERSCAN_PX, 0))
            y = self._heights.top(position)
            while position < count and y < scroll + viewport_height + OVERSCAN_PX:
                row = model.row_at(position)
                if not self._measured[position]:
                    widget = self._widgets.widget(row)
                    height = widget.height_for_width(self._width) + ROW_SPACING
                    changed |= height != self._heights[position]
                    self._store_height(position, height, True)
                visible.append(position)
                y += self._heights[position]
                position += 1
            if not changed:
                break
        maximum = max(self._heights.total() - viewport_height, 0)
        scroll = min(max(scroll, 0), maximum)
        x = (self.viewport().width() - self._width) // 2
        shown: list[MessageWidget] = []
        for position in visible:
            row = model.row_at(position)
            widget = self._widgets.widget(row)
            widget.setGeometry(
                x, self._heights.top(position) - scroll, self._width, self._heights[position] - ROW_SPACING
            )
            widget.set_latest(position == count - 1 and row.role == "assistant")
            if widget.isHidden():
                widget.show()
            shown.append(widget)
        on_screen = {widget.message_id for widget in shown}
        self._focus.release(on_screen | self._pinned())
        self._widgets.park(on_screen, self._pinned())
        self._set_scroll(scroll, maximum)
        self._focus.chain(shown)

    def _scroll_target(self, viewport_height: int) -> int:
        maximum = max(self._heights.total() - viewport_height, 0)
        if self._following:
            return maximum
        if self._anchor is not None and self._model is not None:
            position = self._model.row_of(self._anchor[0])
            if position is not None:
                return min(self._heights.top(position) + self._anchor[1], maximum)
        return min(self.verticalScrollBar().value(), maximum)

    def _set_scroll(self, value: int, maximum: int) -> None:
        bar = self.verticalScrollBar()
        self._adjusting = True
        try:
            bar.setPageStep(max(self.viewport().height(), 1))
            bar.setRange(0, maximum)
            bar.setValue(value)
        finally:
            self._adjusting = False

    def _on_scrolled(self, value: int) -> None:
        if self._adjusting:
            return
        bar = self.verticalScrollBar()
        self._following = value >= bar.maximum() - FOLLOW_SLACK_PX
        self._anchor = None
        if not self._following and self._model is not None and self._model.rowCount():
            position = self._heights.row_at(value)
            self._anchor = (self._model.row_at(position).id, value - self._heights.top(position))
        self._relayout()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        pass  # _on_scrolled places the widgets; nothing to scroll by pixels

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self._content_width()
        if width != self._width:
            self._set_width(width)
            rows = self._all_rows()
            self._heights.reset([self._estimate(row) for row in rows])
            self._measured = [False] * len(rows)
        self._relayout()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._on_theme_changed()

    def _on_theme_changed(self) -> None:
        """Colours or fonts changed (the system switched to dark, the text was zoomed): draw anew."""
        font = self.font()
        if self._text_points > 0:
            font.setPointSizeF(self._text_points)
        theme = ChatTheme.from_palette(self.palette(), font)
        if theme != self._theme:
            self._theme = theme
            self._widgets.clear()  # drawn in the old colours or size
            if self._model is not None:
                self._rebuild()

    # --- actions ------------------------------------------------------------------------------------

    def edit_message(self, message_id: Any) -> None:
        """Open the inline editor on this message (scrolled into sight first)."""
        self.scroll_to_message(message_id)
        self._actions.start_editing(message_id)

    def scroll_to_message(self, message_id: Any) -> None:
        position = self._model.row_of(message_id) if self._model is not None else None
        if position is not None and self.widget_for(message_id) is None:
            self._following, self._anchor = False, (message_id, 0)
            self._relayout()

    def _on_widget_size_changed(self, message_id: Any) -> None:
        if self._model is None:
            return
        position = self._model.row_of(message_id)
        widget = self._widgets.get(message_id)
        if position is not None and widget is not None:
            self._store_height(position, widget.height_for_width(self._width) + ROW_SPACING, True)
            self._relayout()
