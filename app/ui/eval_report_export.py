"""A kept run's two pictures, and the run written into a folder: the same six files `parlour eval report`
writes (scoreboard.csv, cases.csv, report.md, run.json from app.evals.report, and the charts as
score.png and cases.png, the names report.md links to)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from app.evals.report import KeptRun, passed_counts
from app.ui.eval_charts import case_grid, score_chart

CHART_FILES = ("score.png", "cases.png")


def run_charts(report: KeptRun) -> tuple[QImage, QImage]:
    """(score against tokens/s, pass/fail per case and model).

    The grid has a row only for the cases answered so far: it draws a missing answer as a failed one,
    which a run in progress, or one stopped midway, has not earned.
    """
    passed = passed_counts(report.rows)
    answered = [case for case in report.case_ids if any((model, case) in passed for model in report.models)]
    return score_chart(report.board), case_grid(answered, report.models, passed)


def write_report(folder: Path, report: KeptRun) -> list[str]:
    """Write the run's files into `folder` (made if need be); their names. OSError when one cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, text in report.files().items():
        (folder / name).write_text(text, encoding="utf-8")
        names.append(name)
    for name, image in zip(CHART_FILES, run_charts(report), strict=True):
        if not image.save(str(folder / name)):  # QImage says only whether it worked
            raise OSError(f"{name} could not be written")
        names.append(name)
    return names
