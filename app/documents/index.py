"""The document index: collections of folders and files, their documents' passages, and FTS5 search.

One SQLite file in the data folder (`documents.sqlite3`, private, WAL; see index_file.py), apart from
the conversation store: it is a copy of what the person's files say, rebuilt from them at will, and
it can grow far larger than the chats. A DocumentIndex is one connection, used from the thread that
opened it; another thread (the indexer in the window) opens its own, and WAL lets them share the file.

Search ranks with FTS5's BM25 and returns Passages whose score is BM25 turned positive (higher is
better). What the person types never reaches FTS5 as syntax (search_query.py). A collection may name an
embedding model: its passages then also get vectors (vectors.py), and a search given the question's
vector fuses the two rankings (index_search.py); the score is then the fused one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.documents import vectors
from app.documents.index_file import INDEX_FILE_NAME, DocumentIndexError, open_index
from app.documents.index_reads import CollectionSummary, collection_summaries, indexed_files, passages_of_document
from app.documents.index_search import fused_search, word_ranking
from app.documents.passages import DocumentError, Passage
from app.documents.search_query import fts_query
from app.store.recovery import mark_damaged
from app.store.timestamps import now_text

__all__ = [
    "CollectionError",
    "CollectionSummary",
    "DocumentIndex",
    "DocumentIndexError",
    "IndexedFile",
    "check_name",
]

log = logging.getLogger(__name__)

NAME_LIMIT = 100
# Passages written per statement: large enough to be quick, small enough that a huge file's
# passages never sit in memory all at once.
WRITE_BATCH = 256


class CollectionError(DocumentError):
    """A collection or folder the person named that cannot be used: kind is bad_name, unknown, exists or missing."""


@dataclass(frozen=True)
class IndexedFile:
    """What the index knows of a document's file, to tell whether it changed."""

    size: int
    mtime_ns: int
    added_alone: bool


def check_name(name: str) -> str:
    """`name` without surrounding spaces, or CollectionError with a sentence when it cannot name a collection."""
    stripped = name.strip()
    if not stripped:
        raise CollectionError("A collection needs a name.", "bad_name")
    if len(stripped) > NAME_LIMIT:
        raise CollectionError(f"A collection's name can be at most {NAME_LIMIT} characters long.", "bad_name")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in stripped):
        raise CollectionError("A collection's name cannot hold line breaks or other control characters.", "bad_name")
    return stripped


