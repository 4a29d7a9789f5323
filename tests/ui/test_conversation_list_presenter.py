"""The conversation list's presenter with a real store and the real sidebar, offscreen."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QThreadPool

from app.store import conversations as store_conversations
from app.store.branches import load_thread
from app.store.db import Store, open_store
from app.store.errors import NotFoundError
from app.ui.conversation_list_model import ConversationRole
from app.ui.conversation_list_presenter import ConversationListPresenter
from app.ui.sidebar import Sidebar
from tests.store.helpers import chat


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "parlour.db")
    yield opened
    opened.close()


@pytest.fixture
def listed(qtbot, store: Store) -> tuple[ConversationListPresenter, Sidebar, list[int]]:
    ids = [
        chat(store, ("What is the capital of France?", "Paris is the capital of France.")),
        chat(store, ("Name a yellow fruit.", "A banana is yellow.")),
        chat(store, ("How do I descale a kettle?", "Boil vinegar in it.")),
    ]
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    presenter = ConversationListPresenter(store, sidebar, undo_ms=50)
    presenter.refresh()
    return presenter, sidebar, ids


def shown(sidebar: Sidebar) -> list[tuple[str, str, int | None]]:
    model = sidebar.model
    return [
        (
            model.index(i).data(ConversationRole.Kind),
            model.index(i).data(),
            model.index(i).data(ConversationRole.ConversationId),
        )
        for i in range(model.rowCount())
    ]


def test_the_list_is_grouped_newest_first_and_passes_the_model_tester(qtmodeltester, listed) -> None:
    _, sidebar, ids = listed
    assert [row[2] for row in shown(sidebar)] == [None, *reversed(ids)]
    assert shown(sidebar)[0][:2] == ("header", "Today")
    qtmodeltester.check(sidebar.model, force_py=True)


def test_a_saved_conversation_changes_its_row_in_place_or_moves(qtbot, listed, store: Store) -> None:
    presenter, sidebar, ids = listed
    renamed = store_conversations.rename_conversation(store, ids[2], "Kettles")  # the newest: it stays first
    with qtbot.assertNotEmitted(sidebar.model.modelReset), qtbot.waitSignal(sidebar.model.dataChanged):
        presenter.conversation_saved(renamed)
    assert shown(sidebar)[1] == ("conversation", "Kettles", ids[2])
    with qtbot.waitSignal(sidebar.model.modelReset):
        presenter.conversation_touched(ids[0])  # a reply just ended there: it moves to the top
    assert [row[2] for row in shown(sidebar)] == [None, ids[0], ids[2], ids[1]]
    old = dataclasses.replace(
        store_conversations.get_conversation(store, ids[1]), updated_at=datetime.now(UTC) - timedelta(days=3)
    )
    presenter.conversation_saved(old)
    assert [row[1] for row in shown(sidebar)][-2:] == ["Previous 7 days", "Name a yellow fruit."]


def test_search_runs_off_the_gui_thread_and_the_newest_query_wins(qtbot, listed) -> None:
    presenter, sidebar, ids = listed
    presenter.search("paris")
    presenter.search("banana")  # typed on before the first answer came
    qtbot.waitUntil(lambda: [row[0] for row in shown(sidebar)] == ["hit"], timeout=30_000)
    assert QThreadPool.globalInstance().waitForDone(30_000)
    QCoreApplication.processEvents()  # both answers have now been delivered: the older one was dropped
    assert len(shown(sidebar)) == 1 and shown(sidebar)[0][2] == ids[1] and "«banana»" in shown(sidebar)[0][1]
    presenter.search("zeppelin")
    qtbot.waitUntil(lambda: sidebar.model.rowCount() == 0, timeout=30_000)
    note = sidebar.empty_note.text()
    assert "“zeppelin”" in note and "clear the search" in note  # says what to do next
    presenter.search("")
    assert not sidebar.empty_note.text()
    assert [row[2] for row in shown(sidebar)] == [None, *reversed(ids)]


def test_the_sidebar_debounces_typing_into_one_search(qtbot, listed) -> None:
    presenter, sidebar, ids = listed
    searches: list[str] = []
    sidebar.search_changed.connect(searches.append)
    for prefix in ("k", "ke", "ket", "kettle"):
        sidebar.search.setText(prefix)
    qtbot.waitUntil(lambda: bool(searches), timeout=10_000)
    assert searches == ["kettle"]
    qtbot.waitUntil(lambda: {row[2] for row in shown(sidebar)} == {ids[2]}, timeout=30_000)


def test_rename_and_pin_from_the_sidebar_reach_the_store(listed, store: Store) -> None:
    _, sidebar, ids = listed
    sidebar.rename_requested.emit(ids[0], "Capitals")
    sidebar.pin_toggled.emit(ids[0], True)
    stored = store_conversations.get_conversation(store, ids[0])
    assert stored.title == "Capitals" and stored.pinned
    assert shown(sidebar)[:2] == [("header", "Pinned", None), ("conversation", "Capitals", ids[0])]
    assert sidebar.model.index(1).data(ConversationRole.Pinned) is True


def test_delete_hides_at_once_undo_brings_it_back_and_the_timer_deletes_for_good(qtbot, listed, store) -> None:
    presenter, sidebar, ids = listed
    with qtbot.waitSignal(presenter.conversation_hidden) as hidden:
        sidebar.delete_requested.emit(ids[1])
    assert hidden.args == [ids[1]]
    assert ids[1] not in [row[2] for row in shown(sidebar)] and sidebar.undo_bar.isVisibleTo(sidebar)
    sidebar.undo_bar.click()
    assert ids[1] in [row[2] for row in shown(sidebar)] and not sidebar.undo_bar.isVisibleTo(sidebar)
    qtbot.wait(200)  # past the undo time: nothing may be deleted now
    assert load_thread(store, ids[1]).messages
    sidebar.delete_requested.emit(ids[1])
    qtbot.waitUntil(lambda: not sidebar.undo_bar.isVisibleTo(sidebar), timeout=10_000)
    with pytest.raises(NotFoundError):
        load_thread(store, ids[1])
    presenter.refresh()
    assert ids[1] not in [row[2] for row in shown(sidebar)]


def test_export_writes_markdown_or_json(qtbot, listed, tmp_path: Path) -> None:
    presenter, _, ids = listed
    with qtbot.waitSignal(presenter.status) as status:
        presenter.export(ids[0], str(tmp_path / "chat.md"))
    assert status.args == [f"Exported to {tmp_path / 'chat.md'}", False]
    assert "Paris is the capital of France." in (tmp_path / "chat.md").read_text(encoding="utf-8")
    presenter.export(ids[0], str(tmp_path / "chat.json"))
    document = json.loads((tmp_path / "chat.json").read_text(encoding="utf-8"))
    assert document["conversations"][0]["messages"][1]["stats"]["generated_tokens"] == 6
    with qtbot.waitSignal(presenter.status) as status:
        presenter.export(ids[0], str(tmp_path / "no-such-folder" / "chat.md"))
    assert status.args[0].startswith("Could not export the chat:") and status.args[1] is True
