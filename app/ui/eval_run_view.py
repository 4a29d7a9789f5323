"""One evaluation run, as kept in the store: the scoreboard (a row per model), its two charts, and per
case the replies side by side with each check's result.

The view draws only from a KeptRun (app.evals.report), that is from what the store gives back, so a
run shown live while it runs, one shown after the window was reopened and last month's run all read
the same way, and the scoreboard is the one `parlour eval runs` prints.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.evals.report import KeptRun, verdict_line
from app.ui.accessible import describe
from app.ui.eval_report_export import run_charts
from engines.inspect import human_size

BOARD_HEADERS = ["Model", "Score", "Mean TTFT", "Tokens/s", "Peak memory", "Failed cases"]
REPLY_PREVIEW = 400  # characters of a reply in a cell's tooltip; the pane below shows it whole


class ScaledImage(QLabel):
    """A picture that shrinks to the room it is given, never past its own size, keeping its proportions."""

    def __init__(self, name: str, description: str) -> None:
        super().__init__()
        self.image: QImage | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the layout decides its size
        self.setMinimumSize(160, 100)
        describe(self, name, description)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self._fit()

    def sizeHint(self) -> QSize:
        return self.image.size() if self.image is not None else super().sizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.image is None or self.image.isNull():
            self.clear()
            return
        ratio = self.devicePixelRatioF()
        room = self.size() * ratio
        room = room.boundedTo(self.image.size())  # no blur from enlarging a small grid
        pixmap = QPixmap.fromImage(self.image).scaled(
            room, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


def named_tabs() -> QTabWidget:
    """A tab widget whose tab bar's own scroll buttons are described too, as every control is."""
    tabs = QTabWidget()
    for button in tabs.tabBar().findChildren(QToolButton):
        name = button.accessibleName() or "Scroll the tabs"
        describe(button, name, f"{name}: show the tabs that do not fit")
    return tabs


