"""Comparisons in the store: columns as paths of one message tree, verdicts per round, search, export and
import, continuing a column as a chat, deletion."""

from __future__ import annotations

import json

import pytest

from app.store.comparisons import (
    TIE,
    ComparedModel,
    add_prompt,
    column_messages,
    columns,
    continue_as_chat,
    create_comparison,
    rounds,
    set_leaf,
    set_winner,
)
from app.store.conversations import delete_conversation, get_conversation, list_recent
from app.store.db import Store
from app.store.errors import ImportFormatError, NotFoundError
from app.store.export import export_json, export_markdown
from app.store.import_json import import_document
from app.store.replies import start_reply
from app.store.search import search
from engines.base import GenerationStats

MODELS = [ComparedModel("small", "/models/small.gguf", "llamacpp"), ComparedModel("twin", "/models/twin", "mlx")]


def _answer(store: Store, conversation_id: int, parents: list[int], texts: list[str]) -> None:
    for position, (parent, text) in enumerate(zip(parents, texts, strict=True)):
        writer = start_reply(store, conversation_id, parent, model=MODELS[position].name)
        writer.append(text)
        writer.finish("stop", GenerationStats(prompt_tokens=9, generated_tokens=4, generation_tps=50.0, ttft_ms=30.0))
        assert writer.message_id is not None
        set_leaf(store, conversation_id, position, writer.message_id)


def _two_rounds(store: Store) -> int:
    comparison = create_comparison(store, MODELS, system_prompt="Be brief.", parameters={"seed": 7})
    _answer(store, comparison.id, add_prompt(store, comparison.id, "Name a colour"), ["Blue.", "Vermilion."])
    _answer(store, comparison.id, add_prompt(store, comparison.id, "Another one"), ["Green.", "Saffron."])
    return comparison.id


def test_columns_are_paths_and_rounds_pair_prompts_with_replies(store: Store) -> None:
    comparison_id = _two_rounds(store)
    conversation = get_conversation(store, comparison_id)
    assert conversation.kind == "comparison" and conversation.title == "Name a colour"
    assert [c.model for c in columns(store, comparison_id)] == MODELS
    first, second = rounds(store, comparison_id)
    assert first.prompt == "Name a colour" and [r.content for r in first.replies if r] == ["Blue.", "Vermilion."]
    assert second.prompt == "Another one" and [r.content for r in second.replies if r] == ["Green.", "Saffron."]
    twin = column_messages(store, columns(store, comparison_id)[1].leaf_id)
    assert [(m.role, m.content) for m in twin] == [
        ("user", "Name a colour"),
        ("assistant", "Vermilion."),
        ("user", "Another one"),
        ("assistant", "Saffron."),
    ]
    assert twin[0].id == column_messages(store, columns(store, comparison_id)[0].leaf_id)[0].id  # one shared root


def test_verdicts_per_round_and_taking_one_back(store: Store) -> None:
    comparison_id = _two_rounds(store)
    set_winner(store, comparison_id, 0, 1)
    set_winner(store, comparison_id, 1, TIE)
    assert [r.winner for r in rounds(store, comparison_id)] == [1, TIE]
    set_winner(store, comparison_id, 1, None)
    assert [r.winner for r in rounds(store, comparison_id)] == [1, None]


def test_a_comparison_is_searchable_and_listed_with_its_kind(store: Store) -> None:
    comparison_id = _two_rounds(store)
    assert [hit.conversation_id for hit in search(store, "saffron")] == [comparison_id]
    assert [(c.id, c.kind) for c in list_recent(store)] == [(comparison_id, "comparison")]


def test_export_shows_each_round_side_by_side_and_json_imports_back_as_a_comparison(store: Store) -> None:
    comparison_id = _two_rounds(store)
    set_winner(store, comparison_id, 0, 1)
    markdown = "".join(export_markdown(store, [comparison_id]))
    assert "# Comparison: Name a colour" in markdown and "## Round 2" in markdown
    assert "### twin — your pick" in markdown and "Saffron." in markdown and "50.0 tokens/s" in markdown
    document = json.loads("".join(export_json(store, [comparison_id])))
    (exported,) = document["conversations"]
    assert exported["kind"] == "comparison" and exported["comparison"]["verdicts"] == {"0": 1}
    (copy_id,) = import_document(store, document)
    assert [c.model for c in columns(store, copy_id)] == MODELS
    assert [[r.content for r in one.replies if r] for one in rounds(store, copy_id)] == [
        [r.content for r in one.replies if r] for one in rounds(store, comparison_id)
    ]
    assert [r.winner for r in rounds(store, copy_id)] == [1, None]


@pytest.mark.parametrize(
    "comparison",
    [
        {"columns": []},
        {"columns": [{"model": "a", "leaf": 99}, {"model": "b"}]},
        {"columns": [{"model": "a"}, {"model": "b"}], "verdicts": {"0": 5}},
        {"columns": [{"model": "a"}, {"model": "b"}], "verdicts": {"9" * 5000: 0}},
        {"columns": [{"model": "a"}, {"model": "b"}], "verdicts": {"²": 0}},
    ],
)
def test_a_damaged_comparison_in_an_import_is_refused_whole(store: Store, comparison: dict) -> None:
    document = json.loads("".join(export_json(store, [_two_rounds(store)])))
    document["conversations"][0]["comparison"] = comparison
    before = len(list_recent(store))
    with pytest.raises(ImportFormatError):
        import_document(store, document)
    assert len(list_recent(store)) == before


def test_a_column_continues_as_a_normal_chat_with_its_stats(store: Store) -> None:
    comparison_id = _two_rounds(store)
    chat = continue_as_chat(store, comparison_id, 1)
    assert (
        chat.kind == "chat"
        and chat.model == "twin"
        and chat.system_prompt == "Be brief."
        and chat.parameters == {"seed": 7}
    )
    from app.store.branches import load_thread

    thread = load_thread(store, chat.id)
    assert [m.content for m in thread.messages] == ["Name a colour", "Vermilion.", "Another one", "Saffron."]
    assert thread.messages[-1].stats is not None and thread.messages[-1].stats.generation_tps == 50.0
    assert len(rounds(store, comparison_id)) == 2  # the comparison is unchanged
    with pytest.raises(NotFoundError):
        continue_as_chat(store, comparison_id, 3)


def test_deleting_a_comparison_takes_its_columns_and_verdicts(store: Store) -> None:
    comparison_id = _two_rounds(store)
    set_winner(store, comparison_id, 0, 0)
    delete_conversation(store, comparison_id)
    assert store.read("SELECT count(*) FROM comparison_columns")[0][0] == 0
    assert store.read("SELECT count(*) FROM comparison_verdicts")[0][0] == 0
    with pytest.raises(NotFoundError):
        columns(store, comparison_id)


def test_a_comparison_takes_two_to_four_models(store: Store) -> None:
    with pytest.raises(ValueError):
        create_comparison(store, MODELS[:1])
    with pytest.raises(ValueError):
        create_comparison(store, MODELS * 3)
