"""What the sidebar lists, and what the person does to the conversations in it.

`ConversationListPresenter` owns the listed conversations (read once, then kept up to date one
conversation at a time as the chat controller reports them), the search (debounced by the sidebar,
run on a worker thread with its own read-only connection; an answer to an older query is dropped),
renaming, pinning, export, and delete with undo: a deleted conversation is hidden at once and
deleted for good (its text erased from the store's files) only when the undo time has passed or
the window closes. The sidebar only shows rows and reports what was asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.store import conversations as store_conversations
from app.store.db import Store
from app.store.errors import StoreError
from app.store.reader import open_reader
from app.store.records import Conversation
from app.store.search import SearchHit, search
from app.ui.background import run_in_background
from app.ui.conversation_list_model import ConversationRow, grouped_rows
from app.ui.sidebar import Sidebar

UNDO_DELETE_MS = 8000
LISTED = 500
SEARCH_HITS = 50
# What the empty sidebar says to do next.
NO_CHATS = "No chats yet. Write a message in the box below the chat (Ctrl+L) to start one; every chat is kept here."
NOTHING_FOUND = "No chat mentions “{text}”. Try other or fewer words, or clear the search to see every chat."


def _search_on_worker(path: Path, text: str) -> list[SearchHit]:
    reader = open_reader(path)
    try:
        return search(reader, text, limit=SEARCH_HITS)
    finally:
        reader.close()


def _sort_key(conversation: Conversation) -> tuple[bool, datetime, int]:
    return (conversation.pinned, conversation.updated_at, conversation.id)  # as list_recent orders them


class ConversationListPresenter(QObject):
    """The listed conversations, the search, the conversation shown, and the one deletion that can
    still be undone."""

    status = Signal(str, bool)  # text, is_error
    conversation_hidden = Signal(int)  # deleted (undo is still possible): the chat must not show it

    def __init__(
        self, store: Store, sidebar: Sidebar, parent: QObject | None = None, undo_ms: int = UNDO_DELETE_MS
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.sidebar = sidebar
        self._listed: list[Conversation] = []
        self._current: int | None = None
        self._query = ""  # the search shown, "" for the list
        self._searches = 0  # bumped per search, so only the newest answer is shown
        self._pending_delete: int | None = None
        self._delete_timer = QTimer(self)
        self._delete_timer.setSingleShot(True)
        self._delete_timer.setInterval(undo_ms)
        self._delete_timer.timeout.connect(self.commit_delete)
        sidebar.search_changed.connect(self.search)
        sidebar.rename_requested.connect(self.rename)
        sidebar.pin_toggled.connect(self.pin)
        sidebar.delete_requested.connect(self.delete)
        sidebar.undo_requested.connect(self.undo_delete)

    # --- the list -------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the recent conversations from the store (at start; later changes come one by one)."""
        try:
            self._listed = store_conversations.list_recent(self.store, limit=LISTED)
        except StoreError as err:
            self.status.emit(str(err), True)
            return
        self._show_list()

    def _show_list(self) -> None:
        if self._query:
            return  # the search results stay until the search is cleared
        listed = [c for c in self._listed if c.id != self._pending_delete]
        self.sidebar.model.set_rows(grouped_rows(listed))
        self.sidebar.set_note("" if listed else NO_CHATS)
        self.sidebar.select(self._current)

    def set_current(self, conversation: Conversation | None) -> None:
        """The conversation the chat shows (None: a new chat), to be selected in the list."""
        self._current = conversation.id if conversation is not None else None
        self.sidebar.select(self._current)

    def conversation_saved(self, conversation: Conversation) -> None:
        """A conversation was created or changed: put it where it now belongs."""
        kept = [c for c in self._listed if c.id != conversation.id]
        self._listed = sorted([*kept, conversation], key=_sort_key, reverse=True)[:LISTED]
        self._show_list()

    def conversation_touched(self, conversation_id: int) -> None:
        """A reply to this conversation just ended: it was updated now (the store says the same)."""
        for conversation in self._listed:
            if conversation.id == conversation_id:
                self.conversation_saved(dataclasses.replace(conversation, updated_at=datetime.now(UTC)))
                return

    # --- search ---------------------------------------------------------------------------------------

    def search(self, text: str) -> None:
        """Show the conversations that hold every word of `text`; "" shows the list again."""
        self._searches += 1
        self._query = text
        if not text:
            self._show_list()
            return
        number = self._searches
        run_in_background(
            self,
            lambda: _search_on_worker(self.store.path, text),
            lambda hits: self._show_hits(number, text, hits),
            lambda error: self._search_failed(number, error),
        )

    def _show_hits(self, number: int, text: str, hits: list[SearchHit]) -> None:
        if number != self._searches:
            return  # the person typed on: a newer search is on its way
        rows = [
            ConversationRow(
                "hit",
                f"{h.conversation_title}\n{h.plain_snippet('«', '»')}",
                h.conversation_id,
                message_id=h.message_id,
                tooltip=h.plain_snippet(),
            )
            for h in hits
            if h.conversation_id != self._pending_delete
        ]
        self.sidebar.model.set_rows(rows)
        self.sidebar.set_note("" if rows else NOTHING_FOUND.format(text=text))

    def _search_failed(self, number: int, error: Exception) -> None:
        if number == self._searches:
            self.status.emit(str(error), True)

    # --- changes --------------------------------------------------------------------------------------

    def rename(self, conversation_id: int, title: str) -> None:
        self._save(store_conversations.rename_conversation, conversation_id, title)

    def pin(self, conversation_id: int, pinned: bool) -> None:
        self._save(store_conversations.update_conversation, conversation_id, pinned=pinned)

    def _save(self, change: Callable[..., Conversation], conversation_id: int, *args: object, **kwargs: object) -> None:
        try:
            changed = change(self.store, conversation_id, *args, **kwargs)
        except StoreError as err:
            self.status.emit(str(err), True)
            return
        self.conversation_saved(changed)

    def delete(self, conversation_id: int) -> None:
        """Hidden at once, deleted for good only when the undo time has passed."""
        self.commit_delete()
        self._pending_delete = conversation_id
        self.conversation_hidden.emit(conversation_id)
        self._show_list()
        self.sidebar.show_undo("Chat deleted")
        self._delete_timer.start()

    def undo_delete(self) -> None:
        self._delete_timer.stop()
        self._pending_delete = None
        self.sidebar.show_undo(None)
        self._show_list()

    def commit_delete(self) -> None:
        """Delete the hidden conversation for good now (the timer, a new deletion, or closing)."""
        self._delete_timer.stop()
        conversation_id, self._pending_delete = self._pending_delete, None
        if conversation_id is None:
            return
        self.sidebar.show_undo(None)
        self._listed = [c for c in self._listed if c.id != conversation_id]
        try:
            # For good: the text is erased from the store's files too, on the store's own thread.
            store_conversations.delete_conversation_for_good(self.store, conversation_id)
        except StoreError as err:
            self.status.emit(str(err), True)

    def export(self, conversation_id: int, path: str) -> None:
        """Write one conversation to `path`: JSON (lossless) for a .json name, else Markdown."""
        from app.store.export import export_json, export_markdown
        from app.store.files import write_atomically

        try:
            ids = [conversation_id]
            text = export_json(self.store, ids) if path.endswith(".json") else export_markdown(self.store, ids)
            write_atomically(path, text)
        except (StoreError, OSError) as err:
            self.status.emit(f"Could not export the chat: {err}", True)
            return
        self.status.emit(f"Exported to {path}", False)
