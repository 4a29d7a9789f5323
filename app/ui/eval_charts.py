"""The pictures of an evaluation run, drawn with QPainter into images (no chart library to ship):

- `score_chart`: score (share of checks passed) against tokens/s, one point per model, each point's
  area in proportion to the memory the model needed, its name beside it;
- `case_grid`: one row per case and one column per model, each cell green when every check passed,
  amber when some did, red when none (or the model gave no reply), with the checks passed written in.

Both draw on a white ground in fixed colours so that an exported PNG reads the same in any theme.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

CHART_SIZE = (800, 500)
MARGIN = (70, 30, 30, 60)  # left, top, right, bottom: room for the axes' labels
INK, GRID, GROUND = QColor("#1d1d1f"), QColor("#d2d2d7"), QColor("#ffffff")
PASS, SOME, FAIL = QColor("#2e7d32"), QColor("#b7791f"), QColor("#c0392b")
POINT = QColor(47, 111, 222, 170)
CELL = (120, 28)  # width and height of a grid cell
LABEL_WIDTH = 180  # the case names' column


def _image(width: int, height: int) -> QImage:
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(GROUND)
    return image


def plot_area(size: tuple[int, int] = CHART_SIZE) -> QRectF:
    left, top, right, bottom = MARGIN
    return QRectF(left, top, size[0] - left - right, size[1] - top - bottom)


def points(board: Sequence[dict[str, Any]], size: tuple[int, int] = CHART_SIZE) -> list[tuple[QPointF, float, str]]:
    """(centre, radius, model) of each model's point: x its tokens/s, y its share of checks passed, area its memory."""
    plot = plot_area(size)
    fastest = max([float(row["tokens_per_s"] or 0) for row in board] + [1.0]) * 1.15
    largest = max([float(row["peak_memory_bytes"] or 0) for row in board] + [1.0])
    out = []
    for row in board:
        score = float(row["passed"]) / float(row["checks"]) if row["checks"] else 0.0
        speed, memory = float(row["tokens_per_s"] or 0), float(row["peak_memory_bytes"] or 0)
        centre = QPointF(plot.left() + plot.width() * speed / fastest, plot.bottom() - plot.height() * score)
        out.append((centre, 6 + 22 * math.sqrt(memory / largest), str(row["model"])))  # area, not radius
    return out


def score_chart(board: Sequence[dict[str, Any]], size: tuple[int, int] = CHART_SIZE) -> QImage:
    """Score against tokens/s, a point per model sized by its peak memory."""
    image = _image(*size)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _axes(painter, plot_area(size), max([float(row["tokens_per_s"] or 0) for row in board] + [1.0]) * 1.15)
    placed: list[QRectF] = []
    line = painter.fontMetrics().height()
    for centre, radius, label in points(board, size):
        painter.setPen(QPen(INK, 1))
        painter.setBrush(POINT)
        painter.drawEllipse(centre, radius, radius)
        width = painter.fontMetrics().horizontalAdvance(label)
        # Beside the point, on whichever side the name fits; below an earlier name it would cover (two
        # models with the same score and speed).
        left = (
            centre.x() - radius - 4 - width
            if centre.x() + radius + 4 + width > size[0] - 4
            else centre.x() + radius + 4
        )
        box = QRectF(left, centre.y() + 4 - line, width, line)
        while any(box.intersects(other) for other in placed):
            box.translate(0, line)
        placed.append(box)
        painter.drawText(box.bottomLeft(), label)
    painter.end()
    return image


def _axes(painter: QPainter, plot: QRectF, fastest: float) -> None:
    painter.setPen(QPen(GRID, 1))
    for step in range(5):
        y = plot.bottom() - plot.height() * step / 4
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
    painter.setPen(QPen(INK, 1))
    painter.drawRect(plot)
    for step in range(5):
        y = plot.bottom() - plot.height() * step / 4
        painter.drawText(QRectF(0, y - 10, plot.left() - 8, 20), Qt.AlignmentFlag.AlignRight, f"{step * 25}%")
        x = plot.left() + plot.width() * step / 4
        painter.drawText(
            QRectF(x - 40, plot.bottom() + 6, 80, 20), Qt.AlignmentFlag.AlignHCenter, f"{fastest * step / 4:.0f}"
        )
    painter.drawText(
        QRectF(plot.left(), plot.bottom() + 28, plot.width(), 20),
        Qt.AlignmentFlag.AlignHCenter,
        "tokens per second (point size: memory needed)",
    )
    painter.save()
    painter.translate(14, plot.center().y())
    painter.rotate(-90)
    painter.drawText(QRectF(-100, -10, 200, 20), Qt.AlignmentFlag.AlignHCenter, "checks passed")
    painter.restore()


def case_grid(cases: Sequence[str], models: Sequence[str], passed: dict[tuple[str, str], tuple[int, int]]) -> QImage:
    """A cell per (case, model): `passed[(model, case)]` is (checks passed, checks)."""
    width = LABEL_WIDTH + CELL[0] * len(models)
    height = CELL[1] * (len(cases) + 1)
    image = _image(width, height)
    painter = QPainter(image)
    bold = QFont(painter.font())
    bold.setBold(True)
    painter.setPen(INK)
    painter.setFont(bold)
    for column, model in enumerate(models):
        rect = QRectF(LABEL_WIDTH + column * CELL[0], 0, CELL[0], CELL[1])
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignCenter,
            painter.fontMetrics().elidedText(model, Qt.TextElideMode.ElideMiddle, CELL[0] - 6),
        )
    for row, case in enumerate(cases, start=1):
        painter.setFont(bold)
        painter.setPen(INK)
        painter.drawText(QRectF(6, row * CELL[1], LABEL_WIDTH - 12, CELL[1]), Qt.AlignmentFlag.AlignVCenter, case)
        for column, model in enumerate(models):
            good, total = passed.get((model, case), (0, 0))
            colour = PASS if total and good == total else SOME if good else FAIL
            rect = QRectF(LABEL_WIDTH + column * CELL[0] + 1, row * CELL[1] + 1, CELL[0] - 2, CELL[1] - 2)
            painter.fillRect(rect, colour)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{good}/{total}")
    painter.end()
    return image
