"""Bringing a collection up to date with real folders on disk: new, changed, removed, odd and hostile files."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.documents import indexer
from app.documents.index import CollectionError, DocumentIndex
from app.documents.indexer import IndexProgress, add_files, update_collection

_WORD_TEXT = (
    "river stone paper garden window letter morning harbour lantern copper meadow signal orchard winter "
    "ledger canvas market bridge valley engine thunder silver candle forest journey marble pocket"
)
WORDS = _WORD_TEXT.split()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[DocumentIndex]:
    with DocumentIndex(tmp_path / "documents.sqlite3") as opened:
        yield opened


def _collection(index: DocumentIndex, folder: Path, name: str = "work") -> None:
    index.create_collection(name)
    index.add_folder(name, folder)


def _filler(rng: random.Random, words: int) -> str:
    sentences = []
    for _ in range(words // 10):
        sentence = " ".join(rng.choice(WORDS) for _ in range(10))
        sentences.append(sentence.capitalize() + ".")
    return " ".join(sentences)


def _sources(index: DocumentIndex, query: str, limit: int = 5) -> list[str]:
    return [os.path.basename(p.source) for p in index.search(query, limit=limit)]


def test_a_fact_in_one_of_200_documents_is_found(tmp_path: Path, index: DocumentIndex) -> None:
    rng = random.Random(20240611)
    folder = tmp_path / "docs"
    for n in range(200):
        sub = folder / f"group{n % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        fact = f"The access code for project Falcon{n} is {rng.randrange(10**5, 10**6)}."
        body = [_filler(rng, 300), fact, _filler(rng, 300)]
        (sub / f"report{n}.txt").write_text("\n\n".join(body))
    _collection(index, folder)
    report = update_collection(index, "work")
    assert (report.added, report.problems) == (200, [])
    expected = (folder / "group5" / "report131.txt").read_text().split("\n\n")[1]
    found = index.search("What is the access code for project Falcon131?", "work")
    assert any(p.source.endswith("report131.txt") and expected in p.text for p in found)


def test_changed_files_are_indexed_again_and_removed_ones_drop_out(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The kettle is in the blue cupboard.")
    (folder / "b.md").write_text("# Plans\n\nThe picnic is on Sunday.")
    (folder / "c.txt").write_text("Unchanged words about lanterns.")
    _collection(index, folder)
    assert update_collection(index, "work").added == 3
    (folder / "a.txt").write_text("The kettle is in the red drawer now.")
    os.utime(folder / "a.txt", ns=(1, 10**18))  # a different time, whatever the clock's resolution
    (folder / "b.md").unlink()
    report = update_collection(index, "work")
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 1, 1)
    assert _sources(index, "kettle drawer") == ["a.txt"]
    assert all("blue cupboard" not in p.text for p in index.search("blue cupboard"))
    assert index.search("picnic Sunday") == []
    assert index.collections()[0].documents == 2


def test_nothing_is_read_again_when_nothing_changed(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("words")
    _collection(index, folder)
    update_collection(index, "work")
    seen: list[IndexProgress] = []
    report = update_collection(index, "work", seen.append)
    assert (report.unchanged, report.added, report.changed) == (1, 0, 0)
    assert [p.current_path for p in seen] == [""]


def test_a_symlink_loop_ends_and_each_file_is_indexed_once(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "note.txt").write_text("A note about the lighthouse.")
    os.symlink(folder, folder / "inner" / "back-to-top")
    os.symlink(folder / "inner", folder / "inner-again")
    os.symlink(folder / "inner" / "note.txt", folder / "same-note.txt")
    os.symlink(tmp_path / "nowhere.txt", folder / "dangling.txt")
    _collection(index, folder)
    report = update_collection(index, "work")
    assert (report.added, report.problems) == (1, [])
    assert len(index.search("lighthouse")) == 1


def test_hidden_folders_and_installed_code_are_skipped(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    for sub in (".git", "node_modules", "__pycache__", "kept"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "readme.txt").write_text(f"walrus in {sub}")
    (folder / ".secret.txt").write_text("walrus hidden")
    (folder / "photo.png").write_bytes(b"\x89PNG walrus")
    _collection(index, folder)
    update_collection(index, "work")
    assert [p.source for p in index.search("walrus")] == [str(folder / "kept" / "readme.txt")]


def test_a_fifo_in_a_folder_is_skipped(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")  # opening it to read would block for ever
    (folder / "real.txt").write_text("A real document about otters.")
    _collection(index, folder)
    report = update_collection(index, "work")
    assert (report.added, report.problems) == (1, [])
    assert _sources(index, "otters") == ["real.txt"]


def test_an_unreadable_folder_is_a_problem_and_the_walk_goes_on(tmp_path: Path, index: DocumentIndex) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "a.txt").write_text("hidden badger")
    (folder / "open.txt").write_text("visible badger")
    (folder / "locked").chmod(0)
    try:
        _collection(index, folder)
        report = update_collection(index, "work")
    finally:
        (folder / "locked").chmod(0o700)
    assert report.added == 1
    [(path, sentence)] = report.problems
    assert path == str(folder / "locked") and "could not read the folder" in sentence
    assert index.collections()[0].problems == report.problems


def test_a_folder_that_cannot_be_listed_is_a_problem(
    tmp_path: Path, index: DocumentIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as above whoever runs it (root reads every folder): listing fails as permissions would."""
    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "a.txt").write_text("hidden badger")
    (folder / "open.txt").write_text("visible badger")
    real_scandir = os.scandir

    def refusing(path: str) -> object:
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr("app.documents.folder_walk.os.scandir", refusing)
    _collection(index, folder)
    report = update_collection(index, "work")
    assert report.added == 1
    assert report.problems == [
        (
            str(folder / "locked"),
            f"Parlour could not read the folder {folder / 'locked'} (Permission denied); check its permissions.",
        )
    ]


