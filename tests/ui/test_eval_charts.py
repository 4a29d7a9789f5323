"""The run's pictures render offscreen to images of the right size: one point per model on the score chart,
and a cell per case and model on the grid, coloured by pass or fail."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.ui.eval_charts import CELL, CHART_SIZE, FAIL, LABEL_WIDTH, PASS, SOME, case_grid, points, score_chart

BOARD = [
    {"model": "fast", "passed": 4, "checks": 10, "tokens_per_s": 150.0, "peak_memory_bytes": 500_000_000},
    {"model": "slow but good", "passed": 9, "checks": 10, "tokens_per_s": 20.0, "peak_memory_bytes": 8_000_000_000},
    {"model": "no reply", "passed": 0, "checks": 10, "tokens_per_s": None, "peak_memory_bytes": None},
]


def test_the_score_chart_has_one_point_per_model(qapp) -> None:  # noqa: ANN001
    image = score_chart(BOARD)
    assert (image.width(), image.height()) == CHART_SIZE
    drawn = points(BOARD)
    assert [label for _c, _r, label in drawn] == ["fast", "slow but good", "no reply"]
    for centre, radius, _label in drawn:
        inside = image.pixelColor(round(centre.x()), round(centre.y() - radius / 2))
        assert inside.blue() > inside.red() + 60, inside.name()  # the point's blue, not the white ground
    radii = {label: radius for _c, radius, label in drawn}
    assert radii["slow but good"] > radii["fast"] > radii["no reply"]  # the memory each needed
    (fast, good, none) = (c for c, _r, _l in drawn)
    assert good.y() < fast.y() < none.y() and fast.x() > good.x() > none.x()  # score up, speed right


def test_the_case_grid_colours_each_cell(qapp) -> None:  # noqa: ANN001
    cases, models = ["a", "b", "c"], ["m1", "m2"]
    passed = {("m1", "a"): (2, 2), ("m1", "b"): (1, 2), ("m1", "c"): (0, 2), ("m2", "a"): (0, 2)}
    image = case_grid(cases, models, passed)
    assert (image.width(), image.height()) == (LABEL_WIDTH + CELL[0] * 2, CELL[1] * 4)

    def cell(column: int, row: int) -> QColor:
        return image.pixelColor(LABEL_WIDTH + column * CELL[0] + 4, row * CELL[1] + 4)

    assert [cell(0, 1), cell(0, 2), cell(0, 3)] == [PASS, SOME, FAIL]
    assert cell(1, 1) == FAIL and cell(1, 2) == FAIL  # no checks passed, or no reply at all
