"""The Documents window with real widgets offscreen and a real index in a data folder of the test's own: a
collection is made, a folder of real files added and indexed in the background with progress, the counts and
each file that could not be read (with its sentence) shown; a changed file is read again on Re-index; a folder
is taken out; the window opens from the Models menu; collections are re-checked when their folders change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from app.ui.collection_updates import CollectionUpdates
from app.ui.documents_window import DocumentsWindow
from app.ui.main_window import MainWindow

UPDATE_TIMEOUT_MS = 60_000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    """A folder of documents as people have them, with one that is not what its name says."""
    folder = tmp_path / "papers"
    (folder / "drafts").mkdir(parents=True)
    (folder / "budget.md").write_text("# Budget\n\nThe budget for 2025 is 40,000 euros.\n\n## Travel\n\nTrains only.\n")
    (folder / "minutes.txt").write_text("Minutes of the meeting: the roof will be repaired in May.\n")
    (folder / "drafts" / "letter.html").write_text("<html><body><h1>Letter</h1><p>Dear neighbours,</p></body></html>")
    (folder / "broken.pdf").write_bytes(b"this is not a PDF at all, only its name says so\n" * 4)
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))  # not a document: left out quietly
    return folder


@pytest.fixture
def documents(qtbot, home: Path) -> Iterator[DocumentsWindow]:  # noqa: ANN001
    updates = CollectionUpdates(schedule=False)
    window = DocumentsWindow(updates)
    qtbot.addWidget(window)
    window.resize(900, 620)
    window.show()
    yield window
    updates.shutdown()


def _make_collection(qtbot, window: DocumentsWindow, name: str) -> None:  # noqa: ANN001
    window.create_collection(name)
    qtbot.waitUntil(lambda: window.chosen() == name, timeout=UPDATE_TIMEOUT_MS)


def test_a_folder_is_indexed_with_progress_and_its_problems_are_shown(
    qtbot,
    documents: DocumentsWindow,
    papers: Path,  # noqa: ANN001
) -> None:
    window = documents
    qtbot.waitUntil(lambda: "No collection yet" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)
    assert not window.add_button.isEnabled()
    _make_collection(qtbot, window, "Work")
    assert window.add_button.isEnabled() and "not read yet" in window.facts.text()
    steps: list[tuple[int, int]] = []
    bar_shown: list[bool] = []  # whether the bar showed as each step came (the window hears of it first)
    window.updates.progress.connect(lambda name, done, total, path: steps.append((done, total)))
    window.updates.progress.connect(lambda *_step: bar_shown.append(window.progress.isVisible()))
    with qtbot.waitSignal(window.updates.finished, timeout=UPDATE_TIMEOUT_MS) as finished:
        window.add_folder(papers)  # as Add folder… does once a folder is chosen
    assert bar_shown and all(bar_shown)  # the bar shows while it reads
    name, report = finished.args
    assert name == "Work" and report.added == 4 and not report.stopped
    assert steps and steps[-1][0] == steps[-1][1] == 4  # the bar went to the end
    qtbot.waitUntil(lambda: not window.progress.isVisible(), timeout=UPDATE_TIMEOUT_MS)
    assert window.status.text() == "Work is up to date: 4 added, 0 changed, 0 removed; 1 file could not be read."
    qtbot.waitUntil(lambda: "4 documents" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)
    assert "last checked" in window.facts.text()
    assert [window.folders.item(i).text() for i in range(window.folders.count())] == [str(papers)]
    problems = [window.problems.topLevelItem(i) for i in range(window.problems.topLevelItemCount())]
    assert [item.text(0) for item in problems] == ["broken.pdf"]
    sentence = problems[0].text(1)
    assert "broken.pdf" in sentence and sentence.endswith(".") and "\n" not in sentence
    assert problems[0].toolTip(0) == str(papers / "broken.pdf")

    (papers / "minutes.txt").write_text("Minutes: the roof will be repaired in June, not May.\n")
    with qtbot.waitSignal(window.updates.finished, timeout=UPDATE_TIMEOUT_MS) as finished:
        window.reindex_button.click()
    assert (finished.args[1].changed, finished.args[1].added) == (1, 0)

    window.folders.setCurrentRow(0)
    assert window.remove_button.isEnabled()
    window.remove_button.click()
    qtbot.waitUntil(lambda: window.folders.count() == 0, timeout=UPDATE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "0 documents" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)


def test_a_collection_name_already_taken_is_refused_with_a_sentence(
    qtbot,
    documents: DocumentsWindow,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    _make_collection(qtbot, documents, "Work")
    documents.create_collection("Work")
    qtbot.waitUntil(lambda: bool(documents.status.text()), timeout=UPDATE_TIMEOUT_MS)
    assert "Work" in documents.status.text() and documents.status.text().endswith(".")
    assert documents.list.count() == 1
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kwargs: ""))
    documents.add_button.click()  # the folder dialog cancelled: nothing happens
    assert not documents.updates.running


def test_a_collection_is_checked_again_when_a_file_is_added_to_its_folder(
    qtbot,
    documents: DocumentsWindow,
    papers: Path,  # noqa: ANN001
) -> None:
    window = documents
    _make_collection(qtbot, window, "Work")
    with qtbot.waitSignal(window.updates.listed, timeout=UPDATE_TIMEOUT_MS):
        window.add_folder(papers)  # indexed, then the folders are watched
    assert str(papers) in window.updates._watcher.directories()
    with qtbot.waitSignal(window.updates.finished, timeout=UPDATE_TIMEOUT_MS) as finished:
        (papers / "agenda.md").write_text("# Agenda\n\n1. The roof.\n")
    assert finished.args[0] == "Work" and finished.args[1].added == 1


def test_the_documents_window_opens_from_the_models_menu(qtbot, window: MainWindow, home: Path) -> None:  # noqa: ANN001
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Models")
    item = next(a for a in menu.actions() if a.text() == "Documents…")
    after_tools = [a.text() for a in menu.actions()].index("Tools (MCP servers)…") + 1
    assert menu.actions()[after_tools] is item
    item.trigger()
    documents = window.tool_windows["documents"]
    assert isinstance(documents, DocumentsWindow) and documents.isVisible()
    assert documents.updates is window.chat.documents.updates  # one runner for the window and the chats
    with qtbot.waitSignal(window.composer.documents_button.manage_requested):
        next(a for a in window.composer.documents_button.menu.actions() if a.text() == "Manage collections…").trigger()
    documents.close()


def test_the_progress_line_names_the_embedding_model_while_it_embeds() -> None:
    from app.documents.indexer import IndexProgress
    from app.ui.collection_updates import EMBEDDING_PREFIX, progress_subject

    reading = IndexProgress(3, 10, "/docs/report.pdf")
    embedding = IndexProgress(30, 400, "/models/nomic-embed.gguf", stage="embedding")
    assert progress_subject(reading) == "/docs/report.pdf"
    assert progress_subject(embedding) == EMBEDDING_PREFIX + "nomic-embed.gguf"


def test_a_collection_is_searched_by_meaning_with_a_chosen_model_then_by_words_again(
    qtbot,
    documents: DocumentsWindow,
    papers: Path,
    starter_gguf: Path,  # noqa: ANN001
) -> None:
    """The starter stands in for an embedding model (llama.cpp pools a decoder model's tokens)."""
    window = documents
    _make_collection(qtbot, window, "Work")
    with qtbot.waitSignal(window.updates.finished, timeout=UPDATE_TIMEOUT_MS):
        window.add_folder(papers)
    qtbot.waitUntil(lambda: "searched by its words" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)
    assert window.meaning_button.isEnabled() and not window.words_button.isEnabled()
    with qtbot.waitSignal(window.updates.finished, timeout=UPDATE_TIMEOUT_MS):
        window.set_embedding_model(str(starter_gguf))  # as Search by meaning… does once a model is chosen
    # the list is read again after the update
    qtbot.waitUntil(lambda: "4 of 4 passages embedded" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)
    facts = window.facts.text()
    assert "searched by words and meaning" in facts and starter_gguf.name in facts
    summary = next(s for s in window.summaries if s.name == "Work")
    assert summary.passages == summary.vectors == 4
    assert window.words_button.isEnabled()
    window.words_button.click()
    qtbot.waitUntil(lambda: "searched by its words" in window.facts.text(), timeout=UPDATE_TIMEOUT_MS)
    assert not window.words_button.isEnabled()
