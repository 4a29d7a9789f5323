"""Export as Markdown and JSON; a JSON export imports back to the same tree; bad files are refused
whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.store.branches import load_thread, switch_to
from app.store.conversations import conversation_ids, create_conversation, delete_conversation, list_recent
from app.store.db import Store, open_store
from app.store.errors import ImportFormatError
from app.store.export import FORMAT_NAME, FORMAT_VERSION, export_json, export_markdown
from app.store.import_json import import_document, import_file
from app.store.messages import add_user_message, edit_user_message
from app.store.replies import mark_interrupted_replies, regenerate, start_reply
from engines.base import GenerationStats

from .helpers import chat


def _rich_store(store: Store) -> list[int]:
    """Conversations with everything an export must keep: branches, reasoning, statistics,
    parameters, a custom title, a folder, a pin, an interrupted reply and an error."""
    # Deleted first so the IDs in this store do not start at 1, like a store in real use.
    delete_conversation(store, chat(store, ("scratch", "gone")))
    first = chat(
        store,
        ("Explain photosynthesis", "Plants turn light into sugar."),
        ("Shorter?", "Light → sugar."),
        model="smollm2",
        engine="llama.cpp",
        system_prompt="You are a botanist.\nBe exact.",
        parameters={"temperature": 0.3, "top_k": 40, "stop": ["</s>"]},
        template="{% for m in messages %}{{ m.content }}{% endfor %}",
        folder="Science",
        pinned=True,
    )
    thread = load_thread(store, first)
    again = regenerate(store, thread.messages[1].id)
    again.append("Chlorophyll captures light.", reasoning="Keep it short, mention chlorophyll.")
    again.finish(
        "length",
        GenerationStats(
            prompt_tokens=31,
            prompt_tps=250.0,
            generated_tokens=5,
            generation_tps=61.5,
            ttft_ms=120.0,
            peak_memory_bytes=400_000_000,
            cached_tokens=20,
            dropped_turns=2,
        ),
    )
    switch_to(store, thread.messages[3].id)
    edit_user_message(store, thread.messages[2].id, "Even shorter? ünïcödé ✓ 漢字")

    second = create_conversation(store, title="My custom title")
    user = add_user_message(store, second.id, "Will this survive?")
    cut = start_reply(store, second.id, user.id)
    cut.append("It was cut o")
    cut.flush()
    mark_interrupted_replies(store)
    failed = regenerate(store, cut.message_id)
    failed.finish("error", error="The model ran out of memory.")
    return [first, second.id]


def _normalised(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversations with store IDs replaced by positions, so two stores can be compared."""
    result = []
    for conversation in document["conversations"]:
        position = {message["id"]: index for index, message in enumerate(conversation["messages"])}
        messages = [
            {**message, "id": position[message["id"]], "parent": position.get(message["parent"])}
            for message in conversation["messages"]
        ]
        result.append(
            {
                **conversation,
                "id": None,
                "current_leaf": position[conversation["current_leaf"]],
                "messages": messages,
            }
        )
    return result


def test_json_export_imports_back_to_the_same_tree(store: Store, tmp_path: Path) -> None:
    ids = _rich_store(store)
    exported = json.loads("".join(export_json(store, ids)))
    assert exported["format"] == FORMAT_NAME and exported["format_version"] == FORMAT_VERSION
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")

    with open_store(tmp_path / "other.db") as other:
        new_ids = import_file(other, path)
        assert len(new_ids) == 2 and new_ids != ids
        again = json.loads("".join(export_json(other, new_ids)))
        assert _normalised(again) == _normalised(exported)
        for old_id, new_id in zip(ids, new_ids, strict=True):
            original, copy = load_thread(store, old_id), load_thread(other, new_id)
            assert [(m.role, m.content, m.reasoning, m.stats) for m in copy.messages] == [
                (m.role, m.content, m.reasoning, m.stats) for m in original.messages
            ]
            assert len(copy.alternatives) == len(original.alternatives)
            assert copy.conversation.parameters == original.conversation.parameters


def test_json_export_keeps_every_branch_and_statistic(store: Store) -> None:
    first, second = _rich_store(store)
    document = json.loads("".join(export_json(store, [first, second])))
    conversation = document["conversations"][0]
    assert len(conversation["messages"]) == 6  # 4 in the first thread, 1 regenerated, 1 edited
    assert conversation["system_prompt"] == "You are a botanist.\nBe exact."
    assert conversation["parameters"] == {"stop": ["</s>"], "temperature": 0.3, "top_k": 40}
    assert conversation["pinned"] is True and conversation["folder"] == "Science"
    regenerated = [m for m in conversation["messages"] if m["reasoning"]][0]
    assert regenerated["finish_reason"] == "length"
    assert regenerated["stats"] == {
        "prompt_tokens": 31,
        "prompt_tps": 250.0,
        "generated_tokens": 5,
        "generation_tps": 61.5,
        "ttft_ms": 120.0,
        "peak_memory_bytes": 400_000_000,
        "cached_tokens": 20,
        "dropped_turns": 2,
        "draft_tokens": 0,
        "accepted_draft_tokens": 0,
        "disk_cached_tokens": 0,
    }
    assert [m["stats"] for m in document["conversations"][1]["messages"]][:2] == [None, None]
    statuses = [m["status"] for m in document["conversations"][1]["messages"]]
    assert statuses == ["done", "interrupted", "done"]
    assert document["conversations"][1]["messages"][2]["error"] == "The model ran out of memory."


