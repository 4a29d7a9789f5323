"""Tooltips that also show when a button gets the keyboard focus, not only under the mouse.

Qt shows a tooltip on hover only, so a person who moves with Tab never learns what an icon button
does. `tooltip_on_focus(widget)` shows the widget's tooltip beneath it when it gets the focus by
Tab, Backtab or a shortcut, and hides it when the focus leaves.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QToolTip, QWidget

SHOW_DELAY_MS = 300  # after the key that moved the focus is released
_KEYBOARD_REASONS = (
    Qt.FocusReason.TabFocusReason,
    Qt.FocusReason.BacktabFocusReason,
    Qt.FocusReason.ShortcutFocusReason,
)


class FocusTooltip(QObject):
    """The one event filter behind tooltip_on_focus; it keeps nothing."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, QWidget) or not isinstance(event, QFocusEvent):
            return False
        if event.type() == QEvent.Type.FocusIn and event.reason() in _KEYBOARD_REASONS and watched.toolTip():
            # Not at once: Qt hides a tooltip on any key release, and Tab's comes just after the focus moved.
            QTimer.singleShot(SHOW_DELAY_MS, watched, lambda: _show(watched))
        elif event.type() == QEvent.Type.FocusOut and QToolTip.isVisible():
            QToolTip.hideText()
        return False


def _show(widget: QWidget) -> None:
    if widget.hasFocus():  # still there: Tab was not pressed again in the meantime
        QToolTip.showText(widget.mapToGlobal(QPoint(0, widget.height() + 2)), widget.toolTip(), widget)


_filter: FocusTooltip | None = None


def tooltip_on_focus(widget: QWidget) -> None:
    """Show `widget`'s tooltip when it gets the keyboard focus."""
    global _filter
    if _filter is None:
        _filter = FocusTooltip(QCoreApplication.instance())
    widget.installEventFilter(_filter)
