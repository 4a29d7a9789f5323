"""The evaluation sets window as a person uses it, on a real store and the real starter model: a set
made, saved and found again after the window is reopened; an unusable check refused with the case
named and nothing saved; a set imported and exported as JSONL; the starter set run end to end with
its scoreboard (the store's), charts and report; a run stopped midway keeping what finished; a model
that cannot load failing only its own cases; a kept run shown again in a new window."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)

from app.evals.runner import stored_scoreboard
from app.evals.sets import STARTER_SET, parse_jsonl, starter_set
from app.store import evals as kept
from app.store.db import Store, open_store
from app.ui.eval_window import EvalWindow

INTERACTIVE = (QAbstractButton, QAbstractItemView, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit)
RUN_TIMEOUT_MS = 600_000  # an upper bound for a slow machine, never a measure of speed
ONE_CASE = (
    '{"set": "capitals"}\n'
    '{"id": "capital", "prompt": "What is the capital of France? Answer in one sentence.",'
    ' "checks": [{"type": "contains_all", "words": ["Paris"]}, {"type": "max_words", "n": 40}]}\n'
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "parlour.db")
    yield opened
    opened.close()


@pytest.fixture
def open_window(qtbot, store: Store) -> Callable[..., EvalWindow]:  # noqa: ANN001
    """A new window on the test's store, with these (name, path) models to choose from, listed."""

    def make(models: list[tuple[str, str]] | None = None) -> EvalWindow:
        listed = list(models or [])
        window = EvalWindow(store, lambda: listed, confirm=lambda *_: True)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.run_panel.model_list.count() == len(listed), timeout=10_000)
        return window

    return make


