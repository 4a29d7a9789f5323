"""The message model: Qt's own model checks, and exactly the signals the view relies on."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.ui.message_model import DONE, ERROR, STREAMING, MessageModel, MessageRoles, MessageRow
from engines.base import GenerationStats


def thread(n: int) -> list[MessageRow]:
    return [MessageRow(i, "user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(n)]


def test_model_passes_qt_model_tester_through_every_change(qtmodeltester) -> None:
    model = MessageModel()
    qtmodeltester.check(model, force_py=True)
    model.set_thread(thread(5))
    model.append_row(MessageRow(5, "assistant", "", status=STREAMING))
    model.append_text("Hello")
    model.append_text("thinking", reasoning=True)
    model.finish_last(DONE, "stop", GenerationStats(generated_tokens=2))
    model.update_row(3, sibling_position=2, sibling_count=3)
    model.remove_row(0)
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 5


def test_append_row_inserts_at_the_end_with_insert_signals(qtbot) -> None:
    model = MessageModel()
    model.set_thread(thread(2))
    with qtbot.waitSignal(model.rowsAboutToBeInserted), qtbot.waitSignal(model.rowsInserted) as blocker:
        model.append_row(MessageRow(2, "user", "hi"))
    assert blocker.args[1:] == [2, 2]
    assert model.data(model.index(2), MessageRoles.CONTENT) == "hi"
    assert model.row_of(2) == 2
    with pytest.raises(ValueError):
        model.append_row(MessageRow(2, "user", "again"))


def test_append_text_changes_only_the_last_row_and_only_its_text(qtbot) -> None:
    model = MessageModel()
    model.set_thread(thread(3))
    model.append_row(MessageRow(9, "assistant", "", status=STREAMING))
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.append_text("Hel")
    top, bottom, roles = blocker.args
    assert (top.row(), bottom.row()) == (3, 3)
    assert set(roles) == {MessageRoles.CONTENT, Qt.ItemDataRole.DisplayRole}
    model.append_text("lo")
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.append_text("Let me think", reasoning=True)
    assert blocker.args[2] == [MessageRoles.REASONING]
    row = model.last()
    assert (row.content, row.reasoning) == ("Hello", "Let me think")


def test_finish_and_update_report_exactly_the_roles_that_changed(qtbot) -> None:
    model = MessageModel()
    model.set_thread([MessageRow(1, "assistant", "partial", status=STREAMING)])
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.finish_last(ERROR, "error", None, "The engine stopped unexpectedly. Try again.")
    assert set(blocker.args[2]) == {MessageRoles.STATUS, MessageRoles.ERROR, MessageRoles.FINISH_REASON}
    assert model.data(model.index(0), MessageRoles.ERROR) == "The engine stopped unexpectedly. Try again."

    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.update_row(1, sibling_position=2, sibling_count=3, status=ERROR)  # status is unchanged
    assert set(blocker.args[2]) == {MessageRoles.SIBLING_POSITION, MessageRoles.SIBLING_COUNT}
    with qtbot.assertNotEmitted(model.dataChanged):
        model.update_row(1, sibling_count=3)
    with pytest.raises(TypeError):
        model.update_row(1, colour="red")
    with pytest.raises(KeyError):
        model.update_row(42, content="x")


def test_remove_row_and_set_thread(qtbot) -> None:
    model = MessageModel()
    model.set_thread(thread(4))
    with qtbot.waitSignal(model.rowsRemoved) as blocker:
        model.remove_row(1)
    assert blocker.args[1:] == [1, 1]
    assert [model.row_at(i).id for i in range(model.rowCount())] == [0, 2, 3]
    assert model.row_of(3) == 2 and model.row_of(1) is None
    with qtbot.waitSignal(model.modelReset):
        model.set_thread(thread(2))
    assert model.rowCount() == 2
    assert model.data(model.index(0), MessageRoles.ROW) is model.row_at(0)
    assert b"content" in model.roleNames().values()
