"""Tool calls kept with their messages: the calls a reply made, the call each result answers; in exports
(JSON keeps them, Markdown shows them) and back through an import; a damaged list is refused whole."""

from __future__ import annotations

import json

import pytest

from app.store.branches import load_thread
from app.store.conversations import create_conversation
from app.store.db import Store
from app.store.errors import ImportFormatError
from app.store.export import export_json, export_markdown
from app.store.import_json import import_document
from app.store.messages import add_message, add_user_message, keep_tool_calls

CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}


def _chat_with_a_call(store: Store) -> int:
    chat = create_conversation(store)
    question = add_user_message(store, chat.id, "What is 2 plus 3?")
    asked = add_message(store, chat.id, "assistant", "", question.id, model="starter")
    keep_tool_calls(store, asked.id, [CALL])
    result = add_message(store, chat.id, "tool", "5", asked.id, tool_calls=[CALL])
    add_message(store, chat.id, "assistant", "2 plus 3 is 5.", result.id, model="starter")
    return chat.id


def test_calls_and_results_are_kept_with_their_messages(store: Store) -> None:
    thread = load_thread(store, _chat_with_a_call(store)).messages
    assert [(m.role, m.tool_calls) for m in thread] == [
        ("user", ()),
        ("assistant", (CALL,)),
        ("tool", (CALL,)),
        ("assistant", ()),
    ]


def test_exports_show_them_and_an_import_keeps_them(store: Store) -> None:
    chat = _chat_with_a_call(store)
    markdown = "".join(export_markdown(store, [chat]))
    assert 'Tool calls: `add({"a": 2, "b": 3})`' in markdown and 'Result of `add({"a": 2, "b": 3})`:' in markdown
    document = json.loads("".join(export_json(store, [chat])))
    assert document["conversations"][0]["messages"][1]["tool_calls"] == [CALL]
    (copy,) = import_document(store, document)
    assert [m.tool_calls for m in load_thread(store, copy).messages] == [
        m.tool_calls for m in load_thread(store, chat).messages
    ]


@pytest.mark.parametrize(
    "calls", ["add", [{"function": {}}], [CALL] * 65, [{"function": {"name": "x", "arguments": float("nan")}}]]
)
def test_damaged_tool_calls_refuse_the_import(store: Store, calls: object) -> None:
    document = json.loads("".join(export_json(store, [_chat_with_a_call(store)])))
    document["conversations"][0]["messages"][1]["tool_calls"] = calls
    with pytest.raises(ImportFormatError):
        import_document(store, document)