def test_a_file_vanishing_mid_update_is_a_problem_not_a_crash(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"Shared word zebra in {name}.")
    _collection(index, folder)

    def delete_b_when_its_turn_comes(progress: IndexProgress) -> None:
        if progress.current_path.endswith("b.txt"):
            (folder / "b.txt").unlink()

    report = update_collection(index, "work", delete_b_when_its_turn_comes)
    assert report.added == 2
    [(path, sentence)] = report.problems
    assert path == str(folder / "b.txt") and "b.txt" in sentence
    assert sorted(_sources(index, "zebra")) == ["a.txt", "c.txt"]
    assert index.collections()[0].problems == report.problems  # remembered until the next update


def test_a_bad_file_is_kept_with_its_sentence(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text" * 100)
    (folder / "good.txt").write_text("Good text about herons.")
    _collection(index, folder)
    report = update_collection(index, "work")
    assert report.added == 2
    [(path, sentence)] = index.collections()[0].problems
    assert path == str(folder / "binary.txt") and "binary" in sentence
    # Not read again until it changes.
    assert update_collection(index, "work").unchanged == 2


def test_an_extractor_bug_costs_one_file(tmp_path: Path, index: DocumentIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha heron")
    (folder / "b.txt").write_text("beta heron")
    real = indexer.extract_sections

    def buggy(path: Path, notes: list[str] | None = None) -> Iterator:
        if path.name == "a.txt":
            raise ValueError("a bug")
        return real(path, notes)

    monkeypatch.setattr(indexer, "extract_sections", buggy)
    _collection(index, folder)
    report = update_collection(index, "work")
    assert [path for path, _ in report.problems] == [str(folder / "a.txt")]
    assert "unexpected error" in report.problems[0][1]
    assert _sources(index, "heron") == ["b.txt"]


def test_stopping_keeps_what_was_done_and_the_next_update_does_the_rest(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(5):
        (folder / f"{n}.txt").write_text(f"puffin number {n}")
    _collection(index, folder)
    calls = iter(range(100))
    report = update_collection(index, "work", should_stop=lambda: next(calls) >= 2)
    assert report.stopped and report.added == 2
    report = update_collection(index, "work")
    assert (report.added, report.unchanged) == (3, 2)


def test_a_stop_asked_inside_a_long_file_is_heard_there(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "long.txt").write_text(" ".join(f"word{n}" for n in range(100_000)))  # hundreds of passages
    _collection(index, folder)
    asked: list[int] = []

    def stop_the_second_time() -> bool:
        asked.append(1)
        return len(asked) >= 2  # once before the file, then from inside it

    report = update_collection(index, "work", should_stop=stop_the_second_time)
    assert report.stopped and report.added == 0 and len(asked) == 2
    assert index.collections()[0].documents == 0  # rolled back whole, not left half-indexed
    assert update_collection(index, "work").added == 1


def test_a_missing_folder_keeps_its_documents(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "a.txt").write_text("albatross")
    _collection(index, folder)
    update_collection(index, "work")
    (folder / "a.txt").unlink()
    folder.rmdir()
    report = update_collection(index, "work")
    assert report.removed == 0
    assert "is not there" in report.problems[0][1]
    assert _sources(index, "albatross") == ["a.txt"]


def test_a_folder_inside_another_is_walked_once(tmp_path: Path, index: DocumentIndex) -> None:
    folder = tmp_path / "docs"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "a.txt").write_text("cormorant")
    _collection(index, folder)
    index.add_folder("work", folder / "inner")
    assert update_collection(index, "work").added == 1
    assert update_collection(index, "work").unchanged == 1


def test_files_added_alone_stay_until_they_are_gone(tmp_path: Path, index: DocumentIndex) -> None:
    (tmp_path / "folder").mkdir()
    single = tmp_path / "single.md"
    single.write_text("# Recipe\n\nPancakes need flour.")
    _collection(index, tmp_path / "folder")
    assert add_files(index, "work", [single]).added == 1
    assert add_files(index, "work", [single]).unchanged == 1
    assert update_collection(index, "work").removed == 0
    [found] = index.search("pancakes flour")
    assert (found.source, found.heading) == (str(single), "Recipe")
    single.unlink()
    assert update_collection(index, "work").removed == 1
    assert index.search("pancakes") == []


def test_adding_a_file_that_cannot_be_a_document_is_refused(tmp_path: Path, index: DocumentIndex) -> None:
    index.create_collection("work")
    (tmp_path / "song.mp3").write_bytes(b"ID3")
    os.mkfifo(tmp_path / "pipe.txt")
    for path, phrase in [
        (tmp_path / "nowhere.txt", "does not exist"),
        (tmp_path, "is a folder"),
        (tmp_path / "pipe.txt", "not a regular file"),
        (tmp_path / "song.mp3", "cannot read song.mp3"),
    ]:
        with pytest.raises(CollectionError, match=phrase):
            add_files(index, "work", [path])
    assert index.collections()[0].documents == 0
