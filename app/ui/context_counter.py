"""How many tokens the open conversation (and the draft being typed) takes of the model's context.

`ContextCounter` asks the model session to count, with the loaded model's own template and
tokenizer, in the engine host and never on the GUI thread; the answer comes back as a signal. It
counts again, debounced, whenever what would be sent changes: another conversation is opened, a
message is added or edited, the draft changes, a model loads. While a reply is being written the
host is busy with it, so counting waits until the reply ends. Only the newest question counts:
an answer to an older one is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.ui.model_session import ModelSession
from engines.base import Message

DEBOUNCE_MS = 300


class ContextCounter(QObject):
    """The newest count asked for and the timer that gathers changes into one question."""

    counted = Signal(int)  # tokens of the conversation and the draft

    def __init__(
        self,
        session: ModelSession,
        messages: Callable[[], list[Message]],
        busy: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self._messages = messages
        self._busy = busy
        self._asked: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.count_now)
        session.tokens_counted.connect(self._on_counted)

    def schedule(self, *_: object) -> None:
        """Something that would be sent changed: count again soon (once, however often it changes)."""
        self._timer.start()

    def count_now(self) -> None:
        self._timer.stop()
        if not self.session.is_loaded:
            self._asked = None
            return
        if self._busy():
            return  # the reply's end schedules a count
        messages = self._messages()
        if not messages:
            self._asked = None
            self.counted.emit(0)
            return
        self._asked = self.session.count_tokens(messages)

    def _on_counted(self, request_id: str, tokens: int) -> None:
        if request_id == self._asked and tokens >= 0:
            self._asked = None
            self.counted.emit(tokens)
