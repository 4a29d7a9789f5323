"""Streaming a reply into the store so that a crash loses less than a second of it.

`ReplyWriter` keeps the whole reply in memory and rewrites the stored message
from it: on `append` once `interval_s` has passed since the last write, on
`flush_if_due` (call it from a UI timer, so a stalled stream is still saved),
and at the end (`finish`). With the default 0.5 s interval and a UI timer
ticking every 0.25 s, unsaved text waits at most about 0.75 s. The end is flushed to the drive;
the checkpoints in between are not (see db.py): they guard against the app dying,
the common failure, without a drive flush every half second.

When the disk is full a write fails, SQLite rolls it back, and the writer
keeps everything in memory, sets `problem` to a sentence for the person, and
tries again at the next checkpoint; the reply is saved as soon as space is back.

After a crash the stored reply still says 'streaming'; `mark_interrupted_replies`
(called once at start by the app that owns the store) marks it 'interrupted',
and it can then be continued (`continue_reply`) or regenerated (`regenerate`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from app.store.citations import Citation
from app.store.db import Store
from app.store.errors import DiskFullError, NotFoundError
from app.store.messages import get_message, insert_message, set_citations
from app.store.records import FINISH_REASONS, STATS_COLUMNS
from app.store.timestamps import now_text
from engines.base import GenerationStats

CHECKPOINT_INTERVAL_S = 0.5


class ReplyWriter:
    """One assistant reply being generated; use `start_reply`, `regenerate` or `continue_reply`."""

    def __init__(
        self,
        store: Store,
        conversation_id: int,
        parent_id: int | None,
        *,
        message_id: int | None = None,
        content: str = "",
        reasoning: str = "",
        model: str | None = None,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        citations: Sequence[Citation] = (),
    ) -> None:
        self._store = store
        self.conversation_id = conversation_id
        self.parent_id = parent_id
        self.message_id = message_id
        self.model = model
        self._content = [content] if content else []
        self._reasoning = [reasoning] if reasoning else []
        self._interval_s = interval_s
        self._clock = clock
        self._last_write = clock()
        self._unsaved = message_id is None
        self._ending: tuple[str, GenerationStats | None, str | None] | None = None
        self._ended_on_disk = False
        # What the prompt was given from documents; written with the next write while _cite is set.
        self.citations: tuple[Citation, ...] = tuple(citations)
        self._cite = bool(citations)
        # A sentence for the person while something in memory cannot be saved, else None.
        self.problem: str | None = None

    @property
    def text(self) -> str:
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def saved(self) -> bool:
        """True when the store holds everything this writer has in memory."""
        return not self._unsaved

    def append(self, text: str = "", reasoning: str = "") -> None:
        """Add streamed text (and/or reasoning); writes a checkpoint when one is due."""
        if self._ending is not None:
            raise RuntimeError("the reply has already ended")
        if text:
            self._content.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        if text or reasoning:
            self._unsaved = True
        self.flush_if_due()

    def cite(self, citations: Sequence[Citation]) -> None:
        """The passages (numbered as the prompt numbered them) this reply was given; saved with the next write."""
        if self._ending is not None:
            raise RuntimeError("the reply has already ended")
        self.citations = tuple(citations)
        self._cite = self._unsaved = True

    def flush_if_due(self) -> bool:
        """Write if something is unsaved and the interval has passed; True when all is saved."""
        if not self._unsaved:
            return True
        if self._clock() - self._last_write < self._interval_s:
            return False
        return self.flush()

    def flush(self) -> bool:
        """Write what is in memory now; False (with `problem` set) if the disk is full."""
        if not self._unsaved:
            return True
        self._last_write = self._clock()
        try:
            self._write()
        except DiskFullError as error:
            self.problem = str(error)
            return False
        self._unsaved = False
        self.problem = None
        self._after_write()
        return True

    def finish(
        self, finish_reason: str = "stop", stats: GenerationStats | None = None, error: str | None = None
    ) -> bool:
        """End the reply (finished, cancelled or failed) and flush it to the drive, with the engine's
        stats stored whole (None: the engine gave none).

        Returns False when the disk is full: the reply stays in memory, `problem` says so, and
        `flush_if_due` or `flush` saves it once there is space.
        """
        if finish_reason not in FINISH_REASONS:
            raise ValueError(f"unknown finish reason {finish_reason!r}")
        if self._ending is not None:
            raise RuntimeError("the reply has already ended")
        self._ending = (finish_reason, stats, error)
        self._unsaved = True
        return self.flush()

    def _after_write(self) -> None:
        if self._ending is not None:
            # The reply is complete: a good moment to fold the log into the database, off this thread.
            self._store.start_log_checkpoint()

    def _write(self) -> None:
        content, reasoning = self.text, self.reasoning
        ending = self._ending
        # Only the end must survive a power cut; the checkpoints before it guard against a crash.
        message_id = self.message_id
        with self._store.transaction(durable=ending is not None) as connection:
            if message_id is None:
                message_id = insert_message(
                    connection,
                    self.conversation_id,
                    "assistant",
                    content,
                    parent_id=self.parent_id,
                    reasoning=reasoning,
                    model=self.model,
                    status="streaming",
                )
            if ending is None:
                connection.execute(
                    "UPDATE messages SET content = ?, reasoning = ? WHERE id = ?",
                    (content, reasoning, message_id),
                )
            else:
                self._write_ending(connection, message_id, content, reasoning, ending)
            if self._cite:
                set_citations(connection, message_id, self.citations)
        self._cite = False
        # Only now: had the commit failed, the ID would belong to a row that was rolled back.
        self.message_id = message_id

    def _write_ending(
        self,
        connection: sqlite3.Connection,
        message_id: int,
        content: str,
        reasoning: str,
        ending: tuple[str, GenerationStats | None, str | None],
    ) -> None:
        finish_reason, stats, error = ending
        figures = [None if stats is None else getattr(stats, name) for name in STATS_COLUMNS]
        assignments = ", ".join(f"{name} = ?" for name in STATS_COLUMNS)
        connection.execute(
            "UPDATE messages SET content = ?, reasoning = ?, status = 'done', finish_reason = ?, "
            f"error = ?, {assignments} WHERE id = ?",
            (content, reasoning, finish_reason, error, *figures, message_id),
        )
        connection.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now_text(), self.conversation_id))


def start_reply(
    store: Store,
    conversation_id: int,
    parent_id: int | None,
    *,
    model: str | None = None,
    interval_s: float = CHECKPOINT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    citations: Sequence[Citation] = (),
) -> ReplyWriter:
    """A new, empty reply under `parent_id`, stored at once (so it has an ID) as 'streaming', with the
    citations of the passages its prompt is given (if any).

    If the disk is full the writer still works in memory: `message_id` stays None and
    `problem` says why until a later checkpoint succeeds.
    """
    writer = ReplyWriter(
        store, conversation_id, parent_id, model=model, interval_s=interval_s, clock=clock, citations=citations
    )
    writer.flush()
    return writer


def regenerate(
    store: Store,
    message_id: int,
    *,
    model: str | None = None,
    interval_s: float = CHECKPOINT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
) -> ReplyWriter:
    """A new reply beside `message_id` (same parent): the old one stays as another branch."""
    old = get_message(store, message_id)
    if old.role != "assistant":
        raise ValueError("only replies are regenerated; edit a user message instead")
    return start_reply(
        store,
        old.conversation_id,
        old.parent_id,
        model=model or old.model,
        interval_s=interval_s,
        clock=clock,
    )


def continue_reply(
    store: Store,
    message_id: int,
    *,
    interval_s: float = CHECKPOINT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
) -> ReplyWriter:
    """Keep appending to an existing reply (an interrupted one, or one cut off by length)."""
    old = get_message(store, message_id)
    if old.role != "assistant":
        raise ValueError("only replies can be continued")
    if store.read("SELECT 1 FROM messages WHERE parent_id = ? LIMIT 1", (message_id,)):
        raise ValueError("a reply that has been answered cannot be continued; regenerate it instead")
    with store.transaction() as connection:
        cursor = connection.execute(
            "UPDATE messages SET status = 'streaming', finish_reason = NULL, error = NULL WHERE id = ?",
            (message_id,),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"There is no message with the ID {message_id}.")
        connection.execute(
            "UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (message_id, old.conversation_id)
        )
    return ReplyWriter(
        store,
        old.conversation_id,
        old.parent_id,
        message_id=message_id,
        content=old.content,
        reasoning=old.reasoning,
        model=old.model,
        interval_s=interval_s,
        clock=clock,
    )


def mark_interrupted_replies(store: Store) -> int:
    """Mark replies left 'streaming' by a crash as 'interrupted'; returns how many.

    Only the app that owns the store (see instance.py) may call this, once at start: another
    program (`parlour export`, say) would otherwise cut off a reply the app is still writing.
    """
    with store.transaction(durable=True) as connection:
        cursor = connection.execute("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
    return cursor.rowcount