def run_and_wait(qtbot, window: EvalWindow) -> int:  # noqa: ANN001
    """Press Run and wait for the run's end; its id."""
    with qtbot.waitSignal(window.run_panel.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        window.run_panel.run_button.click()
    return int(ended.args[0])


def imported(window: EvalWindow, tmp_path: Path, text: str = ONE_CASE) -> str:
    source = tmp_path / "capitals.jsonl"
    source.write_text(text, encoding="utf-8")
    name = window.import_file(source)
    assert name is not None, window.status.text()
    return name


def board_cells(window: EvalWindow) -> list[list[str]]:
    table = window.run_panel.view.scoreboard
    return [
        [table.item(row, column).text() for column in range(table.columnCount())] for row in range(table.rowCount())
    ]


def test_a_set_is_made_saved_and_comes_back(open_window, store: Store) -> None:  # noqa: ANN001
    window = open_window()
    window.new_set("geography")
    editor = window.editor
    editor.case_id.setText("capital")
    editor.prompt.setPlainText("What is the capital of France?")
    editor.check_rows[0].argument.setText("Paris")
    editor.add_case()
    editor.case_id.setText("river")
    editor.system.setPlainText("Answer briefly.")
    editor.prompt.setPlainText("Which river flows through Paris?")
    editor.check_rows[0].kind.setCurrentText("contains_all")
    editor.check_rows[0].argument.setText("Seine, river")
    editor.add_check("max_words", "20")
    assert window.save(), window.status.text()
    assert window.status.text() == "Saved geography: 2 cases, 3 checks."
    saved = parse_jsonl(kept.set_jsonl(store, "geography"), "x")
    assert saved.name == "geography" and [case.id for case in saved.cases] == ["capital", "river"]
    river = saved.cases[1]
    assert river.system == "Answer briefly." and [c.to_dict() for c in river.checks] == [
        {"type": "contains_all", "words": ["Seine", "river"]},
        {"type": "max_words", "n": 20},
    ]
    window.close()

    again = open_window()
    assert "geography" in again.set_names()
    again.open_set("geography")
    assert [again.editor.case_list.item(row).text() for row in range(2)] == ["capital", "river"]
    assert again.editor.edited_set("geography") == saved and not again.editor.is_changed()
    # The built-in set cannot be saved over; a copy under a new name can.
    again.open_set(STARTER_SET)
    assert not again.save_button.isEnabled() and not again.save()
    assert "Save as copy" in again.status.text()
    assert again.save_copy("my starter") and again.set_name == "my starter"
    assert parse_jsonl(kept.set_jsonl(store, "my starter"), "x").cases == starter_set().cases


def test_one_to_four_models_and_every_control_named(open_window, store: Store) -> None:  # noqa: ANN001
    window = open_window([(f"model {n}", f"/nowhere/{n}.gguf") for n in range(5)])
    panel = window.run_panel
    panel.tick([])
    panel.start_run()
    assert window.status.text() == "Tick one to 4 models to run the set on."
    panel.tick([f"/nowhere/{n}.gguf" for n in range(4)])
    assert not panel.model_list.item(4).flags() & Qt.ItemFlag.ItemIsEnabled  # a fifth cannot be ticked
    panel.tick([f"/nowhere/{n}.gguf" for n in range(5)])
    panel.start_run()
    assert window.status.text() == "Tick one to 4 models to run the set on." and kept.runs(store) == []
    window.editor.add_check("regex", "x")
    controls = [
        widget
        for widget in window.findChildren(QWidget)
        if isinstance(widget, INTERACTIVE)
        and not isinstance(widget, QScrollBar | QHeaderView)
        and not widget.objectName().startswith("qt_")
        and not isinstance(widget.parentWidget(), QComboBox | QLineEdit)
        and not widget.window().inherits("QComboBoxPrivateContainer")
    ]
    assert len(controls) > 20
    unnamed = [type(w).__name__ for w in controls if not (w.accessibleName() and w.accessibleDescription())]
    assert unnamed == []


def test_an_unusable_check_is_refused_naming_the_case(open_window, store: Store) -> None:  # noqa: ANN001
    window = open_window()
    window.new_set("dates")
    window.editor.case_id.setText("meeting")
    window.editor.prompt.setPlainText("When do they meet?")
    window.editor.check_rows[0].kind.setCurrentText("regex")
    window.editor.check_rows[0].argument.setText("(")
    assert not window.save()
    assert window.status.text().startswith("Case 'meeting': the regular expression /(/ is not valid")
    assert kept.set_names(store) == []
    # A kept set edited into an unusable one stays as it was kept.
    window.editor.check_rows[0].argument.setText("2027")
    assert window.save()
    before = kept.set_jsonl(store, "dates")
    window.editor.add_check("json_schema", "{not json")
    assert not window.save() and window.status.text().startswith("Case 'meeting': the JSON Schema is not JSON")
    assert kept.set_jsonl(store, "dates") == before
    # Nor can the unsaved set be run: a run keeps the set as saved.
    window.run_panel.start_run()
    assert window.status.text().startswith("Save your changes first") and kept.runs(store) == []


def test_import_and_export_round_trip(open_window, store: Store, tmp_path: Path) -> None:  # noqa: ANN001
    cases = [
        {
            "id": "ada",
            "system": "Reply with JSON only.",
            "turns": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi."}],
            "prompt": "Ada, 36, as JSON.",
            "checks": [
                {"type": "json"},
                {"type": "json_schema", "schema": {"type": "object", "required": ["name"]}},
                {"type": "regex", "pattern": "\\bAda\\b", "case_sensitive": True},
            ],
        },
        {
            "id": "short",
            "prompt": "Say hi.",
            "checks": [{"type": "equals", "text": "Hi"}, {"type": "max_words", "n": 3}],
        },
    ]
    source = tmp_path / "people.jsonl"
    source.write_text("\n".join(json.dumps(case) for case in cases) + "\n", encoding="utf-8")
    window = open_window()
    assert window.import_file(source) == "people" and window.status.text() == "Imported people: 2 cases, 5 checks."
    assert window.set_name == "people" and window.editor.case_list.count() == 2
    exported = tmp_path / "out.jsonl"
    assert window.export_set(exported), window.status.text()
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["set"] == "people" and lines[1:] == cases  # every field, through the editor and back
    # The same file again is kept beside it, never over it.
    assert window.import_file(source) == "people 2" and kept.set_names(store) == ["people", "people 2"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "dates", "prompt": "p", "checks": [{"type": "regex", "pattern": "(oops"}]}\n')
    assert window.import_file(bad) is None
    assert "Case 'dates': the regular expression /(oops/ is not valid" in window.status.text()
    assert kept.set_names(store) == ["people", "people 2"]


def test_the_starter_set_runs_end_to_end(open_window, store: Store, qtbot, starter_gguf: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = open_window([("starter", str(starter_gguf))])
    panel = window.run_panel
    with qtbot.waitSignal(panel.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        panel.run_button.click()
        first = starter_set().cases[0].id
        assert panel.progress.text() == f"1 of 7 · model starter · case {first}"
        assert not panel.run_button.isEnabled() and panel.stop_button.isEnabled()
    (run,) = kept.runs(store, STARTER_SET)
    assert run.id == ended.args[0] and run.finished_at is not None
    assert run.parameters == {"temperature": 0.0, "max_tokens": 256, "seed": 0}
    rows = kept.results(store, run.id)
    assert [row["case"] for row in rows] == [case.id for case in starter_set().cases]
    (board,) = stored_scoreboard(run.set_jsonl, run.set_name, rows)
    assert board["checks"] == 13 and board["failed_cases"] == 0
    assert board_cells(window)[0][:2] == ["starter", board["score"]]
    assert board_cells(window)[0][5] == "0"
    view = panel.view
    assert not view.score_chart.pixmap().isNull() and not view.case_grid.pixmap().isNull()
    assert view.cases.rowCount() == 7 and view.cases.columnCount() == 1
    assert "Finished starter" in window.status.text() and panel.run_button.isEnabled()
    assert "running" not in panel.run_chooser.currentText() and panel.run_chooser.currentText().startswith(
        f"Run {run.id} · "
    )
    view.cases.setCurrentCell(3, 0)
    assert rows[3]["reply"][:40] in view.replies.toPlainText()  # the chosen case's reply, shown whole
    folder = tmp_path / "report"
    panel.export_report(folder)
    assert {p.name for p in folder.iterdir()} == {
        "scoreboard.csv",
        "cases.csv",
        "report.md",
        "run.json",
        "score.png",
        "cases.png",
    }
    assert f"starter,{board['score']},{board['passed']},13" in (folder / "scoreboard.csv").read_text()


def test_stop_keeps_the_finished_cases(open_window, store: Store, qtbot, starter_gguf: Path) -> None:  # noqa: ANN001
    window = open_window([("starter", str(starter_gguf))])
    panel = window.run_panel
    with qtbot.waitSignal(panel.run_ended, timeout=RUN_TIMEOUT_MS):
        panel.run_button.click()
        assert panel.job is not None
        panel.job.case_done.connect(lambda _result: panel.stop_button.click())  # Stop once the first reply is in
    (run,) = kept.runs(store, STARTER_SET)
    stored = kept.results(store, run.id)
    assert 1 <= len(stored) < len(starter_set().cases) and run.finished_at is not None
    assert all(row["error"] is None for row in stored)
    assert window.status.text().startswith(f"Stopped starter after {len(stored)} of 7 replies")
    assert panel.run_chooser.currentText().endswith(" · stopped")
    assert panel.view.cases.rowCount() == 7 and panel.view.cases.item(6, 0).text() == "—"  # not answered


def test_a_model_that_cannot_load_fails_only_its_cases(  # noqa: ANN001
    open_window, store: Store, qtbot, starter_gguf: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 20)
    window = open_window([("broken", str(broken)), ("starter", str(starter_gguf))])
    imported(window, tmp_path)
    window.run_panel.tick([str(broken), str(starter_gguf)])
    run_id = run_and_wait(qtbot, window)
    rows = kept.results(store, run_id)
    assert [(row["model"], row["error"] is None) for row in rows] == [("broken", False), ("starter", True)]
    cells = board_cells(window)
    assert [cell[0] for cell in cells] == ["broken", "starter"]
    assert cells[0][1] == "0/2" and cells[0][5] == "1" and cells[1][5] == "0"
    broken_cell = window.run_panel.view.cases.item(0, 0)
    assert broken_cell.text() == "no reply" and broken_cell.toolTip().startswith("The model could not be loaded")


def test_a_kept_run_comes_back_in_a_new_window(
    open_window, store: Store, qtbot, starter_gguf: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    window = open_window([("starter", str(starter_gguf))])
    name = imported(window, tmp_path)
    run_id = run_and_wait(qtbot, window)
    shown = board_cells(window)
    window.close()

    again = open_window([("starter", str(starter_gguf))])
    again.open_set(name)
    assert again.run_panel.current_run_id() == run_id
    assert again.run_panel.run_chooser.currentText().startswith(f"Run {run_id} · ")
    assert "starter" in again.run_panel.run_chooser.currentText()
    assert board_cells(again) == shown and shown[0][0] == "starter"
    assert not again.run_panel.view.score_chart.pixmap().isNull()
