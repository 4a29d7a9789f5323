"""One column of the Compare view: a model's name (and whether it leaves this computer), its replies to
each round's prompt, the last reply's figures (time to first token, tokens/s, tokens, peak memory, why
it stopped), and its buttons: this one is best, continue it as a chat.

Streamed text is held and drawn about 30 times a second at most, as plain text; a finished reply is
drawn again as Markdown, once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.store.comparisons import ComparedModel
from app.ui.accessible import describe
from app.ui.message_stats import FINISH_REASONS
from engines.base import GenerationStats
from engines.inspect import human_size
from engines.remote_target import is_remote_ref

FLUSH_MS = 33


def column_figures(stats: GenerationStats | None, finish_reason: str, error: str = "") -> str:
    """E.g. "TTFT 0.21 s · 84.0 tokens/s · 96 tokens · peak 412.0 MB · finished"."""
    if error:
        return error
    parts = []
    if stats is not None:
        if stats.ttft_ms:
            parts.append(f"TTFT {stats.ttft_ms / 1000:.2f} s")
        if stats.generation_tps:
            parts.append(f"{stats.generation_tps:.1f} tokens/s")
        parts.append(f"{stats.generated_tokens} tokens")
        if stats.peak_memory_bytes:
            parts.append(f"peak {human_size(stats.peak_memory_bytes)}")
    if finish_reason:
        parts.append(FINISH_REASONS.get(finish_reason, finish_reason))
    return " · ".join(parts)


class CompareColumn(QFrame):
    """A model's side of the comparison."""

    best_clicked = Signal(int)  # position
    continue_clicked = Signal(int)  # position

    def __init__(self, position: int, model: ComparedModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = position
        self.model = model
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"compareColumn{position}")
        self._history = ""  # earlier rounds, as Markdown
        self._reply = ""  # the reply being written
        self._pending = ""  # streamed text not drawn yet
        self._flush = QTimer(self)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._draw_pending)
        self._build()

    def _build(self) -> None:
        remote = is_remote_ref(self.model.path)
        self.title = QLabel(f"<b>{self.model.name}</b>")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.where = QLabel("Remote · leaves this computer" if remote else "On this computer")
        self.where.setObjectName("remoteBadge" if remote else "localBadge")
        self.state = QLabel("")
        self.state.setObjectName("columnState")
        self.body = QTextBrowser()
        self.body.setOpenExternalLinks(False)
        describe(self.body, f"Replies of {self.model.name}", "Each round's prompt and this model's reply")
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.best = describe(QPushButton("Best"), "Best", "Mark this reply as the best of this round")
        self.best.setCheckable(True)
        self.best.clicked.connect(lambda: self.best_clicked.emit(self.position))
        self.best.toggled.connect(self._show_pick)
        self.continue_button = describe(
            QPushButton("Continue as chat"),
            "Continue as chat",
            "Open a normal chat with this model, holding this column's messages",
        )
        self.continue_button.clicked.connect(lambda: self.continue_clicked.emit(self.position))
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.where)
        foot = QHBoxLayout()
        foot.addWidget(self.best)
        foot.addStretch(1)
        foot.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.state)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.figures)
        layout.addLayout(foot)

    # --- what the session reports ---------------------------------------------------------------------

    def show_rounds(self, rounds: list[tuple[str, str]]) -> None:
        """Earlier rounds as (prompt, reply) pairs, e.g. when a kept comparison is opened."""
        self._history = "".join(_round_markdown(prompt, reply) for prompt, reply in rounds)
        self._reply = self._pending = ""
        self.body.setMarkdown(self._history)

    def begin_reply(self, prompt: str) -> None:
        self._history += _prompt_markdown(prompt)
        self._reply = self._pending = ""
        self.body.setMarkdown(self._history)
        self.figures.setText("")
        self.best.setChecked(False)
        self._flush.start()

    def add_text(self, text: str) -> None:
        if not self._reply and not self._pending:
            self.state.setText("Writing…")
        self._pending += text

    def _draw_pending(self) -> None:
        if not self._pending:
            return
        self._reply += self._pending
        cursor = self.body.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(self._pending)
        self._pending = ""
        self.body.verticalScrollBar().setValue(self.body.verticalScrollBar().maximum())

    def end_reply(self, stats: GenerationStats | None, finish_reason: str, error: str = "") -> None:
        self._flush.stop()
        self._reply += self._pending
        self._pending = ""
        self._history += _reply_markdown(self._reply, error)
        self._reply = ""
        self.body.setMarkdown(self._history)
        self.body.verticalScrollBar().setValue(self.body.verticalScrollBar().maximum())
        self.state.setText("")
        self.figures.setText(column_figures(stats, finish_reason, error))

    def _show_pick(self, picked: bool) -> None:
        """The person's pick of the round stands out: a marked button and a highlighted frame."""
        self.best.setText("★ Best" if picked else "Best")
        name = self.objectName()
        self.setStyleSheet(f"QFrame#{name} {{ border: 2px solid palette(highlight); }}" if picked else "")

    def set_state(self, text: str) -> None:
        self.state.setText(text)

    @property
    def text(self) -> str:
        """Everything the column shows, as plain text (for tests and accessibility)."""
        return self.body.toPlainText()


def _prompt_markdown(prompt: str) -> str:
    quoted = "\n".join("> " + line if line else ">" for line in prompt.splitlines())
    return f"**You**\n\n{quoted}\n\n"


def _reply_markdown(reply: str, error: str = "") -> str:
    text = reply or (f"*{error}*" if error else "*(no reply)*")
    return f"{text}\n\n---\n\n"


def _round_markdown(prompt: str, reply: str) -> str:
    return _prompt_markdown(prompt) + _reply_markdown(reply)
