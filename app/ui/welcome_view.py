"""What the chat pane shows when no conversation is open: what Parlour is, the model in use (private: it
runs here), a few prompts to start with, and a better model for this computer, one click away.

Signals, for the window to connect:

- `prompt_chosen(str)`: an example prompt was clicked; send it as the first message of a new chat.
- `browse_requested()`: "More models on the Hugging Face Hub…" was clicked; open the Hub browser.
- `model_downloaded(str)`: a recommended model finished downloading; the folder it is in (refresh the models).
- `use_requested(str, str)`: "Use this model" was clicked on a downloaded one; its path and name (load it).
- `recommendations_shown(int)`: the recommendations for this computer are listed (how many).

The window calls `set_model(name)` whenever the loaded model changes (None: none is loaded).

Nothing here touches the network until the person clicks Download: the recommendations' sizes and
fit badges come from the curated list and the fit estimate (app.library.recommendations). Measuring
this computer and asking the Hub for a download's files run off the GUI thread, and the download on
the queue's own threads, shown by a DownloadPanel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.library.downloads import DownloadQueue, JobState
from app.library.errors import LibraryError, OfflineError, offline_error
from app.library.recommendations import Machine, Recommendation, Suggestion, suggest, this_machine
from app.library.starter import STARTER_NAME
from app.ui.background import run_in_background
from app.ui.chat_theme import MESSAGE_PADDING_PX
from app.ui.chat_view import MAX_CONTENT_WIDTH
from app.ui.download_panel import DownloadPanel
from app.ui.theme import badge_style, fit_badge_style
from engines.inspect import human_size

EXAMPLE_PROMPTS = (
    "Explain how a rainbow forms, in two sentences.",
    "Write a short poem about a cup of tea.",
    "Give me three ideas for a rainy Sunday.",
    "Help me write a polite note declining an invitation.",
)
SHOWN = 4  # recommendations listed; the Hub browser has them all
COLUMN_WIDTH = MAX_CONTENT_WIDTH  # the chat's column: the page lines up with the composer under it
PRIVATE = "It runs on this computer: nothing you type leaves it."


def model_sentence(name: str | None) -> str:
    if name is None:
        return f"No model is loaded yet: choose one from the model list, or get one below. Models run here: {PRIVATE}"
    if name == STARTER_NAME:
        return f"{name}, the small starter model, is loaded. {PRIVATE}"
    return f"{name} is loaded. {PRIVATE}"


class WelcomeView(QScrollArea):
    prompt_chosen = Signal(str)
    browse_requested = Signal()
    model_downloaded = Signal(str)
    use_requested = Signal(str, str)  # a downloaded recommendation's path and name: load it
    recommendations_shown = Signal(int)

    def __init__(
        self,
        queue: DownloadQueue,
        machine: Machine | None = None,  # this computer's budget, tier and fit context; measured when None
        recommendations: tuple[Recommendation, ...] | None = None,  # the curated list; the shipped one when None
        parent: QWidget | None = None,
        shown: int = SHOWN,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome to Parlour")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.verticalScrollBar().setAccessibleName("Scroll the welcome page")
        self.horizontalScrollBar().setAccessibleName("Scroll the welcome page sideways")
        self.queue = queue
        self.suggestions: list[Suggestion] = []
        self._recommendations = recommendations
        self._shown = shown
        self._rows: list[tuple[Suggestion, QPushButton]] = []
        self._following: Suggestion | None = None
        self._make_widgets()
        self._layout()
        self.downloads.finished.connect(self._download_ended)
        self.downloads.failed.connect(self._download_failed)
        self.browse_button.clicked.connect(self.browse_requested)
        self.set_model(None)
        if machine is not None:
            self.show_recommendations(machine)
        else:
            run_in_background(self, this_machine, self.show_recommendations, self._not_measured)

    # --- widgets ---------------------------------------------------------------------------------------

    def _make_widgets(self) -> None:
        self.heading = QLabel("Welcome to Parlour")
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.heading.setFont(font)
        self.tagline = QLabel("Private chat with language models that run on your own computer.")
        self.model_line = QLabel("")
        self.model_line.setWordWrap(True)
        self.prompt_buttons = []
        for text in EXAMPLE_PROMPTS:
            button = QPushButton(text)
            button.setAccessibleName(f"Ask: {text}")
            button.setAccessibleDescription("Start a new chat with this message")
            button.clicked.connect(lambda _checked=False, prompt=text: self.prompt_chosen.emit(prompt))
            self.prompt_buttons.append(button)
        self.better_heading = QLabel("Get a better model")
        section = QFont(self.better_heading.font())
        section.setPointSizeF(section.pointSizeF() * 1.25)
        section.setBold(True)
        self.better_heading.setFont(section)
        self.machine_line = QLabel("Checking what this computer can run…")
        self.machine_line.setWordWrap(True)
        self.recommendation_grid = QGridLayout()
        self.recommendation_grid.setColumnStretch(0, 1)
        self.downloads = DownloadPanel(self.queue)
        self.downloads.hide()
        self.offline_badge = QLabel("offline")
        self.offline_badge.setStyleSheet(badge_style())
        self.offline_badge.hide()
        self.browse_button = QPushButton("More models on the Hugging Face Hub…")
        self.browse_button.setAccessibleName("More models on the Hugging Face Hub")
        self.browse_button.setAccessibleDescription("Open the Hub browser to find more models")

    def _layout(self) -> None:
        column = QVBoxLayout()
        column.addWidget(self.heading)
        column.addWidget(self.tagline)
        column.addWidget(self.model_line)
        column.addSpacing(12)
        column.addWidget(QLabel("Try asking:"))
        prompts = QGridLayout()
        for index, button in enumerate(self.prompt_buttons):
            prompts.addWidget(button, index // 2, index % 2)
        column.addLayout(prompts)
        column.addSpacing(18)
        column.addWidget(self.better_heading)
        column.addWidget(self.machine_line)
        column.addLayout(self.recommendation_grid)
        offline_row = QHBoxLayout()
        offline_row.addWidget(self.offline_badge)
        offline_row.addStretch(1)
        column.addLayout(offline_row)
        column.addWidget(self.downloads)
        browse_row = QHBoxLayout()
        browse_row.addWidget(self.browse_button)
        browse_row.addStretch(1)
        column.addLayout(browse_row)
        column.addStretch(1)
        column.setContentsMargins(MESSAGE_PADDING_PX, 12, MESSAGE_PADDING_PX, 12)
        inner = QWidget()
        inner.setMaximumWidth(COLUMN_WIDTH)
        inner.setLayout(column)
        page = QWidget()
        centred = QHBoxLayout(page)
        centred.setContentsMargins(6, 0, 6, 0)  # as the composer's column below, so the two line up
        centred.addStretch(1)
        centred.addWidget(inner, 100)
        centred.addStretch(1)
        self.setWidget(page)

    # --- the model -------------------------------------------------------------------------------------

    def set_model(self, name: str | None) -> None:
        """The loaded model's name as the person sees it, or None when no model is loaded."""
        self.model_line.setText(model_sentence(name))

    # --- recommendations -------------------------------------------------------------------------------

    def show_recommendations(self, machine: Machine) -> None:
        """The best recommendations for `machine`, those that fit first, each with its badge and size."""
        from app.library.hub import default_formats

        formats = default_formats()
        self.suggestions = suggest(machine.budget, formats, machine.context, machine.tier, self._recommendations)
        self.machine_line.setText(
            f"The starter model is small. These suit this computer ({machine.budget.description}), judged at "
            f"{machine.context:,} tokens of context; sizes are what you download."
        )
        self._rows = []
        for row, suggestion in enumerate(self.suggestions[: self._shown]):
            self._add_row(row, suggestion)
        self.recommendations_shown.emit(len(self._rows))

    def _add_row(self, row: int, suggestion: Suggestion) -> None:
        rec, size = suggestion.recommendation, human_size(suggestion.download_bytes)
        about = QLabel(f"<b>{rec.name}</b> · {suggestion.variant.label}<br>{rec.description}")
        about.setWordWrap(True)
        about.setToolTip(f"{suggestion.variant.repo_id} · licence: {rec.licence}")
        badge = QLabel(suggestion.verdict.badge)
        badge.setStyleSheet(fit_badge_style(suggestion.verdict.badge))
        badge.setToolTip(suggestion.verdict.detail)
        button = QPushButton("Download")
        button.setAccessibleName(f"Download {rec.name} ({size})")
        button.setAccessibleDescription(
            f"Download {size} from {suggestion.variant.repo_id}; fit for this computer: {suggestion.verdict.badge}"
        )
        button.setToolTip(f"Download {size} from {suggestion.variant.repo_id}")
        button.clicked.connect(lambda _checked=False, chosen=suggestion: self.download(chosen))
        self.recommendation_grid.addWidget(about, row, 0)
        self.recommendation_grid.addWidget(badge, row, 1, Qt.AlignmentFlag.AlignVCenter)
        self.recommendation_grid.addWidget(QLabel(size), row, 2, Qt.AlignmentFlag.AlignVCenter)
        self.recommendation_grid.addWidget(button, row, 3, Qt.AlignmentFlag.AlignVCenter)
        self._rows.append((suggestion, button))

    def row_texts(self) -> list[tuple[str, str, str]]:
        """Each listed recommendation as (name, badge, download size), in order (for tests and accessibility)."""
        return [(s.name, s.verdict.badge, human_size(s.download_bytes)) for s, _button in self._rows]

    def download_button(self, name: str) -> QPushButton:
        return next(button for suggestion, button in self._rows if suggestion.name == name)

    def _not_measured(self, error: Exception) -> None:
        self.machine_line.setText(f"Parlour could not tell what this computer can run: {error}")

    # --- downloading -----------------------------------------------------------------------------------

    def download(self, suggestion: Suggestion) -> None:
        """Ask the Hub for the model's files (off the GUI thread), then download them with progress."""
        if self.downloads.busy():
            return
        from app.library.recommendations import plan_recommended_download
        from app.library.settings import models_folder

        try:
            root = models_folder()
        except LibraryError as error:
            self._download_failed(error)
            return
        self._following = suggestion
        self.offline_badge.hide()
        self._enable_downloads(False)
        self.downloads.show()
        variant = suggestion.variant
        self.downloads.plan_and_follow(lambda: plan_recommended_download(variant, root), suggestion.name)

    def _download_failed(self, error: Exception) -> None:
        self._following = None
        self.downloads.show()
        self.downloads.progress_label.setText(str(error))
        self.offline_badge.setVisible(isinstance(error, OfflineError))

    def _download_ended(self) -> None:
        job, following = self.downloads.job, self._following
        self._enable_downloads(True)
        if job is None or following is None:
            return  # the Hub could not be asked for the files: _download_failed said why
        if job.state == JobState.DONE:
            self._following = None
            model = job.destination / following.variant.file if following.variant.file else job.destination
            self._offer_to_use(following, str(model))
            self.model_downloaded.emit(str(job.destination))
        elif job.state == JobState.FAILED and job.error == str(offline_error()):
            self.offline_badge.show()

    def _offer_to_use(self, suggestion: Suggestion, path: str) -> None:
        """The row's button now loads the downloaded model: the second click of "get a better model"."""
        button = self.download_button(suggestion.name)
        button.clicked.disconnect()
        button.setText("Use this model")
        button.setAccessibleName(f"Use {suggestion.name}")
        button.setAccessibleDescription(f"Load {suggestion.name}, downloaded to this computer, for the next chats")
        button.setToolTip(button.accessibleDescription())
        button.clicked.connect(lambda _checked=False: self.use_requested.emit(path, suggestion.name))

    def _enable_downloads(self, enabled: bool) -> None:
        for _suggestion, button in self._rows:
            button.setEnabled(enabled)
