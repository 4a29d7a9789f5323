"""The status line tells the truth about a real reply from the starter model: loading with its progress,
reading the prompt (with a percentage for a long one), writing with a live speed, then done; and Stop
while a long prompt is read ends the reply before the prompt is fully read, with nothing written."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from app.ui.main_window import MainWindow
from engines.base import GenerationParams
from tests.ui.conftest import LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS

# About 3,000 tokens: a long document to summarise.
LONG_PROMPT = "Summarise this report in one sentence.\n\n" + " ".join(
    f"Section {i}: the river rose by {i % 7} centimetres and the bridge was inspected again." for i in range(160)
)
# Another first line: the prompt cache (in memory and on disk) holds the one above after the test that reads it.
UNREAD_LONG_PROMPT = "In two sentences, what happened to the bridge?\n\n" + LONG_PROMPT.split("\n\n", 1)[1]
PERCENT = re.compile(r"^Reading the prompt… (\d+)%")


def recorded(window: MainWindow) -> list[str]:
    shown: list[str] = []
    window.status_line.shown.connect(lambda text, _error: shown.append(text))
    return shown


def stage(text: str) -> str:
    for name in ("Loading", "Reading the prompt", "Writing", "Done", "Stopped"):
        if text.startswith(name):
            return name
    return text


def stages(shown: list[str]) -> list[str]:
    """The stages in the order they came, each once in a row."""
    out: list[str] = []
    for text in shown:
        if not out or out[-1] != stage(text):
            out.append(stage(text))
    return out


def test_a_reply_reads_writes_with_a_speed_and_is_done(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=120, repeat_penalty=1.1))
    shown = recorded(window)
    window.composer.input.setPlainText("Write a short story about a lighthouse keeper.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
        window.composer.submit()
    reply = finished.args[0]
    ended = "Stopped at the length limit" if reply.finish_reason == "length" else "Done"
    assert stages(shown)[-3:] == ["Reading the prompt", "Writing", stage(ended)]
    assert shown[-1].startswith(f"{ended}: {reply.stats.generated_tokens} tokens · ")
    if reply.stats.generation_tps and reply.stats.generated_tokens > 60:
        # Long enough to time: the speed shows while it writes.
        assert any(re.match(r"^Writing… about \d+ tokens/s", text) for text in shown)
    assert not any("Thinking" in text for text in shown)  # the starter does not reason


def test_loading_shows_its_progress_then_what_loaded(qtbot, window: MainWindow, starter_gguf) -> None:  # noqa: ANN001
    shown = recorded(window)
    window.session.load(str(starter_gguf), "llamacpp", "The starter")
    qtbot.waitUntil(lambda: bool(shown) and "loaded" in shown[-1], timeout=LOAD_TIMEOUT_MS)
    assert any(text.startswith("Loading The starter…") for text in shown)
    assert shown[-1] == "The starter loaded · llama.cpp"


def test_a_long_prompt_shows_rising_progress(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=4, repeat_penalty=1.0))
    shown = recorded(window)
    window.composer.input.setPlainText(LONG_PROMPT)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.composer.submit()
    percents = [int(m.group(1)) for m in map(PERCENT.match, shown) if m]
    assert len(percents) >= 5 and percents == sorted(percents) and percents[-1] < 100
    assert stages(shown)[-3:] == ["Reading the prompt", "Writing", "Stopped"]  # at 4 tokens, the length limit


def test_stop_while_the_prompt_is_read(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=64, repeat_penalty=1.0))
    shown = recorded(window)
    window.composer.input.setPlainText(UNREAD_LONG_PROMPT)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
        window.composer.submit()
        qtbot.waitUntil(lambda: any(PERCENT.match(text) for text in shown), timeout=REPLY_TIMEOUT_MS)
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    reply = finished.args[0]
    assert reply.finish_reason == "cancelled" and reply.stats.generated_tokens == 0
    percents = [int(m.group(1)) for m in map(PERCENT.match, shown) if m]
    assert percents[-1] < 100
    assert "Writing" not in stages(shown)
    assert shown[-1].startswith("Stopped: 0 tokens")
    assert window.chat.messages.row_at(window.chat.messages.rowCount() - 1).content == ""
