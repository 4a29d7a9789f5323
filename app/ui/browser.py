"""The Hub browser: search as you type, a model page with its variants and fit badges, downloads.

Every request runs off the GUI thread (app.ui.background) and every download on the
queue's own threads; results and progress come back through queued signals. Nothing
touches the network until the user types, opens a search result or downloads: with an empty
search box the list holds the recommended models, whose pages, sizes and fit badges come
from the curated list and the fit estimate.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.library import recommendations as curated
from app.library.downloads import DownloadJob, DownloadQueue
from app.library.errors import LibraryError, OfflineError
from app.library.fit import CONTEXT_LADDER
from app.library.hub import HubSearch, SearchQuery, default_formats
from app.library.hub_token import HubToken
from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.download_panel import DownloadPanel
from app.ui.hub_token_row import HubTokenRow
from app.ui.search_results_model import SearchResultsModel, no_results
from app.ui.theme import badge_style
from engines.inspect import human_size

DEBOUNCE_MS = 350
FORMAT_CHOICES = [("GGUF", ("gguf",)), ("MLX", ("mlx",)), ("MLX and GGUF", ("mlx", "gguf"))]
SORT_CHOICES = [
    ("Most downloaded", "downloads"),
    ("Most liked", "likes"),
    ("Trending", "trending"),
    ("Recently updated", "updated"),
]
CONTEXT_CHOICES = sorted(CONTEXT_LADDER)  # the fit estimate's own ladder, smallest first
RECOMMENDED = "Recommended for this computer. Type to search the Hugging Face Hub for more."


NOTHING_CHOSEN = "Choose a model on the left to see its files, their sizes and whether each fits this computer."


class HubBrowser(QWidget):
    page_shown = Signal(object)  # the ModelPage now on screen
    recommendations_shown = Signal(int)  # the recommended models are listed (how many)

    def __init__(
        self,
        queue: DownloadQueue | None = None,
        token_store: HubToken | None = None,
        parent: QWidget | None = None,
        machine: curated.Machine | None = None,  # this computer; measured off the GUI thread when None
        recommendations: tuple[curated.Recommendation, ...] | None = None,  # the shipped list when None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find models")
        self.queue = queue or DownloadQueue()
        self.token_store = token_store or HubToken()
        self._search: HubSearch | None = None
        self._search_seq = 0
        self._page: Any = None
        self._budget: Any = None
        self._machine = machine
        self._recommendations = recommendations
        self.downloads = DownloadPanel(self.queue)
        # The panel's parts, by the names the browser has always shown them under.
        self.pause_button = self.downloads.pause_button
        self.cancel_button = self.downloads.cancel_button
        self.progress = self.downloads.progress
        self.progress_label = self.downloads.progress_label

        self._make_search_widgets()
        self._make_page_widgets()
        self._layout()
        self._connect()
        self.show_recommendations()

    def _make_search_widgets(self) -> None:
        self.search_box = QLineEdit(placeholderText="Search the Hugging Face Hub, e.g. qwen 7b author:bartowski")
        describe(self.search_box, "Search the Hub", "Words of a model's name; author:NAME narrows to one publisher")
        self.format_box = QComboBox()
        for label, formats in FORMAT_CHOICES:
            self.format_box.addItem(label, formats)
        self.format_box.setCurrentIndex(next(i for i, (_, f) in enumerate(FORMAT_CHOICES) if f == default_formats()))
        describe(self.format_box, "Format", "Which model formats to list: GGUF for llama.cpp, MLX for Apple Silicon")
        self.sort_box = QComboBox()
        for label, key in SORT_CHOICES:
            self.sort_box.addItem(label, key)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.offline_badge = QLabel("offline")
        self.offline_badge.setStyleSheet(badge_style())
        self.offline_badge.hide()
        self.token_row = HubTokenRow(self.token_store)
        self.token_status = self.token_row.status
        self.set_token = self.token_row.set_token
        describe(self.sort_box, "Sort by", "The order of the search results")

        self.results = SearchResultsModel(self)
        self.results_view = QListView()
        self.results_view.setModel(self.results)
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        describe(
            self.results_view, "Models", "Recommended models, or the search's results; choose one to see its files"
        )
        self.more_button = describe(QPushButton("More results"), "More results", "Ask the Hub for the next page")
        self.more_button.setEnabled(False)

    def _make_page_widgets(self) -> None:
        self.title = QLabel(NOTHING_CHOSEN)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel("")
        self.facts.setWordWrap(True)
        self.card = describe(QTextBrowser(), "Model card", "What the model's authors wrote about it")
        self.context_box = self._context_box()
        self.variants = QTableWidget(0, 3)
        self.variants.setHorizontalHeaderLabels(["Variant", "Size", "Fit"])
        self.variants.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.variants.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.variants.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.variants.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        describe(self.variants, "Variants", "The model's files by quantization, with their size and whether they fit")
        self.download_button = describe(
            QPushButton("Download"), "Download the chosen variant", "Download the chosen variant's files"
        )
        self.download_button.setEnabled(False)

    def _connect(self) -> None:
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search)
        self.search_box.textChanged.connect(self._query_changed)
        self.format_box.currentIndexChanged.connect(self._query_changed)
        self.sort_box.currentIndexChanged.connect(self._query_changed)
        self.more_button.clicked.connect(self.more)
        self.results_view.selectionModel().currentChanged.connect(lambda index, _old: self.open_model(index.row()))
        self.context_box.currentIndexChanged.connect(self._context_changed)
        self.variants.itemSelectionChanged.connect(self._variant_chosen)
        self.download_button.clicked.connect(self.download_selected)
        self.downloads.finished.connect(self._variant_chosen)
        self.downloads.failed.connect(self._failed)

    @staticmethod
    def _context_box() -> QComboBox:
        """The context lengths the fit badges can assume, set to the one chosen last time."""
        box = QComboBox()
        for tokens in CONTEXT_CHOICES:
            box.addItem(f"{tokens:,} tokens of context", tokens)
        box.setCurrentIndex(CONTEXT_CHOICES.index(curated.chosen_fit_context()))
        return describe(box, "Context for the fit", "The context length the fit badges assume")

    def _layout(self) -> None:
        top = QHBoxLayout()
        for widget in (self.search_box, self.format_box, self.sort_box, self.offline_badge):
            top.addWidget(widget)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.results_view)
        left_column.addWidget(self.more_button)
        right = QWidget()
        page = QVBoxLayout(right)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.title)
        page.addWidget(self.facts)
        page.addWidget(self.card, 2)
        page.addWidget(self.context_box)
        page.addWidget(self.variants, 1)
        page.addWidget(self.download_button)
        page.addWidget(self.downloads)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(0, 2)
        split.setSizes([440, 660])  # the list wide enough for a repository's name and its variant
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.status)
        column.addWidget(split, 1)
        column.addWidget(self.token_row)

    # --- recommendations -------------------------------------------------------------------------------

    def show_recommendations(self) -> None:
        """The curated list for this computer, in the chosen format, in place of search results (no network)."""
        self._search_seq += 1  # a search still running is overtaken
        self._search = None
        self.more_button.setEnabled(False)
        if self._machine is None:
            run_in_background(self, curated.this_machine, self._machine_measured, self._failed)
            return
        machine, formats, context = self._machine, self.format_box.currentData(), int(self.context_box.currentData())
        self._budget = machine.budget
        found = curated.suggest(machine.budget, formats, context, machine.tier, self._recommendations)
        self.results.show_suggestions(found)
        self.status.setText(RECOMMENDED)
        self.recommendations_shown.emit(self.results.rowCount())

    def _machine_measured(self, machine: curated.Machine) -> None:
        self._machine = machine
        if not self.search_box.text().strip():
            self.show_recommendations()

    def _query_changed(self, *_args: Any) -> None:
        if self.search_box.text().strip():
            self._debounce.start()
        else:
            self._debounce.stop()
            self.show_recommendations()

    # --- search ----------------------------------------------------------------------------------------

    def query(self) -> SearchQuery:
        """The box's words; `author:NAME` among them narrows the search to one publisher."""
        words, author = [], None
        for word in self.search_box.text().split():
            if word.lower().startswith("author:") and len(word) > 7:
                author = word[7:]
            else:
                words.append(word)
        return SearchQuery(" ".join(words), self.format_box.currentData(), self.sort_box.currentData(), author)

    def search(self) -> None:
        self._search_seq += 1
        seq = self._search_seq
        search = HubSearch(self.query(), self.token_row.token)
        self.status.setText("Searching…")
        run_in_background(
            self, search.next_page, lambda page: self._results(seq, search, page, replace=True), self._failed
        )

    def more(self) -> None:
        if self._search is None:
            return
        seq, search = self._search_seq, self._search
        self.more_button.setEnabled(False)
        run_in_background(
            self, search.next_page, lambda page: self._results(seq, search, page, replace=False), self._failed
        )

    def _results(self, seq: int, search: HubSearch, page: Any, replace: bool) -> None:
        if seq != self._search_seq:
            return  # an older search, overtaken by typing
        self._search = search
        self.offline_badge.hide()
        if replace:
            self.results.replace(page.results)
        else:
            self.results.append(page.results)
        count = self.results.rowCount()
        self.status.setText(f"{count} model{'s' if count != 1 else ''}" if count else no_results(search.query))
        self.more_button.setEnabled(page.more)

    def _failed(self, error: Exception) -> None:
        self.status.setText(str(error))
        self.offline_badge.setVisible(isinstance(error, OfflineError))
        self.more_button.setEnabled(self._search is not None)

    # --- the model page --------------------------------------------------------------------------------

    def open_model(self, row: int) -> None:
        if not 0 <= row < self.results.rowCount():
            return
        suggestion = self.results.suggestion(row)
        if suggestion is not None:  # a recommendation: its page comes from the curated list, not the Hub
            self._page_loaded((curated.curated_page(suggestion), self._budget))
            return
        repo_id = self.results.result(row).repo_id
        token = self.token_row.token
        self.title.setText(f"<b>{repo_id}</b>")
        self.facts.setText("Loading…")

        def load() -> tuple[Any, Any]:
            from app.library.fit import machine_budget
            from app.library.model_page import load_model_page

            return load_model_page(repo_id, token), machine_budget()

        run_in_background(self, load, self._page_loaded, self._failed)

    def _page_loaded(self, loaded: tuple[Any, Any]) -> None:
        page, self._budget = loaded
        self._page = page
        self.offline_badge.hide()
        facts = [
            f"License: {page.license or 'not stated'}",
            f"Architecture: {page.architecture or 'unknown'}",
            f"Parameters: {page.parameter_count / 1e9:.2f} B" if page.parameter_count else "Parameters: unknown",
            f"Context: {page.context_length:,} tokens" if page.context_length else "Context: unknown",
        ]
        if page.gated:
            facts.append("Gated: accept the license on the Hub and add your token to download")
        if isinstance(page, curated.CuratedPage):
            self.title.setText(f"<b>{page.repo_id}</b> · recommended by Parlour")
        else:
            self.title.setText(f"<b>{page.repo_id}</b> · {page.downloads:,} downloads · {page.likes:,} likes")
        self.facts.setText(" · ".join(facts))
        self.card.setPlainText(page.card_excerpt or "This model has no description.")
        self.variants.setRowCount(len(page.variants))
        for row, variant in enumerate(page.variants):
            self.variants.setItem(row, 0, QTableWidgetItem(variant.label))
            self.variants.setItem(row, 1, QTableWidgetItem(human_size(variant.size)))
        self._show_fits()
        self.download_button.setEnabled(False)
        self.page_shown.emit(page)

    def _show_fits(self) -> None:
        if self._page is None or self._budget is None:
            return
        context = int(self.context_box.currentData())
        for row, variant in enumerate(self._page.variants):
            verdict = self._page.fit(variant, context, self._budget)
            item = QTableWidgetItem(verdict.badge)
            item.setToolTip(verdict.detail)
            self.variants.setItem(row, 2, item)

    def _context_changed(self, _index: int) -> None:
        from app.library.settings import set_fit_context

        try:
            set_fit_context(int(self.context_box.currentData()))
        except LibraryError as error:
            self.status.setText(str(error))
        self._show_fits()
        if self.results.showing_suggestions():
            self.show_recommendations()  # their badges assume the context too

    def _variant_chosen(self) -> None:
        self.download_button.setEnabled(bool(self.variants.selectedItems()) and not self._downloading())

    # --- downloads -------------------------------------------------------------------------------------

    def _downloading(self) -> bool:
        return self.downloads.busy()

    def download_selected(self) -> DownloadJob | None:
        rows = {index.row() for index in self.variants.selectedIndexes()}
        if self._page is None or len(rows) != 1 or self._downloading():
            return None
        from app.library.settings import models_folder

        page, variant = self._page, self._page.variants[rows.pop()]
        self.download_button.setEnabled(False)
        if isinstance(page, curated.CuratedPage) and page.suggestion is not None:
            chosen, token, root = page.suggestion.variant, self.token_row.token, models_folder()
            self.downloads.plan_and_follow(lambda: curated.plan_recommended_download(chosen, root, token), page.repo_id)
            return None
        job = DownloadJob(
            page.repo_id,
            page.commit,
            list(variant.files),
            models_folder(),
            self.token_row.token,
            label=f"{page.repo_id} ({variant.label})",
        )
        self.downloads.follow(job)
        return job
