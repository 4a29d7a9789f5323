"""The document index on a real SQLite file: collections, search, damage, privacy."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.documents.index import CollectionError, DocumentIndex, DocumentIndexError, check_name
from app.documents.passages import Passage
from app.documents.search_query import fts_query, query_words


@pytest.fixture
def index(tmp_path: Path) -> Iterator[DocumentIndex]:
    with DocumentIndex(tmp_path / "documents.sqlite3") as opened:
        yield opened


def _add(index: DocumentIndex, collection: str, path: str, *texts: str) -> None:
    passages = [Passage(path, text, ordinal) for ordinal, text in enumerate(texts)]
    index.replace_document(collection, path, size=len("".join(texts)), mtime_ns=1, passages=passages)


def test_a_fact_is_found_among_many_passages(index: DocumentIndex) -> None:
    index.create_collection("work")
    for n in range(300):
        _add(index, "work", f"/docs/note{n}.txt", f"Meeting {n} notes: the team talked about budgets and plans.")
    _add(index, "work", "/docs/secret.txt", "Nothing here.", "The access code for project Zephyr is 48213.")
    found = index.search("What is the access code for project Zephyr?", "work")
    assert found[0].source == "/docs/secret.txt"
    assert found[0].ordinal == 1 and "48213" in found[0].text
    assert all(passage.score > 0 for passage in found)
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "code*",
        "NEAR(access code)",
        "(access OR) AND NOT",
        "access: ^code -- ' ; DROP TABLE passages;",
        "col:text {a b}",
        "* * *",
        "_",
        "ünïcödé café",
    ],
)
def test_queries_with_fts5_syntax_do_not_fail(index: DocumentIndex, query: str) -> None:
    index.create_collection("work")
    _add(index, "work", "/docs/a.txt", "The access code is 7. A café in the NEAR future.")
    index.search(query)  # no exception, whatever it finds
    assert index.search("access")[0].source == "/docs/a.txt"


def test_the_query_keeps_only_words() -> None:
    assert fts_query('NEAR("a" b*) OR c:d') == '"near" OR "b" OR "c" OR "d"'
    assert fts_query("  ?!  ") is None
    assert query_words("What is the access code?") == ["access", "code"]
    assert query_words("what is it") == ["what", "is", "it"]  # nothing but function words: keep them


def test_an_empty_query_finds_nothing(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/docs/a.txt", "Some text.")
    assert index.search("") == []
    assert index.search("   ...  ") == []
    assert index.search("text", limit=0) == []


def test_search_keeps_to_the_collection_asked_for(index: DocumentIndex) -> None:
    index.create_collection("work")
    index.create_collection("home")
    _add(index, "work", "/w/plan.txt", "The garden plan for spring.")
    _add(index, "home", "/h/plan.txt", "The garden plan for autumn.")
    assert [p.source for p in index.search("garden", "home")] == ["/h/plan.txt"]
    assert {p.source for p in index.search("garden")} == {"/w/plan.txt", "/h/plan.txt"}
    with pytest.raises(CollectionError, match="no collection called 'nowhere'") as caught:
        index.search("garden", "nowhere")
    assert caught.value.kind == "unknown"


def test_stemming_finds_other_forms_of_a_word(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/w/a.txt", "The servers were indexed overnight.")
    assert index.search("indexing server")[0].source == "/w/a.txt"


def test_collections_are_listed_with_counts_and_problems(index: DocumentIndex, tmp_path: Path) -> None:
    index.create_collection("work")
    folder = index.add_folder("work", tmp_path)
    _add(index, "work", str(tmp_path / "a.txt"), "one", "two")
    index.replace_document("work", str(tmp_path / "b.pdf"), size=3, mtime_ns=1, problem="b.pdf is encrypted.")
    index.finish_update("work", [(str(tmp_path / "locked"), "Parlour could not read the folder.")])
    [summary] = index.collections()
    assert summary.name == "work" and summary.folders == [str(folder)]
    assert (summary.documents, summary.passages) == (2, 2)
    assert sorted(summary.problems) == [
        (str(tmp_path / "b.pdf"), "b.pdf is encrypted."),
        (str(tmp_path / "locked"), "Parlour could not read the folder."),
    ]
    assert summary.indexed_at is not None


def test_names_are_checked(index: DocumentIndex) -> None:
    assert check_name("  Work notes ") == "Work notes"
    for bad in ["", "   ", "x" * 101, "two\nlines", "bell\x07", "c\x851"]:
        with pytest.raises(CollectionError) as caught:
            index.create_collection(bad)
        assert caught.value.kind == "bad_name" and str(caught.value).endswith(".")
    index.create_collection("x" * 100)
    with pytest.raises(CollectionError, match="already a collection"):
        index.create_collection("x" * 100)


def test_a_folder_must_exist(index: DocumentIndex, tmp_path: Path) -> None:
    index.create_collection("work")
    with pytest.raises(CollectionError, match="does not exist"):
        index.add_folder("work", tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CollectionError, match="is not a folder"):
        index.add_folder("work", tmp_path / "file.txt")
    with pytest.raises(CollectionError, match="no collection"):
        index.add_folder("other", tmp_path)


def test_removing_a_folder_drops_its_documents_only(index: DocumentIndex, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    index.create_collection("work")
    index.add_folder("work", tmp_path / "a")
    index.add_folder("work", tmp_path / "b")
    _add(index, "work", str(tmp_path / "a" / "x.txt"), "alpha words")
    _add(index, "work", str(tmp_path / "b" / "y.txt"), "alpha words")
    index.remove_folder("work", tmp_path / "a")
    assert [p.source for p in index.search("alpha")] == [str(tmp_path / "b" / "y.txt")]
    assert index.folders("work") == [tmp_path / "b"]
    with pytest.raises(CollectionError, match="not one of the folders"):
        index.remove_folder("work", tmp_path / "a")


def test_deleting_a_collection_empties_its_search(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/w/a.txt", "alpha beta")
    index.delete_collection("work")
    assert index.search("alpha") == []
    assert index.collections() == []
    count = index.connection.execute("SELECT count(*) FROM passage_search WHERE passage_search MATCH 'alpha'")
    assert count.fetchone()[0] == 0


def test_replacing_a_document_replaces_its_passages(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/w/a.txt", "old words here", "more old words")
    _add(index, "work", "/w/a.txt", "new text")
    assert index.search("old") == []
    assert [p.text for p in index.document_passages("/w/a.txt")] == ["new text"]


def test_a_failure_while_passages_stream_keeps_the_old_document(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/w/a.txt", "kept text")

    def failing() -> Iterator[Passage]:
        for n in range(1000):  # more than one batch is written before the failure
            yield Passage("/w/a.txt", f"new passage {n}", n)
        raise RuntimeError("extraction broke")

    with pytest.raises(RuntimeError):
        index.replace_document("work", "/w/a.txt", size=9, mtime_ns=2, passages=failing())
    assert [p.text for p in index.document_passages("/w/a.txt")] == ["kept text"]
    assert index.search("passage") == []


def test_notes_from_extraction_become_the_documents_problem(index: DocumentIndex) -> None:
    index.create_collection("work")
    notes: list[str] = []

    def passages() -> Iterator[Passage]:
        yield Passage("/w/big.txt", "the start of a huge file", 0)
        notes.append("big.txt is huge; only its first 50 MB were read.")

    index.replace_document("work", "/w/big.txt", size=1, mtime_ns=1, passages=passages(), notes=notes)
    assert index.collections()[0].problems == [("/w/big.txt", "big.txt is huge; only its first 50 MB were read.")]
    assert index.search("huge")[0].source == "/w/big.txt"


def test_document_passages_are_in_order(index: DocumentIndex) -> None:
    index.create_collection("work")
    _add(index, "work", "/w/a.txt", *[f"part {n}" for n in range(600)])
    assert [p.ordinal for p in index.document_passages("/w/a.txt")] == list(range(600))
    assert index.document_passages("/w/none.txt") == []


def test_the_file_is_private_and_uses_a_write_ahead_log(tmp_path: Path) -> None:
    os.umask(0o022)  # as a process that never asked for the data folder would have it
    path = tmp_path / "documents.sqlite3"
    with DocumentIndex(path) as index:
        index.create_collection("work")
        assert index.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for name in (path, path.with_name(path.name + "-wal")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name


def test_the_default_index_lives_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLOUR_HOME", str(tmp_path / "home"))
    with DocumentIndex.default() as index:
        assert index.path == tmp_path / "home" / "documents.sqlite3"


@pytest.mark.parametrize("damage", ["random", "truncated", "zeroed_middle"])
def test_a_damaged_index_is_moved_aside_and_rebuilt(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "documents.sqlite3"
    with DocumentIndex(path) as index:
        index.create_collection("work")
        _add(index, "work", "/w/a.txt", *[f"passage number {n} " * 20 for n in range(400)])
        index.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    if damage == "random":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_bytes(data[:4096] + bytes(len(data) - 8192) + data[-4096:])
    with DocumentIndex(path) as index:
        if damage == "zeroed_middle" and index.notice is None:
            # The cheap checks at opening may miss damage in the middle: SQLite finds it on use, the
            # search says so in a sentence, and the next opening checks the whole file.
            with pytest.raises(DocumentIndexError, match="damaged"):
                for word in ("passage", "number", "0", "399"):
                    index.search(word)
                    index.document_passages("/w/a.txt")
            index.close()
            index = DocumentIndex(path)
        assert index.notice is not None and "moved to" in index.notice
        assert index.collections() == []
        index.create_collection("fresh")
        _add(index, "fresh", "/w/b.txt", "works again")
        assert index.search("works")[0].source == "/w/b.txt"
        index.close()
    assert list(tmp_path.glob("documents.sqlite3.damaged-*"))


def test_an_index_from_a_newer_parlour_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(DocumentIndexError, match="newer version of Parlour"):
        DocumentIndex(path)
    assert path.read_bytes() == before