def absolute(path: Path | str) -> Path:
    """The path as the index keeps it: absolute, `~` expanded, links left as the person named them."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


class DocumentIndex:
    """The index file, open. `notice` is a sentence to show once (a damaged file was moved aside), or None."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection, self.notice = open_index(path)
        self._writing = False

    @classmethod
    def default(cls) -> DocumentIndex:
        """The index in Parlour's data folder."""
        from app.paths import data_dir

        return cls(data_dir() / INDEX_FILE_NAME)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transactions and failures ------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE, so two writers queue); SQLite failures become sentences."""
        if self._writing:  # nested: part of the outer transaction
            yield self.connection
            return
        self._writing = True
        try:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
                self.connection.execute("COMMIT")
            except BaseException:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise self._for_people(error) from error
        finally:
            self._writing = False

    def _read(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        try:
            return self.connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    def _for_people(self, error: sqlite3.Error) -> DocumentIndexError:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code == 13:  # SQLITE_FULL
            log.warning("document index write failed: %s", error)
            return DocumentIndexError("The disk is full: free some space and update the documents again.")
        if code in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            return DocumentIndexError("Another program is using Parlour's document index; try again in a moment.")
        if code in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB: the next open checks the file fully
            log.error("document index %s is damaged", self.path, exc_info=error)
            mark_damaged(self.path)
            return DocumentIndexError(
                "Parlour's document index is damaged; it will be set aside and started afresh the next time "
                "it is opened (add your documents again then)."
            )
        log.exception("document index %s failed", self.path, exc_info=error)
        return DocumentIndexError(f"Parlour's document index failed ({error}).")

    # --- collections ---------------------------------------------------------------------------

    def collection_id(self, name: str) -> int:
        """The collection's row id; CollectionError(kind="unknown") when there is no such collection."""
        rows = self._read("SELECT id FROM collections WHERE name = ?", (name.strip(),))
        if not rows:
            raise CollectionError(f"There is no collection called '{name}'; `parlour docs list` shows them.", "unknown")
        return int(rows[0][0])

    def has_collection(self, name: str) -> bool:
        return bool(self._read("SELECT 1 FROM collections WHERE name = ?", (name.strip(),)))

    def create_collection(self, name: str) -> None:
        name = check_name(name)
        with self.writing() as db:
            if db.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone():
                raise CollectionError(f"There is already a collection called '{name}'.", "exists")
            db.execute("INSERT INTO collections (name) VALUES (?)", (name,))

    def delete_collection(self, name: str) -> None:
        """The collection and everything indexed for it (the person's files are not touched)."""
        collection = self.collection_id(name)
        with self.writing() as db:
            db.execute("DELETE FROM collections WHERE id = ?", (collection,))
        self.optimize()  # merged segments drop the deleted passages' terms; secure_delete zeroes the freed pages

    def add_folder(self, name: str, folder: Path) -> Path:
        """Make `folder` part of the collection (indexed by the next update); returns the path as kept."""
        collection = self.collection_id(name)
        folder = absolute(folder)
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise CollectionError(f"{folder} {what}; name a folder of documents.", "missing")
        with self.writing() as db:
            db.execute(
                "INSERT OR IGNORE INTO collection_folders (collection, path) VALUES (?, ?)", (collection, str(folder))
            )
        return folder

    def remove_folder(self, name: str, folder: Path | str) -> None:
        """Take `folder` out of the collection, with its documents (unless another folder of it holds them)."""
        collection = self.collection_id(name)
        kept = str(absolute(folder))
        with self.writing() as db:
            gone = db.execute(
                "DELETE FROM collection_folders WHERE collection = ? AND path = ?", (collection, kept)
            ).rowcount
            if not gone:
                raise CollectionError(f"{kept} is not one of the folders of '{name}'.", "unknown")
            remaining = [
                row[0] for row in db.execute("SELECT path FROM collection_folders WHERE collection = ?", (collection,))
            ]
            for document_id, path in db.execute(
                "SELECT id, path FROM documents WHERE collection = ? AND added_alone = 0", (collection,)
            ).fetchall():
                if is_inside(path, kept) and not any(is_inside(path, other) for other in remaining):
                    db.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def folders(self, name: str) -> list[Path]:
        collection = self.collection_id(name)
        rows = self._read("SELECT path FROM collection_folders WHERE collection = ? ORDER BY path", (collection,))
        return [Path(row[0]) for row in rows]

    def collections(self) -> list[CollectionSummary]:
        """Every collection with its folders, counts and problems, by name."""
        try:
            return collection_summaries(self.connection)
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    # --- search --------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        collection: str | None = None,
        limit: int = 5,
        query_vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """The `limit` passages most relevant to the free-text `query`, best first ([] for no words).

        With `query_vector` (the query embedded by the collection's embedding model) and a `collection`,
        the words' ranking and the vectors' are fused; without either, words alone."""
        match = fts_query(query)
        if match is None or limit <= 0:
            return []
        collection_id = self.collection_id(collection) if collection is not None else None
        try:
            if query_vector is not None and collection_id is not None:
                return fused_search(self.connection, match, collection_id, query_vector, limit)
            # Across collections one file may be indexed twice: ask for more, keep each passage once.
            wanted = limit if collection_id is not None else limit * 3
            ranked = word_ranking(self.connection, match, collection_id, wanted)
        except sqlite3.Error as error:
            raise self._for_people(error) from error
        found: dict[tuple[str, int], Passage] = {}
        for _, passage in ranked:
            found.setdefault((passage.source, passage.ordinal), passage)
        return list(found.values())[:limit]

    def document_passages(self, path: Path | str) -> list[Passage]:
        """A document's passages in order (the most recently indexed copy, if two collections hold it)."""
        try:
            return passages_of_document(self.connection, str(absolute(path)))
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    # --- embeddings ----------------------------------------------------------------------------

    def embedding_model(self, name: str) -> str | None:
        """The collection's embedding model (a GGUF path), or None when it is searched by words alone."""
        collection = self.collection_id(name)
        return self._read("SELECT embedding_model FROM collections WHERE id = ?", (collection,))[0][0]

    def set_embedding_model(self, name: str, model: str | None) -> None:
        """Name the collection's embedding model (None: none). Another model's vectors are forgotten: vectors
        of two models cannot be compared; the next update computes the new model's."""
        collection = self.collection_id(name)
        with self.writing() as db:
            if db.execute("SELECT embedding_model FROM collections WHERE id = ?", (collection,)).fetchone()[0] == model:
                return
            db.execute("UPDATE collections SET embedding_model = ? WHERE id = ?", (model, collection))
            vectors.delete_vectors(db, collection)

    def has_vectors(self, name: str) -> bool:
        collection = self.collection_id(name)
        try:
            return vectors.has_vectors(self.connection, collection)
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    def missing_vectors(self, name: str) -> int:
        """How many of the collection's passages have no vector yet."""
        collection = self.collection_id(name)
        try:
            return vectors.missing_vectors(self.connection, collection)
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    def passages_to_embed(self, name: str, limit: int) -> list[tuple[int, str | None, str]]:
        """Up to `limit` passages without a vector: (id, heading, text)."""
        collection = self.collection_id(name)
        try:
            return vectors.passages_to_embed(self.connection, collection, limit)
        except sqlite3.Error as error:
            raise self._for_people(error) from error

    def store_vectors(self, rows: Sequence[tuple[int, str, Sequence[float]]]) -> int:
        """Keep (passage id, its text, vector) rows in one transaction; returns how many were kept."""
        with self.writing() as db:
            return vectors.store_vectors(db, rows)

    # --- what the indexer uses ----------------------------------------------------------------

    def indexed_files(self, name: str) -> dict[str, IndexedFile]:
        """path -> what the index knows of it, for every document of the collection."""
        collection = self.collection_id(name)
        return {path: IndexedFile(*known) for path, known in indexed_files(self.connection, collection).items()}

    def replace_document(
        self,
        collection: str,
        path: str,
        *,
        size: int,
        mtime_ns: int,
        passages: Iterable[Passage] = (),
        problem: str | None = None,
        notes: list[str] | None = None,
        added_alone: bool = False,
    ) -> int:
        """Index a document afresh in one transaction, its passages written in batches as they come; returns
        how many. `problem` is why it could not be read; `notes`, read once the passages are all in, are
        sentences the extraction added (a huge file only partly read). An exception from `passages` rolls
        the whole document back and propagates."""
        collection_id = self.collection_id(collection)
        with self.writing() as db:
            db.execute("DELETE FROM documents WHERE collection = ? AND path = ?", (collection_id, path))
            cursor = db.execute(
                "INSERT INTO documents (collection, path, size, mtime_ns, indexed_at, problem, added_alone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (collection_id, path, size, mtime_ns, now_text(), problem, int(added_alone)),
            )
            document_id = cursor.lastrowid
            count = _write_passages(db, document_id, passages)
            if notes:
                sentences = [problem] if problem else []
                db.execute(
                    "UPDATE documents SET problem = ? WHERE id = ?", (" ".join([*sentences, *notes]), document_id)
                )
        return count

    def remove_document(self, collection: str, path: str) -> None:
        collection_id = self.collection_id(collection)
        with self.writing() as db:
            db.execute("DELETE FROM documents WHERE collection = ? AND path = ?", (collection_id, path))

    def finish_update(self, collection: str, problems: list[tuple[str, str]], when: datetime | None = None) -> None:
        """Keep the problems of this update's walk (folders, files that never became documents) and its time."""
        collection_id = self.collection_id(collection)
        from app.store.timestamps import to_text, utc_now

        with self.writing() as db:
            db.execute("DELETE FROM walk_problems WHERE collection = ?", (collection_id,))
            db.executemany(
                "INSERT INTO walk_problems (collection, path, problem) VALUES (?, ?, ?)",
                [(collection_id, path, sentence) for path, sentence in problems],
            )
            db.execute(
                "UPDATE collections SET indexed_at = ? WHERE id = ?", (to_text(when or utc_now()), collection_id)
            )

    def optimize(self) -> None:
        """Merge the search index into one segment: quicker searches after a large update."""
        with self.writing() as db:
            db.execute("INSERT INTO passage_search (passage_search) VALUES ('optimize')")


def is_inside(path: str, folder: str) -> bool:
    """Whether `path` lies under `folder` (both absolute, as the index keeps them)."""
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _write_passages(db: sqlite3.Connection, document_id: int | None, passages: Iterable[Passage]) -> int:
    sql = "INSERT INTO passages (document, ordinal, page, heading, text) VALUES (?, ?, ?, ?, ?)"
    batch: list[tuple[int | None, int, int | None, str | None, str]] = []
    count = 0
    for passage in passages:
        batch.append((document_id, passage.ordinal, passage.page, passage.heading, passage.text))
        if len(batch) >= WRITE_BATCH:
            db.executemany(sql, batch)
            count += len(batch)
            batch.clear()
    db.executemany(sql, batch)
    return count + len(batch)
