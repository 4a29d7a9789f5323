"""Documents in chats, as the store keeps them: the files attached to a message, the sources a reply was given,
the collections a chat searches; in both exports and back through an import; damaged entries refused whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.documents.passages import Citation
from app.store.branches import load_thread
from app.store.conversations import (
    conversation_collections,
    create_conversation,
    delete_conversation,
    set_conversation_collections,
)
from app.store.db import Store, open_store
from app.store.errors import ImportFormatError, NotFoundError
from app.store.export import export_json, export_markdown
from app.store.import_json import import_document
from app.store.messages import add_user_message, edit_user_message, get_message
from app.store.replies import regenerate, start_reply

CITATIONS = (
    Citation(1, "/home/me/report.pdf", page=3, snippet="Revenue rose by 12% in the third quarter.", collection=None),
    Citation(
        2,
        "/home/me/notes/notes.md",
        heading="Budget",
        snippet="The budget  for 2025\nis 40,000 euros.",
        collection="Work",
    ),
)


def _chat_with_documents(store: Store, tmp_path: Path) -> int:
    chat = create_conversation(store)
    question = add_user_message(
        store, chat.id, "What does the report say?", attachments=[tmp_path / "report.pdf", tmp_path / "b.md"]
    )
    writer = start_reply(store, chat.id, question.id, model="starter", citations=CITATIONS)
    writer.append("Revenue rose by 12% [1].")
    assert writer.finish("stop")
    set_conversation_collections(store, chat.id, ["Work", "Recipes"])
    return chat.id


def test_attachments_and_citations_are_kept_with_their_messages(store: Store, tmp_path: Path) -> None:
    question, reply = load_thread(store, _chat_with_documents(store, tmp_path)).messages
    assert question.attachments == (str(tmp_path / "report.pdf"), str(tmp_path / "b.md"))
    assert question.citations == () and reply.attachments == ()
    assert reply.citations == CITATIONS
    assert reply.content == "Revenue rose by 12% [1]."


def test_an_edited_message_keeps_its_attached_files(store: Store, tmp_path: Path) -> None:
    question = load_thread(store, _chat_with_documents(store, tmp_path)).messages[0]
    edited = edit_user_message(store, question.id, "And the travel budget?")
    assert edited.attachments == question.attachments and edited.id != question.id


def test_a_relative_attachment_is_kept_as_an_absolute_path(store: Store, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    chat = create_conversation(store)
    message = add_user_message(store, chat.id, "Read this.", attachments=["a.txt"])
    assert message.attachments == (str(tmp_path / "a.txt"),)


def test_a_writer_keeps_citations_given_while_it_streams_and_they_survive_a_new_connection(
    home: Path, tmp_path: Path
) -> None:
    store = open_store()
    chat = create_conversation(store)
    question = add_user_message(store, chat.id, "Budget?")
    writer = start_reply(store, chat.id, question.id)
    writer.append("The budget is")
    writer.cite(CITATIONS[1:])
    writer.append(" 40,000 euros [1].")
    assert writer.finish("stop")
    with pytest.raises(RuntimeError):
        writer.cite(CITATIONS)
    reply_id = writer.message_id
    store.close()
    reopened = open_store()
    try:
        assert get_message(reopened, reply_id).citations == CITATIONS[1:]
        # A regenerated reply starts without the old one's sources: its own prompt says what it was given.
        again = regenerate(reopened, reply_id)
        assert get_message(reopened, again.message_id).citations == ()
    finally:
        reopened.close()


def test_a_chat_chooses_its_collections_and_they_go_with_it(store: Store) -> None:
    chat = create_conversation(store).id
    assert conversation_collections(store, chat) == []
    assert set_conversation_collections(store, chat, ["Work", " Recipes ", "Work", ""]) == ["Recipes", "Work"]
    assert conversation_collections(store, chat) == ["Recipes", "Work"]
    set_conversation_collections(store, chat, ["Work"])
    assert conversation_collections(store, chat) == ["Work"]
    with pytest.raises(NotFoundError):
        set_conversation_collections(store, chat + 100, ["Work"])
    delete_conversation(store, chat)
    assert store.read("SELECT count(*) FROM conversation_collections")[0][0] == 0


def test_markdown_shows_the_attached_files_and_the_sources(store: Store, tmp_path: Path) -> None:
    markdown = "".join(export_markdown(store, [_chat_with_documents(store, tmp_path)]))
    assert "Attached: report.pdf, b.md" in markdown
    assert "Sources:" in markdown
    assert "- [1] report.pdf, page 3 — “Revenue rose by 12% in the third quarter.”" in markdown
    assert "- [2] notes.md, Budget — “The budget for 2025 is 40,000 euros.”" in markdown
    # Under the reply, after its text.
    assert markdown.index("Revenue rose by 12% [1].") < markdown.index("Sources:")


def test_json_keeps_them_and_an_import_brings_them_back(store: Store, tmp_path: Path) -> None:
    chat = _chat_with_documents(store, tmp_path)
    document = json.loads("".join(export_json(store, [chat])))
    exported = document["conversations"][0]
    assert exported["collections"] == ["Recipes", "Work"]
    assert exported["messages"][0]["attachments"] == [str(tmp_path / "report.pdf"), str(tmp_path / "b.md")]
    assert exported["messages"][1]["citations"] == [c.to_dict() for c in CITATIONS]
    (copy,) = import_document(store, document)
    assert [(m.attachments, m.citations) for m in load_thread(store, copy).messages] == [
        (m.attachments, m.citations) for m in load_thread(store, chat).messages
    ]
    assert conversation_collections(store, copy) == ["Recipes", "Work"]


def test_an_export_without_documents_fields_imports_as_before(store: Store, tmp_path: Path) -> None:
    document = json.loads("".join(export_json(store, [_chat_with_documents(store, tmp_path)])))
    conversation = document["conversations"][0]
    del conversation["collections"]
    for message in conversation["messages"]:
        message.pop("attachments", None)
        message.pop("citations", None)
    (copy,) = import_document(store, document)
    assert all(m.attachments == () and m.citations == () for m in load_thread(store, copy).messages)


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        (0, "attachments", "report.pdf"),
        (0, "attachments", [""]),
        (0, "attachments", [42]),
        (0, "attachments", ["a"] * 257),
        (1, "citations", {"number": 1}),
        (1, "citations", ["[1] report.pdf"]),
        (1, "citations", [{"number": 0, "source": "/a.pdf"}]),
        (1, "citations", [{"number": True, "source": "/a.pdf"}]),
        (1, "citations", [{"number": 1}]),
        (1, "citations", [{"number": 1, "source": "/a.pdf", "page": "three"}]),
        (1, "citations", [{"number": 1, "source": "/a.pdf", "heading": 7}]),
        (1, "citations", [{"number": 1, "source": "/a.pdf", "snippet": "\ud800"}]),
        (None, "collections", "Work"),
        (None, "collections", ["Work", None]),
    ],
)
def test_damaged_documents_fields_refuse_the_import(
    store: Store, tmp_path: Path, where: int | None, field: str, value: object
) -> None:
    chat = _chat_with_documents(store, tmp_path)
    document = json.loads("".join(export_json(store, [chat])))
    conversation = document["conversations"][0]
    (conversation if where is None else conversation["messages"][where])[field] = value
    before = store.read("SELECT count(*) FROM conversations")[0][0]
    with pytest.raises(ImportFormatError) as refused:
        import_document(store, document)
    assert "nothing was imported" in str(refused.value)
    assert store.read("SELECT count(*) FROM conversations")[0][0] == before


def test_a_hand_edited_entry_the_window_cannot_read_is_left_out(store: Store, tmp_path: Path) -> None:
    chat = _chat_with_documents(store, tmp_path)
    _, reply = load_thread(store, chat).messages
    with store.transaction() as connection:
        connection.execute(
            "UPDATE messages SET citations = ? WHERE id = ?",
            (json.dumps([{"number": 1, "source": "/a.pdf"}, "junk", {"source": "/b.pdf"}]), reply.id),
        )
    assert get_message(store, reply.id).citations == (Citation(1, "/a.pdf"),)


def test_a_store_from_before_documents_upgrades_and_reads_its_messages_as_before(tmp_path: Path) -> None:
    import sqlite3

    from app.store.schema import MIGRATIONS, migrate

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, MIGRATIONS[:9])
    stamp = "2025-01-01T10:00:00.000000Z"
    connection.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at, current_leaf_id) VALUES (1, 'Old', ?, ?, 1)",
        (stamp, stamp),
    )
    connection.execute(
        "INSERT INTO messages (id, conversation_id, role, created_at, content) VALUES (1, 1, 'user', ?, 'Hi')",
        (stamp,),
    )
    connection.close()
    upgraded = open_store(path)
    try:
        message = get_message(upgraded, 1)
        assert (message.content, message.attachments, message.citations) == ("Hi", (), ())
        assert conversation_collections(upgraded, 1) == []
        set_conversation_collections(upgraded, 1, ["Work"])
        assert conversation_collections(upgraded, 1) == ["Work"]
    finally:
        upgraded.close()
