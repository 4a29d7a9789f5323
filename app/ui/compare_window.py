"""The Compare view: pick 2 to 4 models (local on either engine, or remote), send one prompt with the same
system prompt, parameters and seed for all, and read the replies side by side as they stream, each with
its figures. Mark the best reply of each round (or a tie), ask follow-ups of every column, and continue
any column as a normal chat. The line under the models says whether they run at the same time or one
after another, and why. A comparison is kept in the store and listed with the conversations.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.store.comparisons import TIE, ComparedModel, Round
from app.store.db import Store
from app.ui.accessible import describe
from app.ui.compare_column import CompareColumn
from app.ui.compare_params import CompareParams
from app.ui.compare_session import CompareSession
from engines.base import GenerationParams

MAX_COLUMNS = 4
NO_MODEL = "—"


class CompareWindow(QWidget):
    """The Compare view, in a window of its own."""

    continue_requested = Signal(int, object)  # the new chat's ID, and its ComparedModel
    conversation_saved = Signal(object)  # a Conversation, for the sidebar's list

    def __init__(
        self,
        store: Store,
        models: Callable[[], list[ComparedModel]],
        params: Callable[[], GenerationParams],
        memory_budget: int | None = None,
        engine_log: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare models")
        self._models = models
        self._params = params
        self.session = CompareSession(store, memory_budget, engine_log, self)
        self.columns: list[CompareColumn] = []
        self._rounds = 0  # rounds asked so far in the shown comparison
        self._prompt_sent = ""
        self._build()
        self._connect()
        self.new_comparison()

    def _build(self) -> None:
        self.choosers = [QComboBox() for _ in range(MAX_COLUMNS)]
        choose = QHBoxLayout()
        for number, chooser in enumerate(self.choosers, start=1):
            describe(chooser, f"Model {number}", f"The model of column {number}; leave it empty for fewer columns")
            chooser.setMinimumContentsLength(18)
            choose.addWidget(chooser, 1)
        self.new_button = describe(
            QPushButton("New comparison"), "New comparison", "Start again with the models chosen"
        )
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save this comparison round by round (Markdown) or whole (JSON)")
        choose.addWidget(self.new_button)
        choose.addWidget(self.export_button)
        self.system_prompt = describe(QLineEdit(), "System prompt", "Optional, and the same for every model")
        self.system_prompt.setPlaceholderText("System prompt (optional, the same for every model)")
        self.plan_line = QLabel("")
        self.plan_line.setObjectName("comparePlan")
        self.plan_line.setWordWrap(True)
        self.settings = CompareParams()
        self.status_line = QLabel("")
        self.status_line.setWordWrap(True)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("A prompt for every model (Ctrl+Enter sends)")
        describe(self.prompt, "Prompt for every model", "Sent to every column at once; Ctrl+Enter sends")
        self.prompt.setMaximumHeight(96)
        self.send_button = describe(QPushButton("Send to all"), "Send to all", "Send the prompt to every model")
        self.send_button.setDefault(True)
        self.stop_button = describe(QPushButton("Stop"), "Stop", "Stop every reply being written")
        self.tie_button = describe(QPushButton("Tie"), "Tie", "No reply of this round is better than the others")
        self.tie_button.setCheckable(True)
        self.tie_button.setToolTip("No reply of this round is better than the others")
        buttons = QVBoxLayout()
        for button in (self.send_button, self.stop_button, self.tie_button):
            buttons.addWidget(button)
        ask = QHBoxLayout()
        ask.addWidget(self.prompt, 1)
        ask.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.system_prompt)
        layout.addWidget(self.plan_line)
        layout.addWidget(self.settings)
        layout.addWidget(self.split, 1)
        layout.addWidget(self.status_line)
        layout.addLayout(ask)

    def _connect(self) -> None:
        session = self.session
        for chooser in self.choosers:
            chooser.currentIndexChanged.connect(self._models_chosen)
        self.new_button.clicked.connect(self.new_comparison)
        self.export_button.clicked.connect(self._ask_export)
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(session.stop)
        self.tie_button.clicked.connect(lambda: self._mark(TIE))
        QShortcut(QKeySequence("Ctrl+Return"), self.prompt, self.send)
        session.plan_changed.connect(lambda plan: self.plan_line.setText(plan.reason))
        session.column_state.connect(lambda position, text: self._column(position).set_state(text))
        session.column_started.connect(lambda position: self._column(position).begin_reply(self._prompt_sent))
        session.column_text.connect(lambda position, text: self._column(position).add_text(text))
        session.column_finished.connect(
            lambda position, stats, reason, error: self._column(position).end_reply(stats, reason, error)
        )
        session.busy_changed.connect(self._show_busy)
        session.status.connect(self._show_status)
        session.conversation_saved.connect(self.conversation_saved)

    def _column(self, position: int) -> CompareColumn:
        return self.columns[position]

    # --- choosing models ------------------------------------------------------------------------------

    def new_comparison(self) -> None:
        """Empty columns for the models chosen (the first two listed, to begin with)."""
        if self.session.busy:
            self._show_status("Stop the replies first, then start a new comparison.", True)
            return
        models = self._models()
        for number, chooser in enumerate(self.choosers):
            chooser.blockSignals(True)
            chooser.clear()
            chooser.addItem(NO_MODEL, None)
            for model in models:
                chooser.addItem(model.name, model)
            chooser.setCurrentIndex(number + 1 if number < 2 and number < len(models) else 0)
            chooser.setEnabled(True)
            chooser.blockSignals(False)
        self.system_prompt.setReadOnly(False)
        self._models_chosen()

    def chosen_models(self) -> list[ComparedModel]:
        return [chooser.currentData() for chooser in self.choosers if chooser.currentData() is not None]

    def choose(self, models: list[ComparedModel]) -> None:
        """Pick these models in the first choosers (a listed one with the same file where it is not
        listed itself), the rest left empty."""
        for number, chooser in enumerate(self.choosers):
            wanted = models[number] if number < len(models) else None
            listed = [chooser.itemData(i) for i in range(chooser.count())]
            same = [i for i, model in enumerate(listed) if model == wanted]
            same_file = [i for i, model in enumerate(listed) if wanted and getattr(model, "path", None) == wanted.path]
            index = (same or same_file or [0])[0]
            chooser.blockSignals(True)
            chooser.setCurrentIndex(index)
            chooser.blockSignals(False)
        self._models_chosen()

    def _models_chosen(self) -> None:
        models = self.chosen_models()
        self._rounds = 0  # set before the columns: their buttons wait for a round
        if len(models) < 2:
            self.plan_line.setText("Choose at least two models to compare.")
            self._show_columns([])
            return
        self.session.start(models, self.system_prompt.text(), self._params())
        self.settings.show_params(self.session.params, locked=False)
        self._show_columns(models)

    def _show_columns(self, models: list[ComparedModel]) -> None:
        for column in self.columns:
            column.setParent(None)
            column.deleteLater()
        self.columns = [CompareColumn(position, model) for position, model in enumerate(models)]
        for column in self.columns:
            column.best_clicked.connect(self._mark)
            column.continue_clicked.connect(self._continue)
            self.split.addWidget(column)
        self._show_busy(False)

    # --- a kept comparison ----------------------------------------------------------------------------

    def open_comparison(self, conversation_id: int) -> None:
        if self.session.busy:
            self._show_status("Stop the replies first, then open another comparison.", True)
            return
        rounds = self.session.open(conversation_id)
        models = [column.model for column in self.session.columns]
        for number, chooser in enumerate(self.choosers):
            chooser.blockSignals(True)
            chooser.clear()
            chooser.addItem(models[number].name if number < len(models) else NO_MODEL)
            chooser.setEnabled(False)
            chooser.blockSignals(False)
        self.system_prompt.setText(self.session.system_prompt)
        self.system_prompt.setReadOnly(True)
        self.settings.show_params(self.session.params, locked=True)
        self._rounds = len(rounds)
        self._show_columns(models)
        for column in self.columns:
            column.show_rounds([(one.prompt, _reply_text(one, column.position)) for one in rounds])
        self._show_verdict(rounds[-1].winner if rounds else None)

    # --- asking ---------------------------------------------------------------------------------------

    def send(self) -> None:
        text = self.prompt.toPlainText().strip()
        if not text:
            return
        if self.session.conversation_id is None:
            # The system prompt and settings may have been changed after the models were chosen.
            self.session.system_prompt = self.system_prompt.text()
            self.session.params = self.settings.params()
        self._prompt_sent = text
        if self.session.send(text):
            self._rounds += 1
            self.settings.show_params(self.session.params, locked=True)
            self.prompt.clear()
            self.system_prompt.setReadOnly(True)
            for chooser in self.choosers:
                chooser.setEnabled(False)
            self._show_verdict(None)
            self._show_status("", False)

    def _show_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy and len(self.columns) >= 2)
        self.export_button.setEnabled(not busy and self.session.conversation_id is not None)
        self.stop_button.setEnabled(busy)
        done = not busy and self._rounds > 0
        self.tie_button.setEnabled(done)
        for column in self.columns:
            column.best.setEnabled(done)
            column.continue_button.setEnabled(done)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_line.setText(text)
        self.status_line.setProperty("error", error)

    # --- verdicts, and going on alone -----------------------------------------------------------------

    def _mark(self, winner: int) -> None:
        """The person picked a column (or a tie) for the newest round; picking it again takes it back."""
        chosen = self.tie_button.isChecked() if winner == TIE else self._column(winner).best.isChecked()
        verdict = winner if chosen else None
        self.session.set_winner(self._rounds - 1, verdict)
        self._show_verdict(verdict)

    def _show_verdict(self, winner: int | None) -> None:
        self.tie_button.setChecked(winner == TIE)
        for column in self.columns:
            column.best.setChecked(winner == column.position)

    def _continue(self, position: int) -> None:
        chat_id = self.session.continue_as_chat(position)
        if chat_id is not None:
            self.continue_requested.emit(chat_id, self.session.columns[position].model)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export comparison", "comparison.md", "Markdown (*.md);;JSON (*.json)"
        )
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        """Write the shown comparison to `path`: JSON (lossless) for a .json name, else Markdown."""
        from app.store.errors import StoreError
        from app.store.export import export_json, export_markdown
        from app.store.files import write_atomically

        if self.session.conversation_id is None:
            return
        ids = [self.session.conversation_id]
        try:
            store = self.session.store
            write_atomically(path, export_json(store, ids) if path.endswith(".json") else export_markdown(store, ids))
        except (StoreError, OSError) as err:
            self._show_status(f"Could not export the comparison: {err}", True)
            return
        self._show_status(f"Exported to {path}", False)

    def closeEvent(self, event: QCloseEvent) -> None:
        # The engine hosts end with the window; opened again, it shows the same comparison and starts
        # them again for the next prompt.
        self.session.shutdown()
        super().closeEvent(event)


def _reply_text(one: Round, position: int) -> str:
    reply = one.replies[position]
    if reply is None:
        return ""
    return reply.content or (reply.error or "")
