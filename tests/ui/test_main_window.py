"""The main window, offscreen with real widgets, a real store and the starter model."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.store import branches
from app.store.errors import NotFoundError
from app.store.records import MESSAGE_COLUMNS
from app.ui.conversation_list_model import ConversationListModel, ConversationRole
from app.ui.main_window import MainWindow
from engines.base import GenerationParams
from tests.conftest import FRANCE
from tests.store.helpers import chat
from tests.ui.conftest import LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS

FACT = "Volcanoes form where molten rock reaches the surface through cracks in the crust. "


def send(qtbot, win: MainWindow, text: str) -> None:
    win.composer.input.setPlainText(text)
    with qtbot.waitSignal(win.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        qtbot.keyClick(win.composer.input, Qt.Key.Key_Return)
    assert win.composer.text() == ""


def rows(win: MainWindow) -> list:
    return [win.chat.messages.row_at(i) for i in range(win.chat.messages.rowCount())]


def test_the_starter_loads_and_a_reply_streams_into_the_view(qtbot, window: MainWindow, starter_gguf: Path) -> None:
    assert window.session.path == str(starter_gguf) and window.session.engine == "llamacpp"
    assert "SmolLM2 135M Instruct (starter)" in window.picker.box.currentText()
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=48, repeat_penalty=1.0))
    deltas: list[str] = []
    window.chat.reply_delta.connect(lambda text, _r: deltas.append(text))
    send(qtbot, window, FRANCE)
    shown = rows(window)
    assert [r.role for r in shown] == ["user", "assistant"]
    assert "Paris" in shown[1].content and shown[1].content == "".join(deltas)
    assert len(deltas) >= 2 and shown[1].stats is not None and shown[1].stats.generated_tokens > 3
    assert "tokens/s" in window.status_line.text()
    assert "Context:" in window.context_gauge.format() and "8,192" in window.context_gauge.format()
    # The sidebar lists the new chat under today, titled from the first message.
    titles = [window.sidebar.model.index(i).data() for i in range(window.sidebar.model.rowCount())]
    assert titles[0] == "Today" and titles[1].startswith("What is the capital of France")


def test_max_tokens_from_the_panel_reaches_the_engine(qtbot, window: MainWindow) -> None:
    window.params.fields["temperature"].set_value(0.0)
    window.params.fields["max_tokens"].set_value(5)
    assert window.chat.params.max_tokens == 5
    send(qtbot, window, "Write a poem about autumn.")
    reply = rows(window)[-1]
    assert reply.stats is not None and reply.stats.generated_tokens == 5 and reply.finish_reason == "length"


def test_a_response_format_from_the_panel_holds_the_reply(qtbot, window: MainWindow) -> None:
    import json
    import re

    field = window.params.response_format
    field.kind.setCurrentIndex(field.kind.findData("json_schema"))
    field.kind.activated.emit(field.kind.currentIndex())
    assert window.chat.params.response_format is None  # nothing is used until the schema is typed and Used
    field.text.setPlainText("{not json")
    field.use.click()
    assert window.params.problem.text().startswith("The JSON Schema is not valid JSON")
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}}, "required": ["city"]}
    field.text.setPlainText(json.dumps(schema))
    field.use.click()
    assert window.params.problem.text() == "" and window.chat.params.response_format == {
        "type": "json_schema",
        "schema": schema,
    }
    send(qtbot, window, "Where is the Eiffel Tower?")
    assert "city" in json.loads(rows(window)[-1].content)
    field.kind.setCurrentIndex(field.kind.findData("regex"))
    field.kind.activated.emit(field.kind.currentIndex())
    field.text.setPlainText("[0-9]{4}")
    field.use.click()
    send(qtbot, window, "In which year was it built?")
    assert re.fullmatch("[0-9]{4}", rows(window)[-1].content)
    # The chat keeps its format: reopened, the panel shows it again.
    conversation = window.chat.conversation_id
    window.new_chat()
    window.chat.open_conversation(conversation)
    assert field.kind.currentData() == "regex" and field.text.toPlainText() == "[0-9]{4}"


def test_regenerate_adds_a_branch_and_the_switcher_moves(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=1.0, seed=3, max_tokens=16))
    send(qtbot, window, "Name an animal.")
    first = rows(window)[-1]
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.view.regenerate.emit(first.id)
    second = rows(window)[-1]
    assert second.id != first.id and (second.sibling_position, second.sibling_count) == (2, 2)
    window.view.branch_prev.emit(second.id)
    assert rows(window)[-1].id == first.id and rows(window)[-1].sibling_position == 1
    window.view.branch_next.emit(first.id)
    assert rows(window)[-1].id == second.id


def test_edit_makes_a_new_user_branch(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=24))
    send(qtbot, window, "What is 3 + 3?")
    question = rows(window)[0]
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.view.edit_submitted.emit(question.id, FRANCE)
    shown = rows(window)
    assert shown[0].content == FRANCE and shown[0].sibling_count == 2
    assert "Paris" in shown[1].content


def test_stop_with_escape_keeps_the_partial_reply(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(max_tokens=1500))
    seen: list[str] = []
    window.chat.reply_delta.connect(lambda text, _r: seen.append(text))
    window.composer.input.setPlainText("Write a very long story about a river.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
        window.composer.submit()
        qtbot.waitUntil(lambda: len(seen) > 2, timeout=REPLY_TIMEOUT_MS)
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert finished.args[0].finish_reason == "cancelled"
    assert rows(window)[-1].content == "".join(seen)


def test_presets_save_and_load(qtbot, window: MainWindow, monkeypatch) -> None:
    window.params.fields["temperature"].set_value(0.33)
    window.params.fields["top_k"].set_value(12)
    window.params_presenter.save_preset("Mine")
    assert window.params.preset_box.findData("Mine") >= 0
    assert window.params.preset_box.currentData() == "Mine"
    precise = window.params.preset_box.findData("Precise")
    window.params.preset_box.setCurrentIndex(precise)
    window.params._on_preset_chosen(precise)
    assert window.chat.params.temperature == 0.2
    mine = window.params.preset_box.findData("Mine")
    window.params._on_preset_chosen(mine)
    assert window.chat.params.temperature == 0.33 and window.chat.params.top_k == 12
    window.params_presenter.rename_preset("Mine", "Ours")
    assert window.params.preset_box.findData("Ours") >= 0 and window.params.preset_box.findData("Mine") < 0
    window.params_presenter.delete_preset("Ours")
    assert window.params.preset_box.findData("Ours") < 0


def test_sidebar_search_filters_by_words_in_replies(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=48))
    send(qtbot, window, FRANCE)
    window.new_chat()
    send(qtbot, window, "Say the word banana.")
    assert window.sidebar.model.rowCount() == 3  # "Today" and two chats
    window.sidebar.search.setText("Paris")
    qtbot.waitUntil(
        lambda: (
            window.sidebar.model.rowCount() >= 1 and window.sidebar.model.index(0).data(ConversationRole.Kind) == "hit"
        ),
        timeout=30_000,
    )
    hits = [window.sidebar.model.index(i).data() for i in range(window.sidebar.model.rowCount())]
    assert all("capital of France" in h for h in hits)
    window.sidebar.search.clear()
    qtbot.waitUntil(lambda: window.sidebar.model.rowCount() == 3, timeout=30_000)


def test_delete_with_undo(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=8))
    send(qtbot, window, "Hello there.")
    conversation_id = window.chat.conversation_id
    window.sidebar.delete_requested.emit(conversation_id)
    assert window.sidebar.model.row_for(conversation_id) == -1 and window.sidebar.undo_bar.isVisible()
    assert window.chat.conversation_id is None and window.chat.messages.rowCount() == 0
    window.sidebar.undo_bar.click()
    assert window.sidebar.model.row_for(conversation_id) >= 0
    window.sidebar.delete_requested.emit(conversation_id)
    window.conversations.commit_delete()
    assert window.sidebar.model.row_for(conversation_id) == -1 and not window.sidebar.undo_bar.isVisible()
    with pytest.raises(NotFoundError):
        branches.load_thread(window.store, conversation_id)


def test_engine_crash_shows_a_sentence_and_the_window_carries_on(qtbot, window: MainWindow) -> None:
    window.chat.set_params(GenerationParams(max_tokens=1500))
    seen: list[str] = []
    window.chat.reply_delta.connect(lambda text, _r: seen.append(text))
    window.composer.input.setPlainText("Write a very long essay about mountains.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.composer.submit()
        qtbot.waitUntil(lambda: len(seen) > 2, timeout=REPLY_TIMEOUT_MS)
        os.kill(window.session.bridge.client.pid, signal.SIGKILL)
    reply = rows(window)[-1]
    assert reply.status == "error" and "killed by signal 9" in (reply.error or "")
    assert reply.content  # the text so far is kept
    assert "killed by signal 9" in window.status_line.text() and "Traceback" not in window.status_line.text()
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=16))
    send(qtbot, window, "Say hello.")
    assert rows(window)[-1].content.strip()


def test_list_models_pass_the_model_tester(qtmodeltester, window: MainWindow) -> None:
    qtmodeltester.check(window.sidebar.model)
    qtmodeltester.check(window.chat.messages)
    qtmodeltester.check(ConversationListModel())


def test_shift_enter_is_a_new_line(qtbot, window: MainWindow) -> None:
    box = window.composer.input
    box.setPlainText("first")
    box.moveCursor(box.textCursor().MoveOperation.End)
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert box.toPlainText() == "first\n" and window.chat.conversation_id is None


def test_bad_model_is_a_sentence_and_the_window_carries_on(
    qtbot, window: MainWindow, bad_models: dict, starter_gguf: Path
) -> None:
    path, phrase = bad_models["truncated_half"]
    window.picker.load_requested.emit(str(path), "auto")
    qtbot.waitUntil(lambda: phrase in window.status_line.text(), timeout=LOAD_TIMEOUT_MS)
    assert not window.session.is_loaded and not window.composer.send_button.isEnabled()
    window.picker.load_requested.emit(str(starter_gguf), "auto")
    qtbot.waitUntil(lambda: window.session.is_loaded, timeout=LOAD_TIMEOUT_MS)
    assert window.isVisible() and window.composer.send_button.isEnabled()


def test_models_menu_opens_the_browser_and_the_library(qtbot, window: MainWindow) -> None:
    window.show_library()
    window.show_browser()
    browser, library = window.tool_windows["browser"], window.tool_windows["library"]
    assert browser.isVisible() and library.isVisible()
    assert browser.windowTitle() == "Find models"
    browser.close()
    library.close()


def test_a_reply_reads_back_only_its_own_row(qtbot, window: MainWindow) -> None:
    """After a reply the window reads the reply's row once: no thread reload, no model reset, no
    re-listing of the conversations (that conversation's row changes in place)."""
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=12))
    send(qtbot, window, "Say hello.")
    first_reply = rows(window)[-1]
    statements: list[str] = []
    resets: list[str] = []
    window.chat.messages.modelReset.connect(lambda: resets.append("messages"))
    window.sidebar.model.modelReset.connect(lambda: resets.append("conversations"))
    reply_widgets = []
    window.chat.reply_delta.connect(lambda *_: reply_widgets.append(window.view.widget_for(rows(window)[-1].id)))
    window.store.connection.set_trace_callback(statements.append)
    try:
        send(qtbot, window, "Say goodbye.")
    finally:
        window.store.connection.set_trace_callback(None)
    user, reply = rows(window)[-2:]
    assert reply.id not in (None, first_reply.id) and reply.status == "done" and reply.stats is not None
    reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert not [s for s in reads if "WITH RECURSIVE path" in s], "the thread was loaded again"
    assert not [s for s in reads if "ORDER BY pinned DESC" in s], "the conversation list was read again"
    whole_rows = [s for s in reads if s.startswith(f"SELECT {MESSAGE_COLUMNS} FROM messages")]
    # The person's message once as it is stored, the reply's row once when it ends; nothing else.
    assert whole_rows == [
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = {user.id}",
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = {reply.id}",
    ]
    assert resets == []
    assert reply_widgets and all(w is window.view.widget_for(reply.id) for w in reply_widgets)  # updated in place
    titles = [window.sidebar.model.index(i).data() for i in range(window.sidebar.model.rowCount())]
    assert titles == ["Today", "Say hello."] and user.content == "Say goodbye."


def test_the_stats_line_says_when_older_turns_were_left_out(qtbot, window: MainWindow) -> None:
    """The engine's stats reach the store whole and the reply's row shows the dropped turns."""
    conversation_id = chat(
        window.store, *[(f"Tell me fact number {n} about volcanoes, at length please.", FACT * 3) for n in range(12)]
    )
    window.conversations.refresh()
    window.chat.open_conversation(conversation_id)
    window.params.context_length.setValue(256)
    window.params.context_length.editingFinished.emit()
    qtbot.waitUntil(lambda: window.session.context_length == 256, timeout=LOAD_TIMEOUT_MS)
    window.chat.set_params(GenerationParams(temperature=0.0, max_tokens=12))
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
        window.composer.input.setPlainText("One more thing about volcanoes?")
        window.composer.submit()
    stats = finished.args[0].stats
    assert stats.dropped_turns > 0
    reply = rows(window)[-1]
    assert reply.stats == stats  # engine -> store -> row, every figure
    assert branches.load_thread(window.store, conversation_id).messages[-1].stats == stats
    window.view.flush()
    label = window.view.widget_for(reply.id).stats_label.text()
    assert f"{stats.dropped_turns} older turns left out" in label
