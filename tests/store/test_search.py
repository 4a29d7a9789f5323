"""Full-text search: words in prompts, replies and titles, ranked, with highlighted snippets."""

from __future__ import annotations

import pytest

from app.store import search as search_module
from app.store.conversations import create_conversation, delete_conversation, rename_conversation
from app.store.db import Store
from app.store.messages import add_user_message
from app.store.replies import start_reply
from app.store.search import HIGHLIGHT_END, HIGHLIGHT_START, fts_query, search

from .helpers import chat


def test_finds_words_in_prompts_and_in_replies(store: Store) -> None:
    chat(store, ("How do I prune tomatoes?", "Pinch out the side shoots weekly."))
    prompt_hits = search(store, "prune")
    reply_hits = search(store, "shoots")
    assert [(hit.role, hit.message_id is not None) for hit in prompt_hits] == [("user", True)]
    assert [hit.role for hit in reply_hits] == ["assistant"]
    assert reply_hits[0].conversation_title == "How do I prune tomatoes?"


def test_titles_the_person_chose_are_searched_too(store: Store) -> None:
    conversation_id = chat(store, ("hello", "hi"))
    rename_conversation(store, conversation_id, "Holiday itinerary")
    hits = search(store, "itinerary")
    assert [(hit.conversation_id, hit.message_id) for hit in hits] == [(conversation_id, None)]
    assert hits[0].snippet == f"Holiday {HIGHLIGHT_START}itinerary{HIGHLIGHT_END}"
    assert search(store, "itinerary")[0].snippet_parts() == [("Holiday ", False), ("itinerary", True)]
    # An automatic title repeats the first message; only the message is listed.
    rome = chat(store, ("Itinerary for Rome", "Day one: the Forum."))
    found = sorted((hit.conversation_id, hit.message_id is None) for hit in search(store, "itinerary"))
    assert found == [(conversation_id, True), (rome, False)]


def test_snippets_highlight_the_matched_words(store: Store) -> None:
    long_reply = "Filler words here. " * 30 + "The secret ingredient is smoked paprika. " + "More filler. " * 30
    chat(store, ("What makes the stew good?", long_reply))
    hit = search(store, "paprika")[0]
    assert f"{HIGHLIGHT_START}paprika{HIGHLIGHT_END}" in hit.snippet
    assert len(hit.snippet) < len(long_reply) / 3  # a window around the match, not the whole reply
    assert "[paprika]" in hit.plain_snippet()
    assert ("paprika", True) in hit.snippet_parts()


def test_results_are_ranked_by_relevance(store: Store) -> None:
    chat(store, ("garlic once", "The recipe needs salt, pepper, onions, carrots and a little garlic."))
    strong = chat(store, ("garlic garlic garlic", "Garlic, garlic and more garlic."))
    hits = search(store, "garlic")
    assert hits[0].conversation_id == strong
    assert [hit.score for hit in hits] == sorted(hit.score for hit in hits)


def test_every_word_must_occur_and_stems_match(store: Store) -> None:
    chat(store, ("installing python packages", "Use pip to install them."))
    chat(store, ("installing a dishwasher", "Turn off the water first."))
    assert len(search(store, "install python")) == 1
    assert {hit.role for hit in search(store, "install")} == {"user", "assistant"}
    assert search(store, "python dishwasher") == []


@pytest.mark.parametrize(
    "typed", ['C++ "unclosed', "NEAR(a b", "what's AND OR NOT", "*", "col:value", "^start", "-", "   ", '""']
)
def test_anything_a_person_types_is_safe(store: Store, typed: str) -> None:
    chat(store, ("what's new in C++ near the start", "value col"))
    search(store, typed)  # no exception: the text is quoted, never parsed as query syntax


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('say "hi" now') == '"say" """hi""" "now"'
    assert fts_query(" ... !! ") is None


def test_a_streaming_reply_is_found_once_it_ends(store: Store) -> None:
    conversation = create_conversation(store)
    user = add_user_message(store, conversation.id, "Tell me about otters")
    writer = start_reply(store, conversation.id, user.id, interval_s=0)
    writer.append("Otters hold hands while sleeping.")
    assert search(store, "sleeping") == []
    writer.finish()
    assert [hit.message_id for hit in search(store, "sleeping")] == [writer.message_id]


def test_deleted_conversations_leave_the_index(store: Store) -> None:
    conversation_id = chat(store, ("ephemeral words", "vanishing reply"))
    delete_conversation(store, conversation_id)
    assert search(store, "ephemeral") == [] and search(store, "vanishing") == []


def test_pages_follow_each_other(store: Store) -> None:
    for number in range(7):
        chat(store, (f"lantern question {number}", f"lantern answer {number}"))
    first = search(store, "lantern", limit=5)
    second = search(store, "lantern", limit=5, offset=5)
    rest = search(store, "lantern", limit=50, offset=10)
    seen = [hit.message_id for hit in first + second + rest]
    assert len(seen) == 14 and len(set(seen)) == 14


def test_a_word_found_everywhere_is_ranked_among_its_newest_uses(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "RANKED_MATCHES_LIMIT", 4)
    old_strong = chat(store, ("kiwi kiwi kiwi kiwi", "kiwi kiwi kiwi"))
    newer = [chat(store, (f"one kiwi among many other words {n}", "no fruit here")) for n in range(4)]
    hits = search(store, "kiwi")
    assert {hit.conversation_id for hit in hits} == set(newer)
    assert old_strong not in {hit.conversation_id for hit in hits}
    monkeypatch.setattr(search_module, "RANKED_MATCHES_LIMIT", 5000)
    assert search(store, "kiwi")[0].conversation_id == old_strong
