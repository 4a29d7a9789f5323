"""A comparison being run: 2 to 4 models answering the same prompts with the same parameters and seed.

When the plan says the models fit in memory together, each column has its own engine host and all answer
at once; otherwise one host answers for each column in turn, loading each model in place of the last
(the host unloads a model before it loads the next), so two are never over the budget together. Every
prompt is on disk before a model is asked, and each reply is written as it streams (ReplyWriter), so a
crash loses nothing. A model that cannot load, or a host that crashes, fails that column's reply with a
sentence; the other columns go on.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from app.evals.compare_plan import ComparePlan, plan_comparison
from app.store import comparisons, replies
from app.store.comparisons import ComparedModel
from app.store.db import Store
from app.store.errors import StoreError
from app.store.templates import person_template
from app.ui.engine_bridge import EngineBridge
from engines.base import GenerationParams, GenerationStats, LoadSettings, Message
from engines.protocol import Delta, Event, Failure, Finished, Loaded, Started

log = logging.getLogger(__name__)


@dataclass
class ColumnRun:
    """One column's model and where its current reply stands."""

    position: int
    model: ComparedModel
    template: str | None  # the person's own template for this model, as a normal chat would use
    parent_id: int | None = None  # the prompt this round's reply answers
    writer: replies.ReplyWriter | None = None
    request_id: str | None = None  # the load or the reply being waited for
    loaded: bool = False


