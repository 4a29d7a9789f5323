"""The first window, offscreen with real widgets: it finds the starter, loads it, and chats."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.main_window import MainWindow
from tests.conftest import FRANCE

LOAD_TIMEOUT_MS = 60_000
REPLY_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def wait_loaded(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win._loaded_path is not None, timeout=LOAD_TIMEOUT_MS)


def test_window_loads_the_starter_and_streams_a_reply(qtbot, window: MainWindow, starter_gguf: Path) -> None:
    wait_loaded(qtbot, window)
    assert window._loaded_path == str(starter_gguf)
    assert window.model_box.currentText() == "SmolLM2 135M Instruct (starter)"
    assert "loaded · llama.cpp" in window.status.text()

    deltas: list[str] = []
    window.bridge.message.connect(lambda _id, m: deltas.append(m.get("event")))
    window.input.setPlainText(FRANCE)
    qtbot.keyClick(window.input, Qt.Key.Key_Return)
    assert window.input.toPlainText() == ""  # Enter sent it
    qtbot.waitUntil(lambda: window._reply_id is None and len(window.history) == 2, timeout=REPLY_TIMEOUT_MS)
    assert "Paris" in window.history[1]["content"]
    assert "Paris" in window.transcript.toPlainText()
    assert deltas.count("delta") >= 2 and deltas[-1] == "finished"
    assert "tokens/s" in window.status.text()


def test_shift_enter_is_a_new_line(qtbot, window: MainWindow) -> None:
    window.input.setPlainText("first")
    window.input.moveCursor(window.input.textCursor().MoveOperation.End)
    qtbot.keyClick(window.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert window.input.toPlainText() == "first\n"
    assert window.history == []


def test_bad_model_is_a_sentence_and_the_window_carries_on(
    qtbot, window: MainWindow, bad_models: dict, starter_gguf: Path
) -> None:
    wait_loaded(qtbot, window)
    path, phrase = bad_models["truncated_half"]
    window.load_model(str(path))
    qtbot.waitUntil(lambda: phrase in window.status.text(), timeout=LOAD_TIMEOUT_MS)
    assert "Traceback" not in window.status.text()
    window.load_model(str(starter_gguf))
    wait_loaded(qtbot, window)
    assert window.isVisible()


def test_engine_crash_mid_reply_is_shown_and_the_next_message_works(qtbot, window: MainWindow) -> None:
    import os
    import signal

    wait_loaded(qtbot, window)
    window.input.setPlainText("Write a very long essay about mountains.")
    window.send()
    qtbot.waitUntil(lambda: bool(window._reply_parts), timeout=REPLY_TIMEOUT_MS)
    os.kill(window.bridge.client.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window._reply_id is None, timeout=REPLY_TIMEOUT_MS)
    assert "killed by signal 9" in window.status.text()
    assert "⚠ The engine was killed by signal 9" in window.transcript.toPlainText()

    window.input.setPlainText("Say hello.")
    window.send()
    qtbot.waitUntil(lambda: window._reply_id is None and window.history[-1]["role"] == "assistant",
                    timeout=REPLY_TIMEOUT_MS)  # fmt: skip
    assert window.history[-1]["content"].strip()
