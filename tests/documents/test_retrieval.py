"""What a question's prompt gets from attachments and collections: whole files, ranked passages, citations."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.documents.index import DocumentIndex
from app.documents.indexer import update_collection
from app.documents.retrieval import HEADER, DocumentContext, approximate_tokens, context_for, with_documents

_WORD_TEXT = "meadow copper lantern harbour orchard ledger thunder candle marble valley signal winter"
WORDS = _WORD_TEXT.split()


def _filler(rng: random.Random, sentences: int) -> str:
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(sentences))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[DocumentIndex]:
    with DocumentIndex(tmp_path / "documents.sqlite3") as opened:
        yield opened


def test_an_attachment_that_fits_goes_in_whole(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    text = "Shopping list.\n\nEggs, flour and milk.\nThe shop closes at six."
    note.write_text(text)
    context = context_for("When does the shop close?", attachments=[note])
    assert context.text == f"{HEADER}\n\n[1] note.txt\n{text}"
    [citation] = context.citations
    assert (citation.number, citation.source, citation.page, citation.collection) == (1, str(note), None, None)
    assert citation.snippet.startswith("Shopping list. Eggs, flour")
    assert context.problems == []


def test_a_markdown_attachment_keeps_its_headings(tmp_path: Path) -> None:
    note = tmp_path / "plan.md"
    note.write_text("# Garden\n\nPlant beans in May.\n\n## Tools\n\nA spade and a rake.\n")
    context = context_for("What to plant?", attachments=[note])
    assert "Garden\n\nPlant beans in May.\n\nTools\n\nA spade and a rake." in context.text


def test_a_large_attachment_is_cut_into_the_most_relevant_passages(tmp_path: Path) -> None:
    rng = random.Random(5)
    big = tmp_path / "handbook.txt"
    paragraphs = [_filler(rng, 8) for _ in range(200)]
    paragraphs[137] = "The spare key to the boathouse is under the third flowerpot."
    big.write_text("\n\n".join(paragraphs))
    context = context_for("Where is the spare key to the boathouse?", attachments=[big], budget_tokens=600, limit=3)
    assert 1 <= len(context.citations) <= 3
    assert all(c.source == str(big) and c.collection is None for c in context.citations)
    assert "under the third flowerpot" in context.text.split("\n\n[2]")[0]  # the best passage is [1]
    assert context.text.count("[1] handbook.txt\n") == 1
    assert approximate_tokens(context.text) <= 600
    assert len(context.text) < len(big.read_text()) / 10


def test_a_question_with_no_matching_words_gets_the_start_of_the_attachment(tmp_path: Path) -> None:
    rng = random.Random(9)
    big = tmp_path / "story.txt"
    big.write_text("Once upon a time. " + "\n\n".join(_filler(rng, 8) for _ in range(100)))
    context = context_for("Summarise this.", attachments=[big], budget_tokens=400, limit=2)
    assert context.citations and "Once upon a time." in context.text


def test_collections_add_their_best_passages_with_their_name(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    rng = random.Random(3)
    for n in range(30):
        (folder / f"memo{n}.txt").write_text(_filler(rng, 20))
    (folder / "wifi.txt").write_text("The guest wifi password is heron-42.")
    index.create_collection("office")
    index.add_folder("office", folder)
    update_collection(index, "office")
    context = context_for("What is the guest wifi password?", collections=["office"], index=index)
    assert context.citations[0].source == str(folder / "wifi.txt")
    assert context.citations[0].collection == "office"
    assert context.text.startswith(f"{HEADER}\n\n[1] wifi.txt\nThe guest wifi password is heron-42.")


def test_attachments_and_collections_take_turns(tmp_path: Path, index: DocumentIndex) -> None:
    rng = random.Random(4)
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(10):
        (folder / f"tide{n}.txt").write_text(f"Tide table {n}: high tide at noon. " + _filler(rng, 5))
    index.create_collection("sea")
    index.add_folder("sea", folder)
    update_collection(index, "sea")
    attached = tmp_path / "log.txt"
    attached.write_text("\n\n".join(f"Tide log {n}: high tide was late. " + _filler(rng, 8) for n in range(60)))
    context = context_for(
        "When is high tide?", attachments=[attached], collections=["sea"], index=index, budget_tokens=700, limit=4
    )
    kinds = [c.collection for c in context.citations]
    assert kinds[:2] == [None, "sea"] and len(kinds) == 4
    assert [c.number for c in context.citations] == [1, 2, 3, 4]


def test_bad_attachments_and_unknown_collections_are_sentences(tmp_path: Path, index: DocumentIndex) -> None:
    binary = tmp_path / "data.txt"
    binary.write_bytes(b"\x00\x01" * 100)
    good = tmp_path / "good.txt"
    good.write_text("Still answered from this.")
    context = context_for(
        "anything",
        attachments=[tmp_path / "missing.txt", binary, good],
        collections=["nowhere"],
        index=index,
    )
    assert len(context.problems) == 3
    assert "missing.txt" in context.problems[0] and "data.txt" in context.problems[1]
    assert "no collection called 'nowhere'" in context.problems[2]
    assert [c.source for c in context.citations] == [str(good)]


def test_the_token_count_given_is_the_one_used(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("one two three four five six seven eight")

    def words(text: str) -> int:
        return len(text.split())

    assert context_for("x", attachments=[note], budget_tokens=30, count_tokens=words).citations
    # Too small for the header and the file: the file is cut, and a passage of it still does not fit.
    assert context_for("x", attachments=[note], budget_tokens=12, count_tokens=words).citations == []


def test_the_documents_go_before_the_last_question_only_in_a_copy() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "Where is the key?"},
    ]
    original = [dict(m) for m in messages]
    context = DocumentContext(text=f"{HEADER}\n\n[1] keys.txt\nUnder the mat.")
    seen = with_documents(messages, context)
    assert messages == original
    assert seen[:3] == original[:3]
    assert seen[3] == {"role": "user", "content": f"{HEADER}\n\n[1] keys.txt\nUnder the mat.\n\nWhere is the key?"}
    assert with_documents(messages, DocumentContext()) == original
    parts = [{"role": "user", "content": [{"type": "text", "text": "Where?"}]}]
    assert with_documents(parts, context)[0]["content"][0] == {"type": "text", "text": context.text}


def test_a_file_attached_and_in_a_chosen_collection_is_given_once(tmp_path: Path) -> None:
    from app.documents.index import DocumentIndex
    from app.documents.indexer import update_collection
    from app.documents.retrieval import context_for

    folder = tmp_path / "docs"
    folder.mkdir()
    budget = folder / "budget.md"
    budget.write_text("# Budget\n\nThe travel budget is 40,000 euros this year.\n")
    (folder / "other.md").write_text("# Other\n\nThe travel plans are not settled.\n")
    with DocumentIndex(tmp_path / "index.sqlite3") as index:
        index.create_collection("work")
        index.add_folder("work", folder)
        update_collection(index, "work")
        context = context_for("What is the travel budget?", attachments=[budget], collections=["work"], index=index)
    sources = [citation.source for citation in context.citations]
    assert sources.count(str(budget)) == 1, sources
    assert str(folder / "other.md") in sources  # the collection's other files still come
