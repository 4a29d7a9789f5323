"""The GUI-thread object that ties the store, the engine and the chat view together.

Order matters for never losing a word: the user's message is committed before the
engine is asked, the growing reply is checkpointed about once a second, and the end
of a reply (finished, stopped or failed) is written before the view settles. Engine
messages arrive as queued signals, so nothing here ever waits on the engine.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.presets import DEFAULT_PRESET, apply_preset, builtin_presets, model_defaults
from app.store import branches, conversations, messages, replies
from app.store.errors import StoreError
from app.store.records import MessageStats, Thread
from app.ui.engine_bridge import EngineBridge
from engines.base import Delta, Finished, GenerationParams, Started

log = logging.getLogger(__name__)
CHECKPOINT_TICK_MS = 250


class ChatController(QObject):
    thread_changed = Signal(object)  # Thread: the whole shown thread was replaced
    reply_started = Signal(object)  # the new assistant row (a store Message)
    reply_delta = Signal(str, bool)  # text, is_reasoning
    reply_finished = Signal(str, object, object)  # finish reason, stats dict, error sentence or None
    conversations_changed = Signal()
    status = Signal(str, bool)  # text, is_error
    prompt_shown = Signal(object)  # the engine's "prompt" answer for "View prompt"
    busy_changed = Signal(bool)

    def __init__(self, store: Any, bridge: EngineBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.bridge = bridge
        self.bridge.event.connect(self._on_engine_event)
        self.conversation_id: int | None = None
        self.thread: Thread | None = None
        self.params = apply_preset(GenerationParams(), builtin_presets()[DEFAULT_PRESET])
        self.system_prompt = ""
        self.model_path: str | None = None
        self.model_name: str | None = None
        self.engine: str | None = None
        self.template_override: str | None = None
        self._writer: replies.ReplyWriter | None = None
        self._reply_id: str | None = None
        self._render_id: str | None = None
        self._checkpoint = QTimer(self)
        self._checkpoint.setInterval(CHECKPOINT_TICK_MS)
        self._checkpoint.timeout.connect(self._flush_if_due)

    # --- state ----------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._reply_id is not None

    def set_model(self, path: str | None, name: str | None, engine: str | None) -> None:
        self.model_path, self.model_name, self.engine = path, name, engine
        if path and self.conversation_id is None:
            defaults = model_defaults(self.store, path)
            if defaults:
                try:
                    self.params = GenerationParams.from_dict({**self.params.to_dict(), **defaults})
                except Exception:  # defaults from an older or hand-edited store: keep the current ones
                    log.warning("ignoring stored defaults of %s", path)

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
        if self.busy:
            self.stop()
        self.conversation_id = None
        self.thread = None
        self.system_prompt = ""
        self.thread_changed.emit(None)

    def open_conversation(self, conversation_id: int) -> None:
        if self.busy:
            self.stop()
        thread = self._store_call(branches.load_thread, self.store, conversation_id)
        if thread is None:
            return
        self.conversation_id = conversation_id
        self.thread = thread
        self.system_prompt = thread.conversation.system_prompt
        if thread.conversation.parameters:
            try:
                self.params = GenerationParams.from_dict(thread.conversation.parameters)
            except Exception:  # parameters from an older or hand-edited store: keep the current ones
                log.warning("ignoring stored parameters of conversation %s", conversation_id)
        self.thread_changed.emit(thread)

    def reload_thread(self) -> None:
        if self.conversation_id is not None:
            self.thread = self._store_call(branches.load_thread, self.store, self.conversation_id)
            self.thread_changed.emit(self.thread)

    # --- replies --------------------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        text = text.strip()
        if not text or self.busy:
            return False
        if not self.model_path:
            self.status.emit("Choose a model and wait for it to load first.", True)
            return False
        if self.conversation_id is None:
            created = self._store_call(
                conversations.create_conversation,
                self.store,
                title=conversations.title_from_text(text),
                model=self.model_name,
                engine=self.engine,
                system_prompt=self.system_prompt,
                parameters=self.params.to_dict(),
            )
            if created is None:
                return False
            self.conversation_id = created.id
            self.conversations_changed.emit()
        # On disk before the engine hears of it: a crash from here on never loses what was typed.
        user = self._store_call(messages.add_user_message, self.store, self.conversation_id, text)
        if user is None:
            return False
        writer = self._store_call(replies.start_reply, self.store, self.conversation_id, user.id, model=self.model_name)
        return self._start(writer)

    def regenerate(self, message_id: int) -> None:
        if self.busy:
            return
        writer = self._store_call(replies.regenerate, self.store, message_id, model=self.model_name)
        self._start(writer)

    def edit(self, message_id: int, text: str) -> None:
        if self.busy or not text.strip():
            return
        edited = self._store_call(messages.edit_user_message, self.store, message_id, text.strip())
        if edited is None:
            return
        writer = self._store_call(
            replies.start_reply, self.store, edited.conversation_id, edited.id, model=self.model_name
        )
        self._start(writer)

    def continue_reply(self, message_id: int) -> None:
        if self.busy:
            return
        writer = self._store_call(replies.continue_reply, self.store, message_id)
        self._start(writer, continue_final=True)

    def delete(self, message_id: int) -> None:
        if self.busy:
            return
        self._store_call(branches.delete_branch, self.store, message_id)
        self.reload_thread()

    def switch_branch(self, message_id: int, step: int) -> None:
        """Show the previous (step -1) or next (+1) sibling of a message."""
        if self.busy or self.thread is None:
            return
        siblings = self.thread.alternatives.get(message_id)
        if not siblings or message_id not in siblings:
            return
        target = siblings[(siblings.index(message_id) + step) % len(siblings)]
        self._store_call(branches.switch_to, self.store, target)
        self.reload_thread()

    def stop(self) -> None:
        if self._reply_id is not None:
            self.bridge.cancel(self._reply_id)

    def show_prompt(self) -> None:
        if not self.model_path:
            self.status.emit("Load a model to see its prompt.", True)
            return
        conversation = self._engine_messages()
        if not conversation or conversation[-1]["role"] != "user":
            conversation.append({"role": "user", "content": "(your next message)"})
        self._render_id = self.bridge.render(conversation, self.params, self.template_override)

    def _engine_messages(self) -> list[dict[str, str]]:
        """The conversation as the engine sees it: the system prompt, then the shown thread."""
        out: list[dict[str, str]] = []
        if self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        if self.conversation_id is not None:
            thread = self._store_call(branches.load_thread, self.store, self.conversation_id)
            if thread is not None:
                self.thread = thread
                out.extend(
                    {"role": m.role, "content": m.content}
                    for m in thread.messages
                    if m.role in ("user", "assistant", "system") and (m.content or m.status != "streaming")
                )
        return out

    def _start(self, writer: replies.ReplyWriter | None, continue_final: bool = False) -> bool:
        if writer is None:
            return False
        self._writer = writer
        conversation = self._engine_messages()
        if not continue_final:
            # The new, empty reply is in the thread already; the engine must not see it.
            while conversation and conversation[-1]["role"] == "assistant" and not conversation[-1]["content"]:
                conversation.pop()
        self.thread_changed.emit(self.thread)
        self._reply_id = self.bridge.generate(conversation, self.params, self.template_override, continue_final)
        self._checkpoint.start()
        self.busy_changed.emit(True)
        self.status.emit("Thinking…", False)
        return True

    def _flush_if_due(self) -> None:
        if self._writer is not None:
            self._writer.flush_if_due()
            if self._writer.problem:
                self.status.emit(self._writer.problem, True)

    def _on_engine_event(self, request_id: str, event: Any) -> None:
        if request_id == self._render_id:
            self._render_id = None
            self.prompt_shown.emit(event)
            return
        if request_id != self._reply_id or self._writer is None:
            return
        if isinstance(event, Started):
            if event.notice:
                self.status.emit(event.notice, False)
        elif isinstance(event, Delta):
            if event.reasoning:
                self._writer.append(reasoning=event.text)
            else:
                self._writer.append(event.text)
            self.reply_delta.emit(event.text, event.reasoning)
        elif isinstance(event, Finished):
            self._finish(event)

    def _finish(self, event: Finished) -> None:
        writer = self._writer
        assert writer is not None
        self._checkpoint.stop()
        reason = event.finish_reason
        stats = event.stats.to_dict()
        error = event.error
        if event.detail:
            log.warning("reply failed: %s (%s)", error, event.detail)
        stored_stats = MessageStats(
            prompt_tokens=stats.get("prompt_tokens"),
            generated_tokens=stats.get("generated_tokens"),
            cached_tokens=stats.get("cached_tokens"),
            time_to_first_token_s=(stats.get("ttft_ms") or 0) / 1000 or None,
            tokens_per_second=stats.get("generation_tps"),
        )
        try:
            saved = writer.finish(reason, stored_stats, error)
        except StoreError as err:
            saved = False
            self.status.emit(str(err), True)
        if not saved and writer.problem:
            # Keep the writer: the checkpoint timer saves it once there is room again.
            self._checkpoint.start()
            self.status.emit(writer.problem, True)
        else:
            self._writer = None
        self._reply_id = None
        self.busy_changed.emit(False)
        self.reply_finished.emit(reason, stats, error)
        self.conversations_changed.emit()
        if reason == "error":
            self.status.emit(error or "The reply failed.", True)
        else:
            tps = stats.get("generation_tps") or 0.0
            note = {"cancelled": " · stopped", "length": " · stopped at the length limit"}.get(reason, "")
            cached = f" · {stats.get('cached_tokens')} cached" if stats.get("cached_tokens") else ""
            dropped = f" · {stats.get('dropped_turns')} old turns left out" if stats.get("dropped_turns") else ""
            self.status.emit(
                f"{stats.get('generated_tokens', 0)} tokens · {tps:.1f} tokens/s{cached}{dropped}{note}", False
            )

    def _store_call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a store operation; a failure a person can act on becomes a status sentence."""
        try:
            return function(*args, **kwargs)
        except StoreError as err:
            self.status.emit(str(err), True)
        except ValueError as err:
            self.status.emit(str(err).capitalize().rstrip(".") + ".", True)
        return None

    def shutdown(self) -> None:
        self._checkpoint.stop()
        if self._writer is not None:
            try:
                self._writer.flush()
            except StoreError:
                log.exception("could not save the last reply at shutdown")
