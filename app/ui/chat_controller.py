"""The GUI-thread object that ties the store, the model session and the chat view together.

`ChatController` owns the shown conversation's MessageModel and the reply being written. Order
matters for never losing a word: the user's message is committed before the engine is asked, the
growing reply is checkpointed about twice a second (ReplyWriter), and the end of a reply
(finished, stopped or failed) is written before the view settles. Engine events arrive as queued
signals, so nothing here ever waits on the engine.

While a reply streams its deltas are appended to the model's last row (the chat view coalesces
the redraws). When it ends, only that row is read back from the store and updated in place: the
thread is not loaded again, the model not reset, the conversation list not re-read
(`conversation_touched` lets the list move that one conversation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.presets import DEFAULT_PRESET, apply_preset, builtin_presets, model_defaults
from app.store import branches, conversations, messages, replies
from app.store.db import Store
from app.store.errors import StoreError
from app.store.records import Thread
from app.ui.chat_branch_actions import BranchActions
from app.ui.document_session import DocumentSession, Turn
from app.ui.message_model import DONE, ERROR, STREAMING, MessageModel, MessageRow
from app.ui.message_rows import engine_message, row_from_message, row_status, rows_from_thread, store_call
from app.ui.message_stats import reply_summary
from app.ui.model_session import ModelSession
from app.ui.tool_rounds import ToolRounds
from app.ui.tool_session import ToolSession
from engines.base import Delta, Finished, GenerationParams, Message, ModelInfo, PromptProgress, Started
from engines.protocol import Event

log = logging.getLogger(__name__)
CHECKPOINT_TICK_MS = 250


@dataclass
class ReplyInFlight:
    """The reply being written: its store writer, its engine request and whether it is on screen."""

    writer: replies.ReplyWriter
    request_id: str  # "" while the turn's documents are read, before the engine is asked
    shown: bool = True  # False once another thread is shown: its deltas no longer go to the model


class ChatController(BranchActions, QObject):
    """The shown conversation (its id, system prompt, parameters and MessageModel) and the reply
    being written into it."""

    conversation_shown = Signal(object)  # the Conversation now shown; None for a new, unsaved chat
    conversation_saved = Signal(object)  # a Conversation created, or changed by a new message (title, time)
    conversation_touched = Signal(int)  # a reply to this conversation ended: it was updated just now
    params_replaced = Signal(object)  # GenerationParams chosen here: a conversation's own, a model's defaults
    sent = Signal()  # the person's message is stored: the composer may let go of it
    reply_delta = Signal(str, bool)  # text, is_reasoning
    reply_event = Signal(object)  # each Started, PromptProgress, Delta and Finished of the reply on screen
    reply_finished = Signal(object)  # engines.base.Finished
    context_used = Signal(int, int, str)  # tokens the last reply used, of the model's context; the policy
    busy_changed = Signal(bool)
    status = Signal(str, bool)  # text, is_error
    prompt_shown = Signal(object)  # PromptRendered (or Failure) for "View prompt"

    def __init__(
        self, store: Store, session: ModelSession, parent: QObject | None = None, tools: ToolSession | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.session = session
        self.messages = MessageModel(self)
        self.tool_rounds = ToolRounds(self, tools or ToolSession(self))
        self.tool_rounds.status.connect(self.status)
        session.bridge.engine_event.connect(self._on_engine_event)
        session.load_started.connect(self.stop)
        session.unloaded.connect(self.stop)
        session.loaded.connect(self._on_model_loaded)
        self.conversation_id: int | None = None
        self.params = apply_preset(GenerationParams(), builtin_presets()[DEFAULT_PRESET])
        self.system_prompt = ""
        self._alternatives: dict[int, tuple[int, ...]] = {}  # of the shown thread, from the store
        self._reply: ReplyInFlight | None = None
        self._unsaved: replies.ReplyWriter | None = None  # an ended reply the disk had no room for yet
        self._render_id: str | None = None
        self._checkpoint = QTimer(self)
        self._checkpoint.setInterval(CHECKPOINT_TICK_MS)
        self._checkpoint.timeout.connect(self._flush_if_due)
        self.documents = DocumentSession(self)  # attached files and collections: passages for the prompt

    # --- state ----------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._reply is not None or self.tool_rounds.running

    def _on_model_loaded(self, info: ModelInfo, engine: str) -> None:
        """A new chat takes the model's saved defaults over the current parameters."""
        defaults = model_defaults(self.store, info.path) if self.conversation_id is None else None
        if defaults:
            try:
                self.params = GenerationParams.from_dict({**self.params.to_dict(), **defaults})
            except Exception:  # defaults from an older or hand-edited store: keep the current ones
                log.warning("ignoring stored defaults of %s", info.path)
        self.params_replaced.emit(self.params)

    def set_params(self, params: GenerationParams) -> None:
        self.params = params
        if self.conversation_id is not None:
            self._store_call(
                conversations.update_conversation, self.store, self.conversation_id, parameters=params.to_dict()
            )

    def set_system_prompt(self, text: str) -> None:
        self.system_prompt = text
        if self.conversation_id is not None:
            self._store_call(conversations.update_conversation, self.store, self.conversation_id, system_prompt=text)

    # --- conversations --------------------------------------------------------------------------------

    def new_chat(self) -> None:
        self.stop()
        self.conversation_id = None
        self.system_prompt = ""
        self._show_rows([], {})
        self.conversation_shown.emit(None)

    def open_conversation(self, conversation_id: int) -> None:
        self.stop()
        thread = self._store_call(branches.load_thread, self.store, conversation_id)
        if thread is None:
            return
        self.conversation_id = conversation_id
        self.system_prompt = thread.conversation.system_prompt
        if thread.conversation.parameters:
            try:
                self.params = GenerationParams.from_dict(thread.conversation.parameters)
            except Exception:  # parameters from an older or hand-edited store: keep the current ones
                log.warning("ignoring stored parameters of conversation %s", conversation_id)
        self._show_thread(thread)
        self.conversation_shown.emit(thread.conversation)
        self.params_replaced.emit(self.params)

    def leave_conversation(self, conversation_id: int) -> None:
        """The conversation is going away (deleted): show a new chat if it is the one shown."""
        if self.conversation_id == conversation_id:
            self.new_chat()

    def _reload_thread(self) -> None:
        """After a change to the tree (a branch added, switched or deleted): show the thread again."""
        if self.conversation_id is not None:
            thread = self._store_call(branches.load_thread, self.store, self.conversation_id)
            if thread is not None:
                self._show_thread(thread)

    def _show_thread(self, thread: Thread) -> None:
        self._show_rows(rows_from_thread(thread), thread.alternatives)

    def _show_rows(self, rows: list[MessageRow], alternatives: dict[int, tuple[int, ...]]) -> None:
        if self._reply is not None:
            self._reply.shown = False
        self._alternatives = alternatives
        self.messages.set_thread(rows)

    # --- what the person asks for ---------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[str] = ()) -> bool:
        """Store the person's message (with the files attached to it), then ask for a reply; False when it was
        not taken."""
        text = text.strip()
        if not text or self.busy:
            return False
        if not self.session.is_loaded:
            self.status.emit("Choose a model and wait for it to load first.", True)
            return False
        if self.conversation_id is None and not self._create_conversation(text):
            return False
        assert self.conversation_id is not None
        # On disk before the engine hears of it: a crash from here on never loses what was typed.
        user = self._store_call(
            messages.add_user_message, self.store, self.conversation_id, text, attachments=attachments
        )
        if user is None:
            return False
        self.sent.emit()
        saved = self._store_call(conversations.get_conversation, self.store, self.conversation_id)
        if saved is not None:
            self.conversation_saved.emit(saved)  # its time, and its title if this message gave it one
        self.messages.append_row(row_from_message(user))
        self.tool_rounds.begin_turn()
        writer = self._store_call(
            replies.start_reply, self.store, self.conversation_id, user.id, model=self.session.name
        )
        return self._start(writer)

    def _create_conversation(self, first_message: str) -> bool:
        created = self._store_call(
            conversations.create_conversation,
            self.store,
            title=conversations.title_from_text(first_message),
            model=self.session.name,
            engine=self.session.engine,
            system_prompt=self.system_prompt,
            parameters=self.params.to_dict(),
        )
        if created is None:
            return False
        self.conversation_id = created.id
        self.conversation_shown.emit(created)
        return True

    def stop(self) -> None:
        if self._reply is not None and self._reply.request_id:
            self.session.bridge.cancel(self._reply.request_id)
        elif self._reply is not None:  # its documents are being read: the engine has not been asked yet
            self._finish(self._reply, Finished("cancelled"))
        self.tool_rounds.stop()

    def continue_after_tools(self, parent_id: int) -> None:
        """The calls of a reply have their results: the reply goes on under the last of them."""
        assert self.conversation_id is not None
        writer = self._store_call(
            replies.start_reply, self.store, self.conversation_id, parent_id, model=self.session.name
        )
        if not self._start(writer):
            self.tools_stopped()

    def tools_stopped(self) -> None:
        self.busy_changed.emit(False)

    def show_prompt(self) -> None:
        if not self.session.is_loaded:
            self.status.emit("Load a model to see its prompt.", True)
            return
        conversation = self.engine_messages(leave_out_last=False)
        if not conversation or conversation[-1]["role"] != "user":
            conversation.append({"role": "user", "content": "(your next message)"})
        self._render_id = self.session.bridge.render(conversation, self.params, self.session.template_override)

    # --- the reply ------------------------------------------------------------------------------------

    def engine_messages(self, leave_out_last: bool = False) -> list[Message]:
        """The conversation as the engine sees it: the system prompt, then the shown thread."""
        out: list[Message] = []
        if self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        count = self.messages.rowCount() - (1 if leave_out_last else 0)
        for position in range(max(count, 0)):
            row = self.messages.row_at(position)
            if row.role in ("user", "assistant", "system", "tool") and (row.content or row.status != STREAMING):
                out.append(engine_message(row))
        return out

    def _start(self, writer: replies.ReplyWriter | None, continue_final: bool = False) -> bool:
        if writer is None:
            return False
        last = self.messages.last()
        if continue_final and last is not None and last.id == writer.message_id:
            self.messages.update_row(last.id, status=STREAMING, finish_reason=None, error=None)
        elif last is None or last.id != writer.message_id or writer.message_id is None:
            self.messages.append_row(MessageRow(id=writer.message_id, role="assistant", status=STREAMING))
        self.tool_rounds.begin_reply()
        self._reply = ReplyInFlight(writer, "")
        self._checkpoint.start()
        self.busy_changed.emit(True)
        self.documents.prepare(writer, lambda turn: self._generate(writer, turn, continue_final))
        return True

    def _generate(self, writer: replies.ReplyWriter, turn: Turn | str, continue_final: bool) -> None:
        """Ask the engine, with the turn's documents put in (`turn`), or fail with the sentence of why not."""
        reply = self._reply
        if reply is None or reply.writer is not writer:
            return  # stopped while the documents were read
        if isinstance(turn, str):
            self._finish(reply, Finished("error", error=turn))
            return
        conversation = turn(self.engine_messages(leave_out_last=not continue_final))
        bridge, template, variables = self.session.bridge, self.session.template_override, self.tool_rounds.variables()
        reply.request_id = bridge.generate(conversation, self.params, template, continue_final, variables)
        self.session.set_generating(True)
        self.status.emit("Reading the prompt…", False)

    def _on_engine_event(self, request_id: str, event: Event) -> None:
        if request_id == self._render_id:
            self._render_id = None
            self.prompt_shown.emit(event)
            return
        reply = self._reply
        if reply is None or request_id != reply.request_id:
            return
        if reply.shown and isinstance(event, Started | PromptProgress | Delta | Finished):
            self.reply_event.emit(event)  # the status line's progress, the notice included
        if isinstance(event, Delta):
            self._append(reply, event.text if event.reasoning else self.tool_rounds.feed(event.text), event.reasoning)
        elif isinstance(event, Finished):
            self._append(reply, self.tool_rounds.finish_text(), False)
            self._finish(reply, event)

    def _append(self, reply: ReplyInFlight, text: str, reasoning: bool) -> None:
        if not text:
            return
        reply.writer.append(reasoning=text) if reasoning else reply.writer.append(text)
        if reply.shown:
            self.messages.append_text(text, reasoning)
        self.reply_delta.emit(text, reasoning)

    def _finish(self, reply: ReplyInFlight, event: Finished) -> None:
        self._reply = None
        if event.detail:
            log.warning("reply failed: %s (%s)", event.error, event.detail)
        saved = self._save_ending(reply.writer, event)
        calls = self.tool_rounds.keep_calls(reply.writer.message_id, event.finish_reason)
        if reply.shown:
            self._settle_row(reply.writer, event, saved)
        self.session.set_generating(False)
        if calls:
            self.tool_rounds.run_calls()
            return  # busy still: the calls run, then the reply goes on
        self.busy_changed.emit(False)
        used = event.stats.prompt_tokens + event.stats.generated_tokens
        self.context_used.emit(used, self.session.context_length, self.params.context_policy)
        self.reply_finished.emit(event)
        self.conversation_touched.emit(reply.writer.conversation_id)
        self.status.emit(*reply_summary(event))

    def _save_ending(self, writer: replies.ReplyWriter, event: Finished) -> bool:
        """Write the end of the reply; False when the disk has no room (it is retried on the timer)."""
        try:
            saved = writer.finish(event.finish_reason, event.stats, event.error)
        except StoreError as err:
            saved = False
            self.status.emit(str(err), True)
        if not saved and writer.problem:
            self._unsaved = writer
            self.status.emit(writer.problem, True)
        elif not self._unsaved:
            self._checkpoint.stop()
        return saved

    def _settle_row(self, writer: replies.ReplyWriter, event: Finished, saved: bool) -> None:
        """Bring the reply's row up to what the store holds: one read, of that row only."""
        last = self.messages.last()
        if last is None:
            return
        stored = None
        if saved and writer.message_id is not None:
            stored = self._store_call(messages.get_message, self.store, writer.message_id)
        if stored is None:  # not on disk yet: what is in memory is the truth for now
            status = ERROR if event.finish_reason == "error" else DONE
            self.messages.finish_last(status, event.finish_reason, event.stats, event.error)
        elif last.id == stored.id:
            self.messages.update_row(
                stored.id,
                content=stored.content,
                reasoning=stored.reasoning,
                status=row_status(stored),
                error=stored.error,
                stats=stored.stats,
                finish_reason=stored.finish_reason,
                tool_calls=stored.tool_calls,
                citations=stored.citations,
            )
        else:  # the reply got its id only now (the disk was full when it started)
            self._reload_thread()

    def _flush_if_due(self) -> None:
        writers = [w for w in (self._reply.writer if self._reply else None, self._unsaved) if w is not None]
        for writer in writers:
            writer.flush_if_due()
            if writer.problem:
                self.status.emit(writer.problem, True)
        if self._unsaved is not None and self._unsaved.saved:
            self._unsaved = None
            self.status.emit("The reply is saved.", False)
        if self._reply is None and self._unsaved is None:
            self._checkpoint.stop()

    def _store_call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a store operation; a failure a person can act on becomes a status sentence."""
        return store_call(self.status, function, *args, **kwargs)

    def shutdown(self) -> None:
        self._checkpoint.stop()
        self.documents.shutdown()
        for writer in (self._reply.writer if self._reply else None, self._unsaved):
            if writer is None:
                continue
            try:
                writer.flush()
            except StoreError:
                log.exception("could not save the last reply at shutdown")
