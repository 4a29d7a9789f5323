"""The template editor checks and previews off the GUI thread: a hostile template never freezes it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer

from app.ui.template_dialog import CHECKED_MESSAGE, TemplateDialog
from engines.template_choice import builtin_template
from engines.templates import TOO_SLOW_MESSAGE
from tests.engines.test_template_bounds import C_LEVEL_HANGS

WAIT_MS = 60_000


@pytest.fixture
def dialog(qtbot):
    dialog = TemplateDialog("SmolLM2", builtin_template("chatml"), False)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_good_template_is_checked_and_previewed(qtbot, dialog: TemplateDialog) -> None:
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS) as blocker:
        dialog.check()
    assert blocker.args == [True]
    assert dialog.message.text() == CHECKED_MESSAGE
    assert dialog.preview.toPlainText().startswith("<|im_start|>system\nYou are a helpful assistant.")


def test_a_hanging_template_is_checked_while_the_window_keeps_working(qtbot, dialog: TemplateDialog) -> None:
    dialog.editor.setPlainText(C_LEVEL_HANGS[0])
    ticks: list[int] = []
    timer = QTimer(dialog)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS) as blocker:
        dialog.check()
        # check() returned before the render's deadline: the work is elsewhere.
        assert dialog.message.text() == "Checking the template…"
        assert not dialog.check_button.isEnabled()
    timer.stop()
    assert blocker.args == [False]
    assert dialog.message.text() == TOO_SLOW_MESSAGE
    assert dialog.check_button.isEnabled()
    # The event loop ran all through the render's seconds-long deadline, not once at its end.
    assert len(ticks) > 10


def test_save_waits_for_the_check_and_keeps_a_broken_template_out(qtbot, dialog: TemplateDialog) -> None:
    dialog.editor.setPlainText("{% for m in messages %}{{ m.content }")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):
        dialog._save()
    assert dialog.result_source is None and dialog.isVisible()
    assert "syntax error on line 1" in dialog.message.text()
    dialog.editor.setPlainText("{% for m in messages %}{{ m.content }}{% endfor %}")
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        dialog._save()
    assert dialog.result_source == "{% for m in messages %}{{ m.content }}{% endfor %}"
