"""Running the chosen evaluation set, and its runs: which models to run it on (one to four), Run and
Stop, how far the run has got, the earlier runs of the set to choose from, and the chosen run shown by
EvalRunView and exported as a report.

The models are listed off the GUI thread (`models()` may read the disk or ask the remote endpoints);
the run itself is an EvalRunJob. A run in progress is shown as it goes, from the store, the same way
a run from last month is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.evals.checks import EvalSetError
from app.evals.report import kept_run
from app.evals.runner import ModelUnderTest
from app.evals.sets import EvalSet
from app.store import evals as kept
from app.store.db import Store
from app.store.errors import StoreError
from app.store.timestamps import from_text
from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.eval_report_export import write_report
from app.ui.eval_run_view import EvalRunView
from app.ui.eval_runner_worker import EvalRunJob

MAX_MODELS = 4  # more columns than this no longer read side by side


def run_label(run: kept.StoredRun, rows: list[dict], running_models: list[str] | None = None) -> str:
    """How the run chooser names a run: when, which models, with what parameters, and how it ended.

    `running_models`: the models of the run in progress (the store knows a run's models only from
    the replies it has kept so far).
    """
    when = from_text(run.started_at).astimezone().strftime("%Y-%m-%d %H:%M")
    models = running_models or list(dict.fromkeys(str(row["model"]) for row in rows)) or ["no replies"]
    p = run.parameters
    settings = f"temperature {p.get('temperature')} · max {p.get('max_tokens')} tokens · seed {p.get('seed')}"
    cases = sum(1 for line in run.set_jsonl.splitlines() if line.strip()) - 1  # to_jsonl: a header, a case a line
    state = ""
    if running_models:
        state = " · running"
    elif run.finished_at is None:
        state = " · interrupted"
    elif not rows or any(sum(1 for row in rows if row["model"] == model) < cases for model in models):
        state = " · stopped"  # (a run stopped between two models reads as complete: the store keeps no list)
    return f"Run {run.id} · {when} · {', '.join(models)} · {settings}{state}"


class EvalRunPanel(QWidget):
    status = Signal(str)  # a sentence for the window's status line
    run_ended = Signal(int)  # the run's id, once its thread has ended and the view shows the end

    def __init__(
        self,
        store: Store,
        models: Callable[[], list[tuple[str, str]]],
        set_to_run: Callable[[], EvalSet],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._list_models = models
        self._set_to_run = set_to_run  # the chosen set, checked; EvalSetError when it cannot run as it is
        self.job: EvalRunJob | None = None
        self.set_name = ""
        self.model_list = describe(QListWidget(), "Models to run", f"Tick one to {MAX_MODELS} models to run the set on")
        self.run_button = describe(QPushButton("Run"), "Run the set", "Run the set on the ticked models")
        self.stop_button = describe(
            QPushButton("Stop"), "Stop the run", "End the run after the reply in progress, keeping what finished"
        )
        self.refresh_button = describe(QPushButton("Refresh models"), "Refresh models", "List the models again")
        self.progress = QLabel()
        self.progress.setWordWrap(True)
        self.run_chooser = describe(QComboBox(), "Run", "The runs of this set, oldest first; choose one to show it")
        self.run_chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.export_button = describe(
            QPushButton("Export report…"), "Export report", "Write the shown run as CSV, Markdown, JSON and charts"
        )
        self.view = EvalRunView()
        self._layout()
        self._show_running(False)
        self.export_button.setEnabled(False)
        self.run_button.clicked.connect(self.start_run)
        self.stop_button.clicked.connect(self.stop_run)
        self.refresh_button.clicked.connect(self.refresh_models)
        self.export_button.clicked.connect(self._choose_report_folder)
        self.model_list.itemChanged.connect(self._limit_ticks)
        self.run_chooser.currentIndexChanged.connect(lambda _index: self.show_chosen_run())

    def _layout(self) -> None:
        buttons = QVBoxLayout()
        for button in (self.run_button, self.stop_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        models = QHBoxLayout()
        models.addWidget(self.model_list, 1)
        models.addLayout(buttons)
        runs = QHBoxLayout()
        runs.addWidget(QLabel("Run:"))
        runs.addWidget(self.run_chooser, 1)
        runs.addWidget(self.export_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(models)
        column.addWidget(self.progress)
        column.addLayout(runs)
        column.addWidget(self.view, 1)

    # --- models ----------------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """List the models again (the window does this each time it is shown), keeping the ticks."""
        if self.job is not None:
            return  # the list is what the run was started from
        run_in_background(self, self._list_models, self._show_models, self._models_failed)

    def _show_models(self, models: list[tuple[str, str]]) -> None:
        ticked = {model.path for model in self.chosen_models()}
        self.model_list.blockSignals(True)
        self.model_list.clear()
        for name, path in models:
            item = QListWidgetItem(name)
            item.setToolTip(path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if path in ticked else Qt.CheckState.Unchecked)
            self.model_list.addItem(item)
        if not ticked and self.model_list.count():
            self.model_list.item(0).setCheckState(Qt.CheckState.Checked)  # one model is the usual case
        self.model_list.blockSignals(False)
        self._limit_ticks()
        # As tall as its models (two to six rows), so the run's results get the rest of the height.
        row_height = self.model_list.sizeHintForRow(0) if models else self.fontMetrics().lineSpacing() + 4
        rows = min(max(len(models), 2), 6)
        self.model_list.setFixedHeight(row_height * rows + 2 * self.model_list.frameWidth() + 4)
        if not models:
            self.status.emit("No models to run the set on: add one in Models on this computer.")

    def _models_failed(self, error: Exception) -> None:
        self.status.emit(f"The models could not be listed: {error}")

    def _items(self) -> list[QListWidgetItem]:
        return [self.model_list.item(row) for row in range(self.model_list.count())]

    def tick(self, paths: list[str]) -> None:
        """Tick exactly the models at `paths`."""
        for item in self._items():
            wanted = item.data(Qt.ItemDataRole.UserRole) in paths
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def _limit_ticks(self, *_: object) -> None:
        """Once four are ticked, the others cannot be."""
        full = len(self.chosen_models()) >= MAX_MODELS
        self.model_list.blockSignals(True)
        for item in self._items():
            can_tick = not full or item.checkState() == Qt.CheckState.Checked
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsEnabled if can_tick else item.flags() & ~Qt.ItemFlag.ItemIsEnabled
            )
        self.model_list.blockSignals(False)

    def chosen_models(self) -> list[ModelUnderTest]:
        ticked = [item for item in self._items() if item.checkState() == Qt.CheckState.Checked]
        names = [item.text() for item in ticked]
        # The scoreboard tells models apart by name: two of the same name are told apart by their paths.
        return [
            ModelUnderTest(
                item.text() if names.count(item.text()) == 1 else f"{item.text()} ({item.toolTip()})",
                str(item.data(Qt.ItemDataRole.UserRole)),
            )
            for item in ticked
        ]

    # --- running ---------------------------------------------------------------------------------------

    def start_run(self) -> None:
        if self.job is not None:
            return
        models = self.chosen_models()
        try:
            evals = self._set_to_run()
        except EvalSetError as err:
            self.status.emit(str(err))
            return
        if not 1 <= len(models) <= MAX_MODELS:
            self.status.emit(f"Tick one to {MAX_MODELS} models to run the set on.")
            return
        job = EvalRunJob(self.store, evals, models)
        try:
            run_id = job.start()
        except StoreError as err:
            job.deleteLater()
            self.status.emit(str(err))
            return
        self.job = job
        job.case_done.connect(self._case_done)
        job.ended.connect(self._ended)
        self._show_running(True)
        self._say_progress()
        count = f"{len(models)} model{'s' if len(models) > 1 else ''}"
        self.status.emit(f"Running {evals.name} on {count}; each reply is kept as it finishes.")
        self.list_runs(self.set_name, select=run_id)

    def stop_run(self) -> None:
        if self.job is not None and not self.job.stopping:
            self.job.stop()
            self.stop_button.setEnabled(False)
            self.progress.setText("Stopping after the reply in progress…")

    def _show_running(self, running: bool) -> None:
        self.progress.setVisible(running)  # how the run ended goes to the status line
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.refresh_button.setEnabled(not running)

    def _say_progress(self) -> None:
        job = self.job
        up_next = job.next_up() if job is not None else None
        if job is None or up_next is None or job.stopping:
            return
        model, case = up_next
        self.progress.setText(f"{job.done + 1} of {job.total} · model {model} · case {case}")

    def _case_done(self, _result: object) -> None:
        self._say_progress()
        if self.job is not None and self.current_run_id() == self.job.run_id:
            self.show_chosen_run()

    def _ended(self, sentence: str) -> None:
        job, self.job = self.job, None
        self._show_running(False)
        self.status.emit(sentence)
        if job is None:
            return
        if job.evals.name == self.set_name:  # relabel the run (no longer running) and show how it ended
            self.list_runs(self.set_name, select=job.run_id)
        self.run_ended.emit(job.run_id)

    def stop_for_close(self) -> None:
        """The window is closing: the run ends after the reply in progress, what finished is kept."""
        if self.job is not None:
            self.job.stop()

    # --- runs ------------------------------------------------------------------------------------------

    def list_runs(self, set_name: str, select: int | None = None) -> None:
        """The runs of `set_name` in the chooser, showing `select` (by default the newest)."""
        self.set_name = set_name
        live = self.job.run_id if self.job is not None else None
        live_models = [model.name for model in self.job.models] if self.job is not None else None
        try:
            labelled = [
                (run.id, run_label(run, kept.results(self.store, run.id), live_models if run.id == live else None))
                for run in kept.runs(self.store, set_name)
            ]
        except StoreError as err:
            labelled = []
            self.status.emit(str(err))
        self.run_chooser.blockSignals(True)
        self.run_chooser.clear()
        for run_id, label in labelled:
            self.run_chooser.addItem(label, run_id)
            self.run_chooser.setItemData(self.run_chooser.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        # The list opens as wide as its longest label: the box itself may have to cut them short.
        self.run_chooser.view().setMinimumWidth(self.run_chooser.view().sizeHintForColumn(0) + 24)
        chosen = self.run_chooser.findData(select) if select is not None else self.run_chooser.count() - 1
        self.run_chooser.setCurrentIndex(chosen)
        self.run_chooser.blockSignals(False)
        self.show_chosen_run()
        if not labelled and self.job is None:
            self.status.emit(f"No runs of {set_name} yet: tick the models to run it on, then Run.")

    def current_run_id(self) -> int | None:
        data = self.run_chooser.currentData()
        return int(data) if data is not None else None

    def show_chosen_run(self) -> None:
        run_id = self.current_run_id()
        report = None
        if run_id is not None:
            try:
                run = next(r for r in kept.runs(self.store, self.set_name) if r.id == run_id)
                report = kept_run(run, kept.results(self.store, run_id))
            except (StoreError, EvalSetError, StopIteration) as err:
                self.status.emit(f"Run {run_id} cannot be shown: {err or 'it is no longer kept'}")
        self.view.show_report(report)
        self.export_button.setEnabled(report is not None and bool(report.rows))

    # --- report ----------------------------------------------------------------------------------------

    def _choose_report_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the run into a folder", str(Path.home()))
        if folder:
            self.export_report(Path(folder))

    def export_report(self, folder: Path) -> None:
        report = self.view.report
        if report is None:
            self.status.emit("Choose a run to export first.")
            return
        try:
            names = write_report(folder, report)
        except OSError as err:
            self.status.emit(f"The report could not be written to {folder}: {err.strerror or err}.")
            return
        self.status.emit(f"Wrote run {report.info['id']} to {folder}: {', '.join(names)}.")
