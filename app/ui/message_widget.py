"""One message in the chat view: who wrote it, its reasoning (folded), its text, a notice for an
interrupted or failed reply, the stats line, the actions, and the "< 2/3 >" branch switcher.

The chat view creates these only for the rows on screen and reuses them while the row stays
there; `update_row` is cheap when only the reply grew, which is the streaming case.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.chat_theme import ChatTheme
from app.ui.markdown import COPY_SCHEME, MarkdownDocument
from app.ui.message_model import ERROR, INTERRUPTED, STREAMING, MessageRow
from app.ui.message_stats import can_continue, format_stats
from app.ui.message_text import MessageText

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System prompt", "tool": "Tool"}
# (action, button text, tooltip); which of them a message shows depends on its role and status
ACTIONS = (
    ("copy", "Copy", "Copy the message"),
    ("edit", "Edit", "Edit this message and send it again as a new branch"),
    ("continue", "Continue", "Continue this reply from where it stopped"),
    ("regenerate", "Regenerate", "Write a new reply (a new branch)"),
    ("delete", "Delete", "Delete this message"),
)


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
        self.editor: QPlainTextEdit | None = None
        self.reasoning_view: MessageText | None = None

        if row.role == "user":
            self.setAutoFillBackground(True)
            self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(6)
        layout.addLayout(self._header(row))
        layout.addWidget(self._reasoning_toggle(reasoning_open))
        self._reasoning_index = layout.count()
        self.content_view = MessageText(self._content_document(row))
        self.content_view.link_clicked.connect(self._on_link)
        layout.addWidget(self.content_view)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)
        layout.addLayout(self._footer())
        self.update_row(row)

    def _header(self, row: MessageRow) -> QHBoxLayout:
        """Who wrote the message, and the branch switcher (hidden while there is one branch)."""
        header = QHBoxLayout()
        header.setSpacing(2)
        self.role_label = QLabel(ROLE_NAMES.get(row.role, row.role.title()))
        bold = QFont(self.role_label.font())
        bold.setBold(True)
        self.role_label.setFont(bold)
        header.addWidget(self.role_label)
        header.addStretch(1)
        self.branch_prev = self._tool_button("‹", "Previous branch", "branch_prev")
        self.branch_label = QLabel()
        self.branch_next = self._tool_button("›", "Next branch", "branch_next")
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
        small = QFont(self.stats_label.font())
        if small.pointSizeF() > 0:
            small.setPointSizeF(small.pointSizeF() * 0.9)
        self.stats_label.setFont(small)
        footer.addWidget(self.stats_label, 1)
        self.buttons: dict[str, QToolButton] = {}
        for action, text, tip in ACTIONS:
            button = self._tool_button(text, tip, action)
            button.setVisible(False)
            self.buttons[action] = button
            footer.addWidget(button)
        return footer

    # --- the row --------------------------------------------------------------------------------------

    def update_row(self, row: MessageRow) -> None:
        """Show the row's current state; only what changed is touched."""
        self._row = row
        if self.markdown is not None:
            self.markdown.set_text(row.content)
        elif self._shown.get("content") != row.content:
            self._shown["content"] = row.content
            self.content_view.document().setPlainText(row.content)
        self._show_reasoning(row)
        self._show_branches(row)
        streaming = row.status == STREAMING
        notice = ""
        if row.status == ERROR:
            notice = f"⚠ {row.error or 'The reply failed.'}"
        elif row.status == INTERRUPTED:
            notice = "⚠ This reply was interrupted; what was written so far is kept."
        self._set_shown("notice", notice, lambda: self._show_notice(notice))
        stats = "" if streaming or row.role != "assistant" else format_stats(row.stats, row.finish_reason)
        if streaming and row.role == "assistant":
            stats = "Writing…"
        self._set_shown("stats", stats, lambda: self.stats_label.setText(stats))
        wanted = self._wanted_actions(row)
        self._set_shown("actions", wanted, lambda: self._show_actions(wanted))

    def _set_shown(self, key: str, value: Any, apply) -> None:
        if self._shown.get(key, None) != value or key not in self._shown:
            self._shown[key] = value
            apply()

    def _show_notice(self, notice: str) -> None:
        self.notice_label.setText(notice)
        self.notice_label.setVisible(bool(notice))

    def _wanted_actions(self, row: MessageRow) -> tuple[str, ...]:
        if row.status == STREAMING or self.editor is not None:
            return ()
        if row.role == "user":
            return ("copy", "edit", "delete")
        if row.role == "assistant":
            wanted = ["copy"]
            if can_continue(row.status, row.finish_reason):
                wanted.append("continue")
            wanted += ["regenerate", "delete"]
            return tuple(wanted)
        return ("copy",)

    def _show_actions(self, wanted: tuple[str, ...]) -> None:
        for action, button in self.buttons.items():
            button.setVisible(action in wanted)
        if self._row is not None:
            retry = self._row.status == ERROR
            self.buttons["regenerate"].setText("Retry" if retry else "Regenerate")

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
        if self.editor is not None or self._row is None:
            return
        self.editor = QPlainTextEdit(self._row.content)
        self.editor.setFixedHeight(max(80, min(320, self.content_view.height() + 24)))
        save = QPushButton("Save && send")
        save.setDefault(True)
        save.clicked.connect(self._submit_edit)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.cancel_editing)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(save)
        self._edit_box = QWidget()
        box = QVBoxLayout(self._edit_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.editor)
        box.addLayout(buttons)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.content_view) + 1, self._edit_box)
        self.content_view.setVisible(False)
        self._set_shown("actions", (), lambda: self._show_actions(()))
        self.editor.setFocus()
        self.size_changed.emit(self.message_id)

    def cancel_editing(self) -> None:
        if self.editor is None:
            return
        self._stop_editing()
        self.edit_cancelled.emit(self.message_id)

    def _submit_edit(self) -> None:
        if self.editor is None:
            return
        text = self.editor.toPlainText()
        self._stop_editing()
        self.edit_submitted.emit(self.message_id, text)

    def _stop_editing(self) -> None:
        self._edit_box.setParent(None)
        self._edit_box.deleteLater()
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

    def _tool_button(self, text: str, tip: str, action: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
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
