"""Attaching files in the composer, with real widgets offscreen: the Attach button's API, a drop of file URLs
anywhere on the composer, a paste of copied files into the message box; a file Parlour cannot read is refused
with one sentence; each chip's × takes its file off, and the chips go once the message is taken."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from app.ui.composer import Composer


@pytest.fixture
def composer(qtbot) -> Composer:  # noqa: ANN001
    widget = Composer()
    widget.resize(700, 160)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "notes": tmp_path / "notes.md",
        "report": tmp_path / "report.txt",
        "picture": tmp_path / "holiday.png",
        "folder": tmp_path / "folder",
    }
    made["notes"].write_text("# Notes\n\nThe pie needs cardamom.\n")
    made["report"].write_text("Revenue rose by 12%.\n")
    made["picture"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    made["folder"].mkdir()
    return made


def _urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def test_files_attach_as_chips_and_a_chip_s_x_takes_its_file_off(qtbot, composer: Composer, files) -> None:  # noqa: ANN001
    assert not composer.chips.isVisible()
    assert composer.attach([files["notes"], files["report"], files["notes"]])  # a file attached twice is one chip
    assert composer.attachments() == [str(files["notes"]), str(files["report"])]
    assert composer.chips.isVisible()
    chip = composer.chips._chips[files["notes"]]
    assert chip.label.text() == "notes.md" and chip.remove_button.accessibleName() == "Remove notes.md"
    chip.remove_button.click()
    assert composer.attachments() == [str(files["report"])]
    with qtbot.assertNotEmitted(composer.submitted), qtbot.waitSignal(composer.problem) as asked:
        composer.submit()  # files without a question
    assert asked.args == ["Write a question about the attached files, then send it."]
    composer.input.setPlainText("What does it say?")
    composer.clear()  # the controller took the message
    assert composer.attachments() == [] and composer.text() == ""
    qtbot.waitUntil(lambda: not composer.chips.isVisible())


@pytest.mark.parametrize(
    ("which", "sentence"),
    [
        ("picture", "holiday.png is not a kind of file Parlour reads"),
        ("folder", "folder is a folder; add folders to a collection"),
        ("missing", "gone.md does not exist, so it cannot be attached."),
    ],
)
def test_a_file_parlour_cannot_read_is_refused_with_one_sentence(
    qtbot,
    composer: Composer,
    files,
    tmp_path: Path,
    which: str,
    sentence: str,  # noqa: ANN001
) -> None:
    path = files.get(which, tmp_path / "gone.md")
    with qtbot.waitSignal(composer.problem) as refused:
        assert not composer.attach([files["notes"], path])
    assert sentence in refused.args[0]
    assert refused.args[0].count(".") >= 1 and "\n" not in refused.args[0]
    assert composer.attachments() == [str(files["notes"])]  # the readable one is attached all the same


def test_the_attach_button_asks_for_files(qtbot, composer: Composer, files, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", staticmethod(lambda *args, **kwargs: ([str(files["report"])], ""))
    )
    composer.attach_button.click()
    assert composer.attachments() == [str(files["report"])]
    assert composer.attach_button.accessibleName() == "Attach files" and composer.attach_button.accessibleDescription()


def drop(target: QWidget, mime: QMimeData) -> bool:
    """Drag `mime` onto `target` and drop it there, as the window system delivers a drop; whether it was taken."""
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    dropped = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(target, dropped)
    return dropped.isAccepted()


def test_files_dropped_on_the_composer_are_attached(qtbot, composer: Composer, files) -> None:  # noqa: ANN001
    assert drop(composer.attach_button, _urls(files["notes"]))  # beside the box: the composer takes it
    assert drop(composer.input.viewport(), _urls(files["report"]))  # into the box: attached, not typed
    assert composer.attachments() == [str(files["notes"]), str(files["report"])]
    assert composer.text() == ""  # a dropped file is attached, not typed as its URL


def test_copied_files_pasted_into_the_message_box_are_attached_and_text_still_pastes(
    qtbot,
    composer: Composer,
    files,  # noqa: ANN001
) -> None:
    composer.input.setPlainText("Summarise ")
    composer.input.moveCursor(composer.input.textCursor().MoveOperation.End)
    QGuiApplication.clipboard().setMimeData(_urls(files["notes"]))
    composer.input.paste()
    assert composer.attachments() == [str(files["notes"])]
    assert composer.text() == "Summarise "
    with qtbot.waitSignal(composer.problem):
        QGuiApplication.clipboard().setMimeData(_urls(files["picture"]))
        composer.input.paste()
    QGuiApplication.clipboard().setText("this file")
    composer.input.paste()
    assert composer.text() == "Summarise this file"
    assert composer.attachments() == [str(files["notes"])]


def test_a_message_carries_at_most_ten_files(qtbot, composer: Composer, tmp_path: Path) -> None:  # noqa: ANN001
    paths = []
    for number in range(11):
        paths.append(tmp_path / f"part{number}.txt")
        paths[-1].write_text(f"part {number}")
    with qtbot.waitSignal(composer.problem) as refused:
        composer.attach(paths)
    assert refused.args == ["A message can carry at most 10 files; part10.txt was not attached."]
    assert len(composer.attachments()) == 10
    composer.resize(300, 300)  # the chips wrap at the composer's width instead of widening it
    qtbot.waitUntil(lambda: composer.chips.height() > 2 * composer.chips._chips[paths[0]].height())
    assert composer.chips.width() <= 300
