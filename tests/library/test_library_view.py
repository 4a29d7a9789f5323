"""The library view, offscreen with real widgets: origins, details, drop to import, delete and hide."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.ui.library_view import LibraryView
from tests.library.helpers import build_lm_studio

WAIT_MS = 20_000
LM_STUDIO_NAME = "lmstudio-community/SmolLM2-135M-Instruct-GGUF · SmolLM2-135M-Instruct-Q4_1.gguf"


def rows(view: LibraryView) -> list[tuple[str, str]]:
    return [(view.table.item(r, 0).text(), view.table.item(r, 1).text()) for r in range(view.table.rowCount())]


def test_library_lists_details_imports_deletes_and_hides(
    qtbot, private_home: Path, tmp_path: Path, starter_gguf: Path
) -> None:
    build_lm_studio(private_home, starter_gguf)
    questions: list[str] = []
    view = LibraryView(confirm=lambda _parent, question: questions.append(question) or True)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=WAIT_MS)
    assert rows(view) == [("SmolLM2 135M Instruct (starter)", "starter"), (LM_STUDIO_NAME, "LM Studio")]

    view.select(LM_STUDIO_NAME)
    qtbot.waitUntil(lambda: "License" in view.detail_rows(), timeout=WAIT_MS)
    details = view.detail_rows()
    assert details["Architecture"] == "llama" and details["Quantization"] == "Q4_1"
    assert details["Parameters"] == "135 M" and details["Context length"] == "8,192 tokens"
    assert details["License"] == "apache-2.0" and details["Chat template"] == "yes"
    assert details["Size on disk"] == "98.4 MB" and details["Origin"] == "LM Studio"
    assert view.remove_button.text() == "Hide"

    # Drop a file on the view: it is imported into the models folder.
    dropped = tmp_path / "dropped.gguf"
    shutil.copyfile(starter_gguf, dropped)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    enter = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    view.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.dropEvent(drop)
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=WAIT_MS)
    assert ("imported/dropped · dropped.gguf", "models folder") in rows(view)
    dropped.unlink()  # so deleting the import really frees its space

    view.select("imported/dropped · dropped.gguf")
    assert view.remove_button.text() == "Delete"
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.remove_selected()
    assert questions[-1] == "Delete imported/dropped · dropped.gguf? This frees about 98.4 MB."
    assert view.status.text() == "Deleted imported/dropped · dropped.gguf; 98.4 MB freed."
    assert view.table.rowCount() == 2

    view.select(LM_STUDIO_NAME)
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.remove_selected()
    assert "belongs to LM Studio, so Parlour hid it" in view.status.text()
    assert rows(view) == [("SmolLM2 135M Instruct (starter)", "starter")]
    assert (private_home / ".lmstudio" / "models" / "lmstudio-community").exists()


def test_a_bad_drop_is_one_sentence(qtbot, tmp_path: Path) -> None:
    view = LibraryView()
    qtbot.addWidget(view)
    junk = tmp_path / "notes.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    view.import_paths([junk])
    qtbot.waitUntil(lambda: "not a GGUF model file" in view.status.text(), timeout=WAIT_MS)
    assert "Traceback" not in view.status.text()


def test_choosing_another_models_folder(qtbot, tmp_path: Path, starter_gguf: Path) -> None:
    elsewhere = tmp_path / "external-disk"
    (elsewhere / "someone" / "model").mkdir(parents=True)
    (elsewhere / "someone" / "model" / "model.Q4_1.gguf").hardlink_to(starter_gguf)
    view = LibraryView()
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.set_models_folder(elsewhere)
    assert ("someone/model · model.Q4_1.gguf", "models folder") in rows(view)


def test_hidden_models_can_be_shown_greyed_and_unhidden(qtbot, private_home: Path, starter_gguf: Path) -> None:
    build_lm_studio(private_home, starter_gguf)
    view = LibraryView(confirm=lambda _parent, _question: True)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=WAIT_MS)
    view.select("SmolLM2 135M Instruct (starter)")
    assert view.remove_button.text() == "Hide"
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.remove_selected()
    assert rows(view) == [(LM_STUDIO_NAME, "LM Studio")]

    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.show_hidden.setChecked(True)
    assert rows(view) == [("SmolLM2 135M Instruct (starter)", "starter"), (LM_STUDIO_NAME, "LM Studio")]
    hidden_item, shown_item = view.table.item(0, 0), view.table.item(1, 0)
    assert hidden_item.foreground().color() != shown_item.foreground().color()
    assert "Unhide" in hidden_item.toolTip()
    view.select(LM_STUDIO_NAME)
    assert view.remove_button.text() == "Hide"
    view.select("SmolLM2 135M Instruct (starter)")
    assert view.remove_button.text() == "Unhide"
    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.remove_selected()
    assert view.status.text() == "SmolLM2 135M Instruct (starter) is back in the list of models."
    assert not any(m.hidden for m in view.models)

    with qtbot.waitSignal(view.listed, timeout=WAIT_MS):
        view.show_hidden.setChecked(False)
    assert rows(view) == [("SmolLM2 135M Instruct (starter)", "starter"), (LM_STUDIO_NAME, "LM Studio")]