def test_markdown_shows_the_thread_readably(store: Store) -> None:
    first, second = _rich_store(store)
    text = "".join(export_markdown(store, [first, second]))
    assert text.startswith("# Explain photosynthesis\n")
    assert "Model: smollm2 (llama.cpp)" in text and "folder: Science" in text
    assert 'Parameters: `{"stop": ["</s>"], "temperature": 0.3, "top_k": 40}`' in text
    assert "> You are a botanist.\n> Be exact." in text
    assert "## You · " in text and "## Assistant · test-model · " in text
    assert "Even shorter? ünïcödé ✓ 漢字" in text
    assert "*5 tokens · 40.0 tokens/s · 0.25 s to first token*" in text
    # The shown thread only, with a pointer to what was left out.
    assert "Shorter?" not in text and "Light → sugar." not in text
    assert "other branches (3 messages not shown here)" in text
    assert "\n---\n\n# My custom title\n" in text
    assert "other branches (1 message not shown here)" in text
    assert "*error: The model ran out of memory.*" in text


def test_markdown_shows_reasoning_statistics_and_interruptions(store: Store) -> None:
    first, second = _rich_store(store)
    messages = json.loads("".join(export_json(store, [first, second])))["conversations"]
    switch_to(store, [m for m in messages[0]["messages"] if m["reasoning"]][0]["id"])
    switch_to(store, [m for m in messages[1]["messages"] if m["status"] == "interrupted"][0]["id"])
    text = "".join(export_markdown(store, [first, second]))
    assert "<details><summary>Reasoning</summary>\n\nKeep it short, mention chlorophyll.\n\n</details>" in text
    assert (
        "*5 tokens · 61.5 tokens/s · 0.12 s to first token · 2 older turns left out to fit the context"
        " · stopped at the length limit*"
    ) in text
    assert "It was cut o\n\n*interrupted: Parlour stopped before this reply was finished*" in text


def test_all_conversations_export_in_order(store: Store) -> None:
    ids = _rich_store(store)
    assert conversation_ids(store) == ids
    document = json.loads("".join(export_json(store, conversation_ids(store))))
    assert [c["title"] for c in document["conversations"]] == ["Explain photosynthesis", "My custom title"]


def _valid_document(store: Store) -> dict[str, Any]:
    return json.loads("".join(export_json(store, [chat(store, ("question", "answer"), ("more", "sure"))])))


