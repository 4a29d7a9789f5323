"""One message in the chat view: who wrote it, its reasoning (folded), its text, a notice for an
interrupted or failed reply, its sources or files (citation_list), the stats line, the actions, the "< 2/3 >" switcher.

The chat view creates these only for the rows on screen and reuses them while the row stays
there; `update_row` is cheap when only the reply grew, which is the streaming case. The action
buttons (MessageActions) show while the message is hovered or holds the focus, and on the latest
reply. For screen readers the message is named by its author and described by its text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.chat_theme import MESSAGE_PADDING_PX, ChatTheme
from app.ui.citation_list import DocumentLinks
from app.ui.icons import icon_button
from app.ui.markdown import COPY_SCHEME, MarkdownDocument
from app.ui.message_actions import MessageActions, offered_actions
from app.ui.message_editor import MessageEditor
from app.ui.message_model import ERROR, STREAMING, MessageRow
from app.ui.message_stats import folded_result, row_footer, row_notice
from app.ui.message_text import MessageText
from app.ui.theme import error_style

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System prompt", "tool": "Tool"}
DESCRIPTION_CHARS = 2000  # of the text, for screen readers: enough to read on, cheap to set


class MessageWidget(QFrame):
    """The widgets of one message; it shows a MessageRow and reports what the user asks of it."""

    action_requested = Signal(str, object)  # (action, message id): copy, edit, continue, regenerate, delete,
    #                                          branch_prev, branch_next
    edit_submitted = Signal(object, str)
    edit_cancelled = Signal(object)
    link_activated = Signal(str)
    code_copied = Signal(str)
    reasoning_toggled = Signal(object, bool)
    size_changed = Signal(object)  # the message's height may have changed for reasons of its own

    def __init__(
        self, row: MessageRow, theme: ChatTheme, reasoning_open: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.message_id = row.id
        self.row_role = row.role
        self.theme = theme
        self._row: MessageRow | None = None
        self._reasoning_open = reasoning_open
        self._reasoning_shown = ""  # the reasoning already in the reasoning view, which only grows
        self._word_count = (-1, 0)  # (reasoning length, words): counted again only when it grows
        self._shown: dict[str, Any] = {}  # what the labels and buttons show now, to skip needless updates
        self.editor: QPlainTextEdit | None = None  # while editing: the draft's box
        self._edit_box: MessageEditor | None = None
        self.reasoning_view: MessageText | None = None
        self._hovered = self._focused = self._latest = False
        self.setFont(theme.font)
        self.setAccessibleName(ROLE_NAMES.get(row.role, row.role.title()))
        if row.role == "user":
            self.setAutoFillBackground(True)
            self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(MESSAGE_PADDING_PX, 8, MESSAGE_PADDING_PX, 8)
        layout.setSpacing(6)
        layout.addLayout(self._header(row))
        layout.addWidget(self._reasoning_toggle(reasoning_open))
        self._reasoning_index = layout.count()
        self.content_view = MessageText(self._content_document(row))
        self.content_view.setAccessibleName(f"{self.accessibleName()}: message text")
        self.content_view.link_clicked.connect(self._on_link)
        layout.addWidget(self.content_view)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)
        self.documents = DocumentLinks(layout, theme.muted)  # "Sources: [1] …" or "Attached: …"
        footer = self._footer()
        if row.role == "user":
            # Your message has no stats line: its buttons sit in the header, so no empty band is left below.
            self.stats_label.setVisible(False)
            footer.removeWidget(self.actions)
            self._header_row.insertWidget(2, self.actions, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(footer)
        self.update_row(row)

    def _header(self, row: MessageRow) -> QHBoxLayout:
        """Who wrote the message, and the branch switcher (hidden while there is one branch)."""
        header = QHBoxLayout()
        header.setSpacing(2)
        self.role_label = QLabel(ROLE_NAMES.get(row.role, row.role.title()))
        bold = QFont(self.theme.font)
        bold.setBold(True)
        self.role_label.setFont(bold)
        header.addWidget(self.role_label)
        header.addStretch(1)
        self._header_row = header
        self.branch_prev = self._branch_button("Previous branch", "chevron-left", "branch_prev")
        self.branch_label = QLabel()
        self.branch_next = self._branch_button("Next branch", "chevron-right", "branch_next")
        for widget in (self.branch_prev, self.branch_label, self.branch_next):
            widget.setVisible(False)
            header.addWidget(widget)
        return header

    def _reasoning_toggle(self, reasoning_open: bool) -> QToolButton:
        self.reasoning_button = QToolButton()  # not checkable: a checked tool button looks pressed
        self.reasoning_button.setAutoRaise(True)
        self.reasoning_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_button.setArrowType(Qt.ArrowType.DownArrow if reasoning_open else Qt.ArrowType.RightArrow)
        self.reasoning_button.setToolTip("Show or hide the model's reasoning")
        self.reasoning_button.setAccessibleName("Show or hide the reasoning")
        self.reasoning_button.clicked.connect(lambda _checked=False: self.set_reasoning_open(not self._reasoning_open))
        self.reasoning_button.setVisible(False)
        return self.reasoning_button

    def _content_document(self, row: MessageRow) -> QTextDocument:
        """Markdown for replies (kept in step as they grow); plain text for everything else."""
        if row.role == "assistant":
            self.markdown: MarkdownDocument | None = MarkdownDocument(self.theme, self)
            return self.markdown.document
        self.markdown = None
        document = QTextDocument(self)
        document.setUndoRedoEnabled(False)
        document.setDocumentMargin(0)  # text lines up with the message's header
        document.setDefaultFont(self.theme.font)
        return document

    def _footer(self) -> QHBoxLayout:
        """The stats line and the action buttons."""
        footer = QHBoxLayout()
        footer.setSpacing(2)
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextFormat(Qt.TextFormat.PlainText)
        self.stats_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        muted = self.stats_label.palette()
        muted.setColor(QPalette.ColorRole.WindowText, self.theme.muted)
        self.stats_label.setPalette(muted)
        small = QFont(self.theme.font)
        if small.pointSizeF() > 0:
            small.setPointSizeF(small.pointSizeF() * 0.9)
        self.stats_label.setFont(small)
        footer.addWidget(self.stats_label, 1)
        self.actions = MessageActions()
        self.actions.triggered.connect(self._request)
        self.buttons = self.actions.buttons
        footer.addWidget(self.actions, 0, Qt.AlignmentFlag.AlignBottom)
        return footer

    # --- the row --------------------------------------------------------------------------------------

    def update_row(self, row: MessageRow) -> None:
        """Show the row's current state; only what changed is touched."""
        self._row = row
        if self.markdown is not None:
            self.markdown.set_text(row.content)
        elif self._shown.get("content") != row.content:
            self._shown["content"] = row.content
            self.content_view.document().setPlainText(folded_result(row.content) if row.role == "tool" else row.content)
        self._show_reasoning(row)
        self._show_branches(row)
        self.documents.show_row(row)
        streaming = row.status == STREAMING
        notice = row_notice(row.status, row.error)
        self._set_shown("notice", notice, lambda: self._show_notice(notice, row.status == ERROR))
        footer = row_footer(row.role, row.stats, row.finish_reason, row.tool_calls)
        stats = "" if streaming or row.role not in ("assistant", "tool") else footer
        if streaming and row.role == "assistant":
            stats = "Writing…"
        self._set_shown("stats", stats, lambda: self.stats_label.setText(stats))
        wanted = self._wanted_actions(row)
        self._set_shown("actions", wanted, lambda: self._show_actions(wanted))
        if not streaming:  # for screen readers; not while it streams (a costly string, many times a second)
            described = row.content[:DESCRIPTION_CHARS]
            self._set_shown("description", described, lambda: self._describe(described))

    def _describe(self, text: str) -> None:
        self.setAccessibleDescription(text)
        self.content_view.setAccessibleDescription(text)

    def _set_shown(self, key: str, value: Any, apply) -> None:
        if self._shown.get(key, None) != value or key not in self._shown:
            self._shown[key] = value
            apply()

    def _show_notice(self, notice: str, error: bool) -> None:
        self.notice_label.setText(notice)
        self.notice_label.setStyleSheet(error_style(self.palette()) if error else "")
        self.notice_label.setVisible(bool(notice))

    def _wanted_actions(self, row: MessageRow) -> tuple[str, ...]:
        return () if self.editor is not None else offered_actions(row)

    def _show_actions(self, wanted: tuple[str, ...]) -> None:
        self.actions.offer(wanted, retry=self._row is not None and self._row.status == ERROR)

    # --- hover and focus: when the actions show -------------------------------------------------------

    def enterEvent(self, event: QEvent) -> None:
        super().enterEvent(event)
        self._hovered = True
        self._reveal()

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self._hovered = False
        self._reveal()

    def set_focus_within(self, focused: bool) -> None:
        """The keyboard focus is on this message's text or one of its buttons (the chat view says)."""
        self._focused = focused
        self._reveal()

    def set_latest(self, latest: bool) -> None:
        """The latest reply keeps its actions in view."""
        if latest != self._latest:
            self._latest = latest
            self._reveal()

    def _reveal(self) -> None:
        self.actions.reveal(self._hovered or self._focused or self._latest)

    def focus_chain(self) -> list[QWidget]:
        """The widgets Tab moves through, in order: the branch switcher, the text, the actions."""
        parts = [self.branch_prev, self.branch_next, self.reasoning_button, self.content_view, self.documents]
        return [*parts, *self.actions.focusable()]

    def _show_branches(self, row: MessageRow) -> None:
        branches = (row.sibling_position, row.sibling_count)
        if self._shown.get("branches") == branches:
            return
        self._shown["branches"] = branches
        many = row.sibling_count > 1
        for widget in (self.branch_prev, self.branch_label, self.branch_next):
            widget.setVisible(many)
        if many:
            self.branch_label.setText(f"{row.sibling_position}/{row.sibling_count}")
            self.branch_prev.setEnabled(row.sibling_position > 1)
            self.branch_next.setEnabled(row.sibling_position < row.sibling_count)

    # --- reasoning ------------------------------------------------------------------------------------

    def _show_reasoning(self, row: MessageRow) -> None:
        has = bool(row.reasoning)
        if not has:
            self.reasoning_button.setVisible(False)
            if self.reasoning_view is not None:
                self.reasoning_view.setVisible(False)
            return
        thinking = row.status == STREAMING and not row.content
        if not thinking and self._word_count[0] != len(row.reasoning):
            self._word_count = (len(row.reasoning), len(row.reasoning.split()))
        label = "Thinking…" if thinking else f"Reasoning · {self._word_count[1]} words"
        if self._shown.get("reasoning_label") != label:
            self._shown["reasoning_label"] = label
            self.reasoning_button.setText(label)
        self.reasoning_button.setVisible(True)
        if self._reasoning_open:
            view = self._reasoning_view()
            if not row.reasoning.startswith(self._reasoning_shown):
                self._reasoning_shown = ""
                view.document().clear()
            if len(row.reasoning) > len(self._reasoning_shown):
                cursor = QTextCursor(view.document())
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(row.reasoning[len(self._reasoning_shown) :])  # appended, never set again
                self._reasoning_shown = row.reasoning
            view.setVisible(True)
        elif self.reasoning_view is not None:
            self.reasoning_view.setVisible(False)

    def _reasoning_view(self) -> MessageText:
        if self.reasoning_view is None:
            document = QTextDocument(self)
            document.setUndoRedoEnabled(False)
            document.setDocumentMargin(0)  # text lines up with the message's header
            document.setDefaultFont(self.theme.font)
            self.reasoning_view = MessageText(document)
            muted = self.reasoning_view.palette()
            muted.setColor(QPalette.ColorRole.Text, self.theme.muted)
            self.reasoning_view.setPalette(muted)
            self.layout().insertWidget(self._reasoning_index, self.reasoning_view)
        return self.reasoning_view

    def set_reasoning_open(self, checked: bool) -> None:
        if checked == self._reasoning_open:
            return
        self._reasoning_open = checked
        self.reasoning_button.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        if self._row is not None:
            self._show_reasoning(self._row)
        self.reasoning_toggled.emit(self.message_id, checked)
        self.size_changed.emit(self.message_id)

    @property
    def reasoning_open(self) -> bool:
        return self._reasoning_open

    # --- editing --------------------------------------------------------------------------------------

    def start_editing(self) -> None:
        if self._edit_box is not None or self._row is None:
            return
        self._edit_box = MessageEditor(self._row.content, self.content_view.height())
        self._edit_box.submitted.connect(self._submit_edit)
        self._edit_box.cancelled.connect(self.cancel_editing)
        self.editor = self._edit_box.editor
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.content_view) + 1, self._edit_box)
        self.content_view.setVisible(False)
        self._set_shown("actions", (), lambda: self._show_actions(()))
        self.editor.setFocus()
        self.size_changed.emit(self.message_id)

    def cancel_editing(self) -> None:
        if self._edit_box is None:
            return
        self._stop_editing()
        self.edit_cancelled.emit(self.message_id)

    def _submit_edit(self, text: str) -> None:
        if self._edit_box is None:
            return
        self._stop_editing()
        self.edit_submitted.emit(self.message_id, text)

    def _stop_editing(self) -> None:
        if self._edit_box is not None:
            self._edit_box.setParent(None)
            self._edit_box.deleteLater()
        self._edit_box = None
        self.editor = None
        self.content_view.setVisible(True)
        if self._row is not None:
            wanted = self._wanted_actions(self._row)
            self._set_shown("actions", wanted, lambda: self._show_actions(wanted))
        self.size_changed.emit(self.message_id)

    @property
    def editing(self) -> bool:
        return self.editor is not None

    # --- size and links -------------------------------------------------------------------------------

    def height_for_width(self, width: int) -> int:
        """The height this message needs at this width, without showing it."""
        layout = self.layout()
        _invalidate(layout)  # the texts may have changed since the last measure
        return layout.totalHeightForWidth(width)

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME and self.markdown is not None:
            try:
                code = self.markdown.code_text(int(url.path()))
            except ValueError:
                code = None
            if code is not None:
                QGuiApplication.clipboard().setText(code)
                self.code_copied.emit(code)
            return
        self.link_activated.emit(url.toString())

    def _request(self, action: str) -> None:
        self.action_requested.emit(action, self.message_id)

    def _branch_button(self, tip: str, icon: str, action: str) -> QToolButton:
        button = icon_button(tip, f"{tip} (this message has other versions)", icon)
        button.clicked.connect(lambda _checked=False, action=action: self._request(action))
        return button


def _invalidate(layout: QLayout) -> None:
    """Drop the cached sizes of a layout and of the layouts nested in it.

    QLayout.invalidate() clears only the layout it is called on; a nested box layout (the footer)
    keeps its height-for-width cache until Qt activates the top layout, which it does only when the
    widget is shown or processes a LayoutRequest: after the view has measured it. A stats line that
    changed from "Writing…" to two wrapped lines would be measured as one.
    """
    layout.invalidate()
    for index in range(layout.count()):
        child = layout.itemAt(index).layout()
        if child is not None:
            _invalidate(child)
