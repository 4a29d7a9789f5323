"""Documents in the window's chat: the files attached to a message and the collections a chat searches.

The chat controller asks `prepare` before each reply it starts. Without documents (no file attached to the
question being answered, no collection chosen for the chat) the reply goes ahead at once, as before. With
them, the passages are chosen on a worker thread (app.documents.retrieval.context_for, reading files and the
index), so the window never waits; then the reply goes ahead with the passages put before the question in
what the engine is sent (`with_documents`), and the reply keeps their citations. Only the question being
answered gets passages: earlier questions are sent as they were written, so a chat never re-sends old
passages. The sentences for documents that could not be used go to the status line.

The chosen collections are kept per chat (conversation_collections); in a new chat they are kept here until
its first message makes it a conversation. `updates` keeps the collections up to date with their folders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.store import conversations
from app.store.records import Conversation
from app.ui.background import run_in_background
from app.ui.collection_updates import CollectionUpdates
from app.ui.message_rows import store_call

log = logging.getLogger(__name__)
# A third of the model's context for the passages: room is left for the chat and the reply.
CONTEXT_SHARE = 3
MIN_BUDGET_TOKENS = 256
Turn = Callable[[list[Any]], list[Any]]  # the engine messages of one turn, as they are sent


def unchanged(messages: list[Any]) -> list[Any]:
    return messages


class DocumentSession(QObject):
    """The shown chat's collections, and the documents of the turn being answered."""

    collections_changed = Signal(list)  # the names of the collections the shown chat searches

    def __init__(self, controller: Any) -> None:
        super().__init__(controller)
        self.controller = controller  # the ChatController: its store, session, messages, status and conversation
        self.collections: list[str] = []
        self._conversation_id: int | None = None
        self._context: tuple[Any, Any] | None = None  # (the turn's key, its DocumentContext): kept for tool rounds
        self._problems: list[str] = []  # of the reply being written, shown again once it ends
        self.updates = CollectionUpdates(self)
        controller.conversation_shown.connect(self._on_conversation_shown)
        controller.reply_finished.connect(self._on_reply_finished)

    # --- the chat's collections -----------------------------------------------------------------------

    def choose(self, names: Sequence[str]) -> None:
        """The person chose the collections this chat searches (kept with it once it is saved)."""
        self.collections = sorted(set(names))
        conversation_id = self.controller.conversation_id
        if conversation_id is not None:
            store_call(
                self.controller.status,
                conversations.set_conversation_collections,
                self.controller.store,
                conversation_id,
                self.collections,
            )
        self.collections_changed.emit(list(self.collections))

    def _on_conversation_shown(self, conversation: Conversation | None) -> None:
        previous, self._conversation_id = self._conversation_id, None if conversation is None else conversation.id
        if conversation is None:
            self.collections = []
        elif previous is None and self.controller.messages.rowCount() == 0:
            # The new chat became a conversation with its first message: what was chosen in it goes with it.
            if self.collections:
                self.choose(self.collections)
        elif conversation.id != previous:
            stored = store_call(
                self.controller.status, conversations.conversation_collections, self.controller.store, conversation.id
            )
            self.collections = stored or []
        self._context = None
        self.collections_changed.emit(list(self.collections))

    # --- the turn being answered ----------------------------------------------------------------------

    def prepare(self, writer: Any, go: Callable[[Turn | str], None]) -> None:
        """Call `go` with what turns the engine messages into those sent (now, or once the documents are read),
        or with a sentence if they could not be read at all."""
        question = self._question()
        attachments = tuple(question.attachments) if question is not None else ()
        collections = tuple(self.collections)
        if question is None or not (attachments or collections):
            self._problems = []
            go(unchanged)
            return
        key = (question.id, attachments, collections)
        if self._context is not None and self._context[0] == key:  # the same turn goes on after its tool calls
            self._use(writer, self._context[1], go)
            return
        self.controller.status.emit("Reading your documents…", False)
        budget = max(self.controller.session.context_length // CONTEXT_SHARE, MIN_BUDGET_TOKENS)
        text = question.content

        def work() -> Any:
            from app.documents.collection_search import question_embedder
            from app.documents.retrieval import context_for

            paths = [Path(path) for path in attachments]
            # Collections with vectors are searched by meaning too: their embedding model runs for the question.
            embed = question_embedder(collections)
            try:
                return context_for(text, attachments=paths, collections=collections, budget_tokens=budget, embed=embed)
            finally:
                if embed is not None:
                    embed.close()

        def done(context: Any) -> None:
            self._context = (key, context)
            self._use(writer, context, go)

        run_in_background(self, work, done, lambda error: go(str(error)))

    def _question(self) -> Any:
        """The row of the question being answered: the last of the person's messages shown."""
        rows = self.controller.messages
        for position in range(rows.rowCount() - 1, -1, -1):
            row = rows.row_at(position)
            if row.role == "user":
                return row
        return None

    def _use(self, writer: Any, context: Any, go: Callable[[Turn | str], None]) -> None:
        from app.documents.retrieval import with_documents

        self._problems = list(context.problems)
        if context.citations:
            try:
                writer.cite(context.citations)
            except RuntimeError:  # stopped while the documents were read: the reply has ended
                return
            if writer.message_id is not None and self.controller.messages.row_of(writer.message_id) is not None:
                self.controller.messages.update_row(writer.message_id, citations=tuple(context.citations))
        if self._problems:
            self.controller.status.emit(" ".join(self._problems), True)
        go(lambda messages: with_documents(messages, context))

    def _on_reply_finished(self, _event: object) -> None:
        """The turn is over (its tool rounds too): a regenerated reply reads the files afresh. The reply's summary
        replaces the status; what could not be read matters more, so it is said again."""
        self._context = None
        problems, self._problems = self._problems, []
        if problems:
            QTimer.singleShot(0, self, lambda: self.controller.status.emit(" ".join(problems), True))

    def shutdown(self) -> None:
        self.updates.shutdown()