class CompareSession(QObject):
    """Runs a comparison's rounds and keeps them in the store; the Compare view shows what it reports."""

    plan_changed = Signal(object)  # ComparePlan
    column_state = Signal(int, str)  # position, what it is doing in words ("Loading…", "Waiting its turn")
    column_started = Signal(int)  # position: its reply to the newest prompt begins
    column_text = Signal(int, str)  # position, streamed text
    column_finished = Signal(int, object, str, str)  # position, GenerationStats, finish reason, error ("" if none)
    busy_changed = Signal(bool)
    status = Signal(str, bool)  # text, is_error
    conversation_saved = Signal(object)  # the Conversation, after each round is asked

    def __init__(
        self,
        store: Store,
        memory_budget: int | None = None,
        engine_log: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.memory_budget = memory_budget  # None: what the machine has free when the comparison starts
        self.engine_log = engine_log
        self.conversation_id: int | None = None
        self.columns: list[ColumnRun] = []
        self.params = GenerationParams()
        self.system_prompt = ""
        self.plan: ComparePlan | None = None
        self._bridges: list[EngineBridge] = []  # one per column when together, else one for all
        self._waiting: list[int] = []  # columns still to answer this round, one after another
        self._active: set[int] = set()

    # --- setting up -----------------------------------------------------------------------------------

    def start(self, models: list[ComparedModel], system_prompt: str, params: GenerationParams) -> None:
        """A new comparison of these models (kept in the store with its first prompt)."""
        self._close_hosts()
        self.conversation_id = None
        # One seed for every column: a sampled reply differs by model, never by luck of the draw.
        self.params = params if params.seed is not None else replace(params, seed=random.randrange(2**31))
        self.system_prompt = system_prompt
        self._set_columns(models)

    def open(self, conversation_id: int) -> list[comparisons.Round]:
        """A kept comparison, to read and to go on with; returns its rounds."""
        from app.store.conversations import get_conversation

        self._close_hosts()
        conversation = get_conversation(self.store, conversation_id)
        stored = comparisons.columns(self.store, conversation_id)
        self.conversation_id = conversation_id
        self.system_prompt = conversation.system_prompt
        try:
            self.params = GenerationParams.from_dict(conversation.parameters)
        except Exception:  # parameters from an older or hand-edited store: the defaults, with a seed
            log.warning("ignoring stored parameters of comparison %s", conversation_id)
            self.params = GenerationParams(seed=0)
        self._set_columns([column.model for column in stored])
        return comparisons.rounds(self.store, conversation_id)

    def _set_columns(self, models: list[ComparedModel]) -> None:
        self.columns = [ColumnRun(i, model, person_template(model.path, self.store)) for i, model in enumerate(models)]
        self.plan = plan_comparison(models, self.memory_budget)
        self._start_hosts()
        self.plan_changed.emit(self.plan)

    def _start_hosts(self) -> None:
        """An engine bridge per column when the models run together, else one for all; each host process
        starts with its first request."""
        count = len(self.columns) if self.plan is not None and self.plan.together else 1
        self._bridges = [self._new_bridge(i) for i in range(count)]

    def _new_bridge(self, index: int) -> EngineBridge:
        bridge = EngineBridge(self.engine_log, self)
        bridge.engine_event.connect(lambda request_id, event: self._on_event(index, request_id, event))
        return bridge

    # --- a round --------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._active or self._waiting)

    def send(self, text: str) -> bool:
        """Ask every column; False (with a status sentence) when it cannot be asked now."""
        if self.busy or not text.strip() or not self.columns:
            return False
        try:
            if self.conversation_id is None:
                self.conversation_id = comparisons.create_comparison(
                    self.store,
                    [c.model for c in self.columns],
                    system_prompt=self.system_prompt,
                    parameters=self.params.to_dict(),
                ).id
            parents = comparisons.add_prompt(self.store, self.conversation_id, text)
            self.conversation_saved.emit(self._conversation())
        except StoreError as err:
            self.status.emit(str(err), True)
            return False
        for column, parent in zip(self.columns, parents, strict=True):
            column.parent_id = parent
        if not self._bridges:  # the window was closed and opened again
            self._start_hosts()
        if self.plan is not None and self.plan.together:
            for column in self.columns:
                self._ask(column)
        else:
            self._waiting = [c.position for c in self.columns]
            for position in self._waiting[1:]:
                self.column_state.emit(position, "Waiting its turn…")
            self._ask_next()
        self.busy_changed.emit(True)
        return True

    def _conversation(self):  # noqa: ANN202 - app.store.records.Conversation
        from app.store.conversations import get_conversation

        assert self.conversation_id is not None
        return get_conversation(self.store, self.conversation_id)

    def _bridge_of(self, column: ColumnRun) -> EngineBridge:
        return self._bridges[column.position] if len(self._bridges) > 1 else self._bridges[0]

    def _ask_next(self) -> None:
        if self._waiting:
            self._ask(self.columns[self._waiting.pop(0)])

    def _ask(self, column: ColumnRun) -> None:
        assert self.conversation_id is not None
        self._active.add(column.position)
        self.column_started.emit(column.position)
        try:
            column.writer = replies.start_reply(
                self.store, self.conversation_id, column.parent_id, model=column.model.name
            )
        except StoreError as err:
            self._end(column, Finished("error", GenerationStats(), str(err)))
            return
        bridge = self._bridge_of(column)
        if not column.loaded:
            self.column_state.emit(column.position, "Loading…")
            engine = column.model.engine if column.model.engine in ("llamacpp", "mlx") else "auto"
            column.request_id = bridge.load(column.model.path, engine, self._load_settings(column.model.path))
            return
        self._generate(column)

    def _load_settings(self, path: str) -> LoadSettings:
        """The model's own stored load settings, as a chat loads it."""
        from app.library.load_choice import effective_load_settings
        from engines.base import EngineError

        try:
            return effective_load_settings(path, self.store)
        except EngineError as err:
            log.warning("comparing %s with the default load settings: %s", path, err)
            return LoadSettings()

    def _generate(self, column: ColumnRun) -> None:
        self.column_state.emit(column.position, "Reading the prompt…")
        column.request_id = self._bridge_of(column).generate(self._messages(column), self.params, column.template)

    def _messages(self, column: ColumnRun) -> list[Message]:
        """What the engine is sent: the system prompt, then the column's thread (as a normal chat sends it)."""
        out: list[Message] = []
        if self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        for message in comparisons.column_messages(self.store, column.parent_id):
            if message.role in ("user", "assistant", "system"):
                out.append({"role": message.role, "content": message.content})
        return out

    def _on_event(self, bridge_index: int, request_id: str, event: Event) -> None:
        column = next((c for c in self.columns if c.request_id == request_id and self._owns(bridge_index, c)), None)
        if column is None or column.position not in self._active:
            return
        if isinstance(event, Loaded):
            self._loaded(column)
        elif isinstance(event, Failure):
            self._end(
                column,
                Finished("error", GenerationStats(), f"{column.model.name} could not be loaded: {event.message}"),
            )
        elif isinstance(event, Started):
            self.column_state.emit(column.position, "Reading the prompt…")
        elif isinstance(event, Delta):
            self._delta(column, event)
        elif isinstance(event, Finished):
            if event.finish_reason == "error":
                column.loaded = False  # the host may have crashed: load again for the next round
            self._end(column, event)

    def _owns(self, bridge_index: int, column: ColumnRun) -> bool:
        return len(self._bridges) == 1 or bridge_index == column.position

    def _loaded(self, column: ColumnRun) -> None:
        if len(self._bridges) == 1:
            for other in self.columns:
                other.loaded = False  # one host: loading this model unloaded the last
        column.loaded = True
        self._generate(column)

    def _delta(self, column: ColumnRun, event: Delta) -> None:
        assert column.writer is not None
        try:
            if event.reasoning:
                column.writer.append(reasoning=event.text)
                self.column_state.emit(column.position, "Thinking…")
            else:
                column.writer.append(event.text)
                self.column_text.emit(column.position, event.text)
        except StoreError as err:
            self.status.emit(str(err), True)

    def _end(self, column: ColumnRun, finished: Finished) -> None:
        self._active.discard(column.position)
        column.request_id = None
        writer, column.writer = column.writer, None
        if finished.detail:
            log.warning("comparison reply failed: %s (%s)", finished.error, finished.detail)
        if writer is not None and self.conversation_id is not None:
            try:
                writer.finish(finished.finish_reason, finished.stats, finished.error)
                if writer.message_id is not None:
                    comparisons.set_leaf(self.store, self.conversation_id, column.position, writer.message_id)
            except StoreError as err:
                self.status.emit(str(err), True)
        self.column_finished.emit(column.position, finished.stats, finished.finish_reason, finished.error or "")
        if not self._active:
            self._ask_next()
        if not self.busy:
            self.busy_changed.emit(False)

    def stop(self) -> None:
        """Stop every reply being written; columns still waiting their turn are not asked this round."""
        for position in self._waiting:
            self.column_state.emit(position, "Not asked: stopped.")
        self._waiting = []
        for column in self.columns:
            if column.position in self._active and column.request_id is not None:
                self._bridge_of(column).cancel(column.request_id)

    # --- the verdict, and going on alone --------------------------------------------------------------

    def set_winner(self, round_number: int, winner: int | None) -> None:
        if self.conversation_id is None:
            return
        try:
            comparisons.set_winner(self.store, self.conversation_id, round_number, winner)
        except StoreError as err:
            self.status.emit(str(err), True)

    def continue_as_chat(self, position: int) -> int | None:
        """A new chat holding this column's messages; its ID, or None (with a sentence) when it cannot."""
        if self.conversation_id is None or self.busy:
            self.status.emit("Wait for the replies to finish, then continue a column as a chat.", True)
            return None
        try:
            return comparisons.continue_as_chat(self.store, self.conversation_id, position).id
        except StoreError as err:
            self.status.emit(str(err), True)
            return None

    def _close_hosts(self) -> None:
        self._waiting = []
        for column in self.columns:
            if column.writer is not None:
                try:  # what was written so far stays, marked as stopped
                    column.writer.finish("cancelled")
                except StoreError as err:
                    log.warning("could not end a comparison reply: %s", err)
                column.writer = None
        self._active.clear()
        for column in self.columns:
            column.loaded = False
        for bridge in self._bridges:
            bridge.shutdown()
            bridge.deleteLater()
        self._bridges = []

    def shutdown(self) -> None:
        self._close_hosts()
