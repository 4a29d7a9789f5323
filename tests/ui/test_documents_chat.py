"""Chatting with documents in the window, on the starter model and a real store: an attached file's text is in
the prompt the engine is sent (checked in the messages handed to the engine, not in the model's answer), the
reply keeps its sources and shows them, a source opens its file, the sources survive a restart and are in the
export; a chat's collections are searched for each question; only the question being answered gets passages;
a file that cannot be read is said in the status line and the question is still answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.documents.index import DocumentIndex
from app.documents.indexer import update_collection
from app.documents.retrieval import HEADER
from app.store.branches import load_thread
from app.store.conversations import conversation_collections
from app.store.db import open_store
from app.store.export import export_markdown
from app.ui import background
from app.ui.citation_list import SourceDialog
from app.ui.main_window import MainWindow
from app.ui.message_widget import MessageWidget
from engines.base import GenerationParams
from tests.ui.conftest import LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS

SHORT = GenerationParams(temperature=0.0, max_tokens=12, repeat_penalty=1.0)
PIE = "# Pie\n\nThe Parlour pie is spiced with cardamom and baked for forty minutes at 180 degrees.\n"


@pytest.fixture
def prompts(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, Any]]]:
    """The messages of every request the window's chat sends the engine, as it sends them."""
    sent: list[list[dict[str, Any]]] = []
    bridge = window.session.bridge
    generate = bridge.generate

    def recorded(messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> str:
        sent.append([dict(message) for message in messages])
        return generate(messages, *args, **kwargs)

    monkeypatch.setattr(bridge, "generate", recorded)
    window.chat.set_params(SHORT)
    return sent


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of the test's own: the document index lives there."""
    folder = tmp_path / "home"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


def ask(qtbot, window: MainWindow, text: str) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.composer.input.setPlainText(text)
        window.composer.submit()


def widget_of(qtbot, window: MainWindow, message_id: int) -> MessageWidget:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.view.widget_for(message_id) is not None)
    widget = window.view.widget_for(message_id)
    assert widget is not None
    return widget


def test_an_attached_file_is_in_the_prompt_and_the_reply_shows_and_keeps_its_source(
    qtbot,
    window: MainWindow,
    prompts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(PIE)
    assert window.composer.attach([notes])
    ask(qtbot, window, "How long is the Parlour pie baked?")
    assert window.composer.attachments() == []  # the chips went with the message
    question = prompts[-1][-1]
    assert question["role"] == "user"
    assert question["content"].startswith(HEADER)
    assert "[1] notes.md\n" in question["content"] and "spiced with cardamom" in question["content"]
    assert question["content"].endswith("How long is the Parlour pie baked?")

    conversation = window.chat.conversation_id
    user, reply = load_thread(window.store, conversation).messages
    assert user.content == "How long is the Parlour pie baked?"  # the store keeps the question as written
    assert user.attachments == (str(notes),)
    assert [(c.number, c.source, c.collection) for c in reply.citations] == [(1, str(notes), None)]
    assert window.chat.messages.find(reply.id).citations == reply.citations

    sources = widget_of(qtbot, window, reply.id).documents
    assert sources.isVisible() and "[1] notes.md" in sources.text() and sources.text().startswith("Sources:")
    attached = widget_of(qtbot, window, user.id).documents
    assert attached.isVisible() and attached.text().startswith("Attached:") and "notes.md" in attached.text()

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    with qtbot.waitSignal(sources.source_opened) as shown:
        sources.linkActivated.emit("source:1")  # as a click on "[1] notes.md" does
    dialog = shown.args[0]
    assert isinstance(dialog, SourceDialog) and dialog.isVisible()
    assert "spiced with cardamom" in dialog.snippet.text()
    dialog.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(notes))]
    assert not dialog.problem.isVisible()
    notes.unlink()  # a source moved since: said, not opened
    dialog.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(notes))]
    assert dialog.problem.isVisible() and "notes.md is no longer at" in dialog.problem.text()
    dialog.close()

    markdown = "".join(export_markdown(window.store, [conversation]))
    assert "Attached: notes.md" in markdown, markdown
    sources_line = next(line for line in markdown.splitlines() if line.startswith("- [1] "))
    assert sources_line.startswith("- [1] notes.md — “") and "spiced with cardamom" in sources_line


def test_sources_survive_a_restart(qtbot, window: MainWindow, prompts, tmp_path: Path) -> None:  # noqa: ANN001
    notes = tmp_path / "notes.md"
    notes.write_text(PIE)
    window.composer.attach([notes])
    ask(qtbot, window, "What spice is in the pie?")
    conversation = window.chat.conversation_id
    store = open_store(Path(window.store.path))  # a new connection and a new window, as after a restart
    again = MainWindow(store)
    qtbot.addWidget(again)
    again.show()
    try:
        again.open_conversation(conversation)
        user, reply = (again.chat.messages.row_at(i) for i in range(2))
        assert user.attachments == (str(notes),)
        assert [c.source for c in reply.citations] == [str(notes)]
        sources = widget_of(qtbot, again, reply.id).documents
        assert sources.isVisible() and "[1] notes.md" in sources.text()
        assert sources.open_citation(1) is not None
    finally:
        qtbot.waitUntil(lambda: again.session.is_loaded, timeout=LOAD_TIMEOUT_MS)
        again.close()
        store.close()


