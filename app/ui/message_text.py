"""The text of one message: a read-only, selectable QTextBrowser as tall as its document.

It never scrolls by itself (the chat view scrolls), never opens links (it reports them), and
answers heightForWidth from its document so the view can lay messages out without showing them;
when the document changes it tells its layout so (updateGeometry), so that answer is never stale.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal
from PySide6.QtGui import QTextDocument, QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QSizePolicy, QTextBrowser, QWidget


class MessageText(QTextBrowser):
    """Shows one QTextDocument (owned by the message widget) at its full height."""

    link_clicked = Signal(QUrl)

    def __init__(self, document: QTextDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocument(document)
        # The layout holding this widget caches heightForWidth per width (QWidgetItemV2) until the
        # widget calls updateGeometry, which QTextBrowser never does when its text changes: without
        # this, a message keeps the height of its first measure (one streamed line) after it grows.
        document.contentsChanged.connect(self.updateGeometry)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.viewport().setAutoFillBackground(False)  # the message's own background shows through
        # Not Fixed: a layout takes a Fixed widget's sizeHint as its maximum height, and a sizeHint
        # asked before the widget has its width (a reopened reply) is the height at another width.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.anchorClicked.connect(self.link_clicked)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        document = self.document()
        if document.textWidth() != width:
            document.setTextWidth(width)
        return math.ceil(document.size().height())

    def sizeHint(self):  # noqa: ANN201 - QSize
        """The height at the width the document is laid out at (the last one asked for), so that
        asking for a hint never lays the document out at a width it will not be shown at."""
        hint = super().sizeHint()
        width = self.document().textWidth()
        if width <= 0:
            width = self.width() if self.width() > 0 else hint.width()
        hint.setHeight(self.heightForWidth(int(width)))
        return hint

    def minimumSizeHint(self):  # noqa: ANN201 - QSize
        hint = super().minimumSizeHint()
        hint.setHeight(0)
        return hint

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The chat view scrolls, not the message: hand the wheel to the view's scroll bar."""
        scroller = self.parentWidget()
        while scroller is not None and not isinstance(scroller, QAbstractScrollArea):
            scroller = scroller.parentWidget()
        if scroller is None:
            event.ignore()
            return
        QCoreApplication.sendEvent(scroller.verticalScrollBar(), event)