def _item(text: str, tooltip: str = "", align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tooltip:
        item.setToolTip(tooltip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _read_only_table(columns: int, name: str, description: str) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    return describe(table, name, description)


class EvalRunView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: KeptRun | None = None
        self.scoreboard = _read_only_table(len(BOARD_HEADERS), "Scoreboard", "Each model's score, speed and memory")
        self.scoreboard.setHorizontalHeaderLabels(BOARD_HEADERS)
        header = self.scoreboard.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.score_chart = ScaledImage("Score against speed", "Each model's share of checks passed against tokens/s")
        self.case_grid = ScaledImage("Cases", "Each case and model: green when every check passed, red when none")
        self.cases = _read_only_table(0, "Replies by case", "A row per case, a column per model: checks passed")
        self.cases.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.replies = describe(QTextBrowser(), "Replies", "The chosen case's replies side by side, with each check")
        self.tabs = named_tabs()
        self.tabs.addTab(self._scoreboard_page(), "Scoreboard")
        self.tabs.addTab(self._replies_page(), "Replies")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.tabs)
        self.cases.currentCellChanged.connect(lambda row, *_: self._show_case(row))
        self.show_report(None)

    def _scoreboard_page(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.addWidget(self.scoreboard)
        charts = QHBoxLayout()
        charts.addWidget(self.score_chart, 3)
        charts.addWidget(self.case_grid, 2)
        column.addLayout(charts, 1)
        return page

    def _replies_page(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.cases)
        split.addWidget(self.replies)
        split.setStretchFactor(1, 2)
        return split

    def show_report(self, report: KeptRun | None) -> None:
        """Show `report` (None: nothing), keeping the chosen case where it still exists."""
        chosen = self.cases.currentRow()
        self.report = report
        self._fill_scoreboard(report)
        score, grid = run_charts(report) if report is not None and report.board else (None, None)
        self.score_chart.set_image(score)
        self.case_grid.set_image(grid)
        self._fill_cases(report)
        if report is not None and report.case_ids:
            self.cases.setCurrentCell(max(0, min(chosen, len(report.case_ids) - 1)), 0)
        self._show_case(self.cases.currentRow())

    def _fill_scoreboard(self, report: KeptRun | None) -> None:
        board = report.board if report is not None else []
        self.scoreboard.setRowCount(len(board))
        for row, score in enumerate(board):
            ttft, speed, peak = score["mean_ttft_ms"], score["tokens_per_s"], score["peak_memory_bytes"]
            failed = int(score["failed_cases"])
            cells = [
                _item(str(score["model"]), str(score["model"])),
                _item(str(score["score"]), f"{score['passed']} of {score['checks']} checks passed", True),
                _item(f"{ttft:.0f} ms" if ttft is not None else "—", "Mean time to the first token", True),
                _item(f"{speed:.1f}" if speed is not None else "—", "Median tokens per second", True),
                _item(human_size(peak) if peak else "—", "The most memory the model needed", True),
                _item(str(failed), "Cases with no reply (the model did not load, or the engine failed)", True),
            ]
            for column, item in enumerate(cells):
                self.scoreboard.setItem(row, column, item)
        # As tall as its rows (one at least, for the headers not to float), so the charts get the rest.
        rows_height = self.scoreboard.verticalHeader().defaultSectionSize() * max(1, len(board))
        header = self.scoreboard.horizontalHeader().sizeHint().height()
        self.scoreboard.setFixedHeight(rows_height + header + 2 * self.scoreboard.frameWidth())

    def _fill_cases(self, report: KeptRun | None) -> None:
        self.cases.blockSignals(True)  # refilling is not the person choosing a case
        self.cases.clear()
        models, case_ids = (report.models, report.case_ids) if report is not None else ([], [])
        self.cases.setColumnCount(len(models))
        self.cases.setHorizontalHeaderLabels(models)
        self.cases.setRowCount(len(case_ids))
        self.cases.setVerticalHeaderLabels(case_ids)
        self.cases.verticalHeader().setVisible(bool(case_ids))  # the case ids name the rows
        by_key = {(r["model"], r["case"]): r for r in report.rows} if report is not None else {}
        for row, case in enumerate(case_ids):
            for column, model in enumerate(models):
                result = by_key.get((model, case))
                self.cases.setItem(row, column, _result_item(result))
        self.cases.blockSignals(False)

    def _show_case(self, row: int) -> None:
        """The chosen case's prompt, then each model's reply in a column with its checks beneath."""
        report = self.report
        if report is None or not report.board or not 0 <= row < len(report.case_ids):
            self.replies.setPlainText("" if report is None else "No case has finished yet.")
            return
        case = report.cases[row]
        by_model = {r["model"]: r for r in report.rows if r["case"] == case.id}
        heads, replies, checks = [], [], []
        for model in report.models:
            result = by_model.get(model)
            heads.append(f"<th align='left' width='{100 // len(report.models)}%'>{html.escape(model)}</th>")
            text = "not answered" if result is None else result["error"] or result["reply"]
            replies.append(f"<td valign='top' style='white-space: pre-wrap'>{html.escape(text)}</td>")
            lines = [verdict_line(v) for v in result["verdicts"]] if result is not None else []
            checks.append("<td valign='top'>" + "<br>".join(html.escape(line) for line in lines) + "</td>")
        system = f"<p><b>System:</b> {html.escape(case.system)}</p>" if case.system else ""
        self.replies.setHtml(
            f"<h3>{html.escape(case.id)}</h3>{system}<p><b>Prompt:</b> {html.escape(case.prompt)}</p>"
            "<table width='100%' cellspacing='0' cellpadding='6' border='1' style='border-collapse: collapse'>"
            f"<tr>{''.join(heads)}</tr><tr>{''.join(replies)}</tr><tr>{''.join(checks)}</tr></table>"
        )


def _result_item(result: dict | None) -> QTableWidgetItem:
    """A cell of the case table: checks passed, and in its tooltip the reply and each check's result."""
    if result is None:
        return _item("—", "Not answered (the run was stopped before this case).")
    verdicts = result["verdicts"]
    passed = sum(1 for v in verdicts if v["passed"])
    mark = "✓" if passed == len(verdicts) else "✗" if passed == 0 else "◐"
    text = "no reply" if result["error"] else f"{mark} {passed} of {len(verdicts)}"
    reply = result["error"] or result["reply"]
    if len(reply) > REPLY_PREVIEW:
        reply = reply[:REPLY_PREVIEW] + "…"
    tooltip = reply + "\n\n" + "\n".join(verdict_line(v) for v in verdicts)
    return _item(text, tooltip)
