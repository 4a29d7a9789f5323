"""A terminal chat kept in the store, as the window keeps its chats: it shows in the sidebar and in
`parlour conversations`, and `parlour chat --continue ID` (or the window) carries it on.

The conversation is created with its first message. Each message is committed before the engine
hears of it, so a crash never loses what was typed; the reply is written by the store's
ReplyWriter (checkpoints while it streams, then its end with the engine's statistics, kept whole).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from app.cli.chat_stream import StreamedReply, interrupts_ignored, stream_reply
from app.cli.terminal_text import note
from app.store import conversations, messages, replies
from app.store.branches import load_thread
from app.store.errors import StoreError

if TYPE_CHECKING:
    from app.cli.chat_setup import ChatSetup
    from app.store.db import Store
    from app.store.records import Conversation
    from engines.base import Delta, Finished
    from engines.host_client import EngineClient

log = logging.getLogger(__name__)


class StoredChat:
    """One conversation in the store, as the terminal chat adds to it."""

    def __init__(self, store: Store, setup: ChatSetup, conversation: Conversation | None = None) -> None:
        self.store = store
        self.setup = setup
        self.engine: str | None = None  # the engine that runs the model, once it is loaded
        self.id: int | None = conversation.id if conversation is not None else None
        self.unsaved: list[replies.ReplyWriter] = []  # replies still in memory only (a full disk)

    def keep_settings(self, conversation: Conversation | None) -> None:
        """Store the settings typed with --continue (a new system prompt, other parameters) with it."""
        if conversation is None:
            return
        changes: dict[str, Any] = {}
        if self.setup.system_prompt != conversation.system_prompt:
            changes["system_prompt"] = self.setup.system_prompt
        if self.setup.params.to_dict() != conversation.parameters:
            changes["parameters"] = self.setup.params.to_dict()
        if changes:
            conversations.update_conversation(self.store, conversation.id, **changes)

    def engine_messages(self) -> list[dict[str, str]]:
        """The conversation as the engine sees it: the system prompt, then the shown thread, without
        the empty reply about to be written."""
        out = [{"role": "system", "content": self.setup.system_prompt}] if self.setup.system_prompt.strip() else []
        if self.id is not None:
            out.extend(
                {"role": m.role, "content": m.content}
                for m in load_thread(self.store, self.id).messages
                if m.role in ("user", "assistant", "system") and (m.content or m.status != "streaming")
            )
        while out and out[-1]["role"] == "assistant" and not out[-1]["content"]:
            out.pop()
        return out

    def send(self, text: str) -> replies.ReplyWriter:
        """Store the person's message (on disk before this returns) and start the reply to it."""
        if self.id is None:
            self.id = conversations.create_conversation(
                self.store,
                model=self.setup.model_label or None,
                engine=self.engine,
                system_prompt=self.setup.system_prompt,
                parameters=self.setup.params.to_dict(),
            ).id
        user = messages.add_user_message(self.store, self.id, text)
        return self._started(replies.start_reply(self.store, self.id, user.id, model=self.setup.model_label or None))

    def regenerate(self) -> replies.ReplyWriter | None:
        """A new reply to the last message, beside the old one (which stays as a branch); None if there
        is nothing to answer yet."""
        if self.id is None:
            return None
        shown = load_thread(self.store, self.id).messages
        if not shown:
            return None
        last = shown[-1]
        label = self.setup.model_label or None
        if last.role == "assistant":
            return self._started(replies.regenerate(self.store, last.id, model=label))
        return self._started(replies.start_reply(self.store, self.id, last.id, model=label))

    def set_system_prompt(self, text: str) -> None:
        self.setup.system_prompt = text
        if self.id is not None:
            conversations.update_conversation(self.store, self.id, system_prompt=text)

    def _started(self, writer: replies.ReplyWriter) -> replies.ReplyWriter:
        if writer.problem:
            note(writer.problem)
        return writer

    def stream(
        self, client: EngineClient, writer: replies.ReplyWriter, *, as_json: bool = False, show_notice: bool = True
    ) -> StreamedReply:
        """Ask the engine for the reply `writer` stands for, print it as it streams, and store it."""
        from engines.base import EngineError

        setup = self.setup
        try:
            with interrupts_ignored():  # a host (re)started here must not die of the person's Ctrl+C
                reply = client.generate(self.engine_messages(), setup.params, setup.template, setup.template_vars)
            streamed = stream_reply(
                reply, as_json=as_json, show_notice=show_notice, on_delta=lambda delta: self.record(writer, delta)
            )
        except EngineError as error:
            self._end_early(writer, "error", str(error))
            raise
        except KeyboardInterrupt:
            self._end_early(writer, "cancelled", None)
            raise
        self.finish(writer, streamed.finished)
        return streamed

    def _end_early(self, writer: replies.ReplyWriter, reason: str, error: str | None) -> None:
        """The reply ends without the engine's word (it failed to answer, or a second Ctrl+C): keep what came."""
        try:
            writer.finish(reason, None, error)
        except StoreError:
            log.exception("could not write the end of an abandoned reply")

    def record(self, writer: replies.ReplyWriter, delta: Delta) -> None:
        """Add streamed text to the reply; a store that cannot take it now is said once, then retried."""
        had_problem = writer.problem
        try:
            if delta.reasoning:
                writer.append(reasoning=delta.text)
            else:
                writer.append(delta.text)
        except StoreError as error:
            writer.problem = str(error)
        if writer.problem and writer.problem != had_problem:
            note(writer.problem)

    def finish(self, writer: replies.ReplyWriter, finished: Finished) -> None:
        """Write the reply's end (how it finished, its statistics); kept in memory if the disk is full."""
        try:
            saved = writer.finish(finished.finish_reason, finished.stats, finished.error)
        except StoreError as error:
            saved, writer.problem = False, str(error)
        if not saved:
            self.unsaved.append(writer)
            note(writer.problem or "The reply could not be saved yet.")

    def save_pending(self) -> str | None:
        """Try again to save replies that could not be; the sentence why some still cannot, or None."""
        for writer in list(self.unsaved):
            try:
                if writer.flush():
                    self.unsaved.remove(writer)
            except StoreError as error:
                writer.problem = str(error)
        return (self.unsaved[0].problem or "A reply could not be saved.") if self.unsaved else None