def test_a_chat_s_collections_are_searched_and_only_the_question_answered_gets_passages(
    qtbot,
    window: MainWindow,
    prompts,
    home: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "pie.md").write_text(PIE)
    (recipes / "soup.txt").write_text("Leek soup takes leeks, potatoes and an hour of simmering.\n")
    with DocumentIndex.default() as index:
        index.create_collection("Recipes")
        index.add_folder("Recipes", recipes)
        update_collection(index, "Recipes")
    button = window.composer.documents_button
    button.refresh()  # as opening its menu does: the names are read on a worker thread
    qtbot.waitUntil(lambda: button.names == ["Recipes"])
    recipes_action = next(a for a in button.menu.actions() if a.data() == "Recipes")
    with qtbot.waitSignal(window.chat.documents.collections_changed):
        recipes_action.setChecked(True)  # ticked in the Documents menu of a new chat
    assert window.chat.documents.collections == ["Recipes"] and button.button.text() == "1"

    ask(qtbot, window, "How long is the Parlour pie baked?")
    conversation = window.chat.conversation_id
    assert conversation_collections(window.store, conversation) == ["Recipes"]  # kept with the new chat
    first = prompts[-1][-1]["content"]
    assert first.startswith(HEADER) and "[1] pie.md, Pie" in first and "forty minutes" in first
    reply = load_thread(window.store, conversation).messages[-1]
    assert reply.citations and reply.citations[0].collection == "Recipes"

    ask(qtbot, window, "And the leek soup?")
    second = prompts[-1]
    users = [m["content"] for m in second if m["role"] == "user"]
    assert users[0] == "How long is the Parlour pie baked?"  # the earlier question, without its passages
    assert users[1].startswith(HEADER) and "leeks, potatoes" in users[1]
    assert sum(HEADER in m["content"] for m in second) == 1

    window.chat.new_chat()  # another chat searches nothing until asked
    assert window.chat.documents.collections == [] and button.button.text() == "Documents"
    window.chat.open_conversation(conversation)
    assert window.chat.documents.collections == ["Recipes"]
    assert recipes_action.isChecked()


def test_a_file_that_cannot_be_read_is_said_and_the_question_still_answered(
    qtbot,
    window: MainWindow,
    prompts,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(PIE)
    window.composer.attach([notes])
    notes.unlink()  # gone between attaching and sending
    said: list[tuple[str, bool]] = []
    window.status_line.shown.connect(lambda text, error: said.append((text, error)))
    ask(qtbot, window, "What is in the pie?")
    qtbot.waitUntil(lambda: said[-1][1] and "notes.md" in said[-1][0])  # after the reply's summary, too
    assert any(error and "notes.md" in text for text, error in said[:-1])  # and while it was written
    assert prompts[-1][-1]["content"] == "What is in the pie?"
    reply = load_thread(window.store, window.chat.conversation_id).messages[-1]
    assert reply.citations == () and reply.status == "done"


def test_stopping_while_the_documents_are_read_ends_the_reply(
    qtbot,
    window: MainWindow,
    prompts,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(PIE)
    window.composer.attach([notes])
    window.composer.input.setPlainText("What is in the pie?")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS) as finished:
        window.composer.submit()
        assert window.chat.busy and window.composer.stop_button.isEnabled()
        window.chat.stop()  # before the worker thread has read the file
    assert finished.args[0].finish_reason == "cancelled"
    assert not window.chat.busy
    reply = load_thread(window.store, window.chat.conversation_id).messages[-1]
    assert reply.role == "assistant" and reply.finish_reason == "cancelled"
    qtbot.waitUntil(lambda: not background._pending)  # the worker's answer came after the stop, and was dropped
    assert prompts == []
    assert not window.chat.busy


def test_a_regenerated_or_edited_question_reads_its_files_again(
    qtbot,
    window: MainWindow,
    prompts,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(PIE)
    window.composer.attach([notes])
    ask(qtbot, window, "How long is the pie baked?")
    assert "forty minutes" in prompts[-1][-1]["content"]
    notes.write_text(PIE.replace("forty", "fifty"))
    reply = window.chat.messages.last()
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.chat.regenerate(reply.id)
    assert "fifty minutes" in prompts[-1][-1]["content"]
    question = window.chat.messages.row_at(0)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.chat.edit(question.id, "At what temperature is the pie baked?")
    edited = window.chat.messages.row_at(0)
    assert edited.id != question.id and edited.attachments == (str(notes),)  # the files go with the new version
    assert prompts[-1][-1]["content"].endswith("At what temperature is the pie baked?")
    assert "180 degrees" in prompts[-1][-1]["content"]
    assert window.chat.messages.last().citations[0].source == str(notes)