def _mutate(document: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


HOSTILE_CHANGES = [
    ((), "just a string"),
    (("format",), "someone-else"),
    (("format_version",), FORMAT_VERSION + 1),
    (("format_version",), "1"),
    (("conversations",), {"not": "a list"}),
    (("conversations", 0), 7),
    (("conversations", 0, "messages"), None),
    (("conversations", 0, "title"), ["not", "text"]),
    (("conversations", 0, "pinned"), 1),
    (("conversations", 0, "parameters"), [1, 2]),
    (("conversations", 0, "created_at"), "yesterday-ish"),
    (("conversations", 0, "created_at"), "0001-01-01T00:00:00Z"),
    (("conversations", 0, "current_leaf"), 999999),
    (("conversations", 0, "messages", 0, "role"), "wizard"),
    (("conversations", 0, "messages", 0, "content"), 12),
    (("conversations", 0, "messages", 0, "status"), "sleeping"),
    (("conversations", 0, "messages", 0, "parent"), 999999),
    (("conversations", 0, "messages", 0, "id"), {"an": "object"}),
    (("conversations", 0, "messages", 1, "finish_reason"), "bored"),
    (("conversations", 0, "messages", 1, "stats"), {"prompt_tokens": -5}),
    (("conversations", 0, "messages", 1, "stats"), {"generated_tokens": 2**70}),
    (("conversations", 0, "messages", 1, "stats"), {"tokens_per_second": "fast"}),
    (("conversations", 0, "messages", 1, "stats"), {"generation_tps": -1.0}),
    (("conversations", 0, "messages", 1, "stats"), {"dropped_turns": 1.5}),
    (("conversations", 0, "messages", 1, "stats"), {"time_to_first_token_s": 1e307}),
    (("conversations", 0, "messages", 1, "stats"), {"cached_tokens": True}),
    (("conversations", 0, "messages", 1, "stats"), "none"),
]


@pytest.mark.parametrize(("path", "value"), HOSTILE_CHANGES, ids=[str(c) for c in HOSTILE_CHANGES])
def test_a_malformed_document_is_refused_with_one_sentence(store: Store, path: tuple, value: Any) -> None:
    document = _valid_document(store)
    document = value if path == () else _mutate(document, path, value)
    before = store.read("SELECT count(*) FROM conversations")[0][0]
    with pytest.raises(ImportFormatError) as raised:
        import_document(store, document, source="export.json")
    message = str(raised.value)
    assert message.startswith("export.json ") and message.endswith(".") and "\n" not in message
    assert store.read("SELECT count(*) FROM conversations")[0][0] == before


def test_cycles_and_duplicate_ids_are_refused(store: Store) -> None:
    document = _valid_document(store)
    messages = document["conversations"][0]["messages"]
    messages[0]["parent"] = messages[3]["id"]  # the root answers its own descendant
    with pytest.raises(ImportFormatError, match="does not come before it"):
        import_document(store, document)
    document = _valid_document(store)
    messages = document["conversations"][0]["messages"]
    messages[2]["id"] = messages[1]["id"]
    with pytest.raises(ImportFormatError, match="repeats the ID"):
        import_document(store, document)


def test_one_bad_conversation_means_nothing_is_imported(store: Store) -> None:
    good = _valid_document(store)["conversations"][0]
    bad = json.loads(json.dumps(good))
    bad["messages"][1]["role"] = "narrator"
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "conversations": [good, good, bad]}
    before = len(list_recent(store))
    with pytest.raises(ImportFormatError, match="conversation 3 message 2 has an unknown role 'narrator'"):
        import_document(store, document)
    assert len(list_recent(store)) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"format": "parlour-conversations", ', "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"format": "parlour-conversations", "format_version": NaN, "conversations": []}', "NaN"),
        (b'{"format_version": ' + b"9" * 5000 + b"}", "not a Parlour export"),
        (b"", "is not valid JSON"),
    ],
)
def test_unreadable_files_are_refused(store: Store, tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=expected):
        import_file(store, path)
    assert list_recent(store) == []


def test_missing_files_and_folders_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="does not exist"):
        import_file(store, tmp_path / "nowhere.json")
    with pytest.raises(ImportFormatError, match="is a folder"):
        import_file(store, tmp_path)


def test_a_reply_still_streaming_when_exported_imports_as_interrupted(store: Store) -> None:
    conversation = create_conversation(store)
    user = add_user_message(store, conversation.id, "hi")
    writer = start_reply(store, conversation.id, user.id)
    writer.append("partial")
    writer.flush()
    document = json.loads("".join(export_json(store, [conversation.id])))
    assert document["conversations"][0]["messages"][1]["status"] == "streaming"
    new_id = import_document(store, document)[0]
    assert [m.status for m in load_thread(store, new_id).messages] == ["done", "interrupted"]


def test_an_export_of_format_1_imports_its_stats_under_todays_names(store: Store) -> None:
    reply_stats = {
        "prompt_tokens": 9,
        "generated_tokens": 2,
        "cached_tokens": None,
        "time_to_first_token_s": 0.25,
        "tokens_per_second": 40.0,
    }
    document = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "conversations": [
            {
                "title": "Written by Parlour 1",
                "messages": [
                    {"id": 1, "role": "user", "content": "Hi", "stats": dict.fromkeys(reply_stats)},
                    {"id": 2, "parent": 1, "role": "assistant", "content": "Hello", "stats": reply_stats},
                ],
            }
        ],
    }
    user, reply = load_thread(store, import_document(store, document)[0]).messages
    assert user.stats is None
    assert reply.stats == GenerationStats(prompt_tokens=9, generated_tokens=2, ttft_ms=250.0, generation_tps=40.0)
    exported = json.loads("".join(export_json(store, [reply.conversation_id])))
    assert exported["format_version"] == FORMAT_VERSION
    assert exported["conversations"][0]["messages"][1]["stats"]["ttft_ms"] == 250.0


def test_minimal_hand_written_files_import(store: Store) -> None:
    document = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "conversations": [
            {
                "title": "Hand made",
                "messages": [
                    {"id": "a", "role": "user", "content": "Hi"},
                    {"id": "b", "parent": "a", "role": "assistant", "content": "Hello"},
                ],
            }
        ],
    }
    new_id = import_document(store, document)[0]
    thread = load_thread(store, new_id)
    assert thread.conversation.title == "Hand made" and thread.conversation.title_is_custom
    assert [m.content for m in thread.messages] == ["Hi", "Hello"]
