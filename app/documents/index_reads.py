"""Reading the document index: collection summaries, what is known of each file, a document's passages."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from app.documents.passages import Passage
from app.documents.vectors import vector_count
from app.store.timestamps import from_text


@dataclass(frozen=True)
class CollectionSummary:
    """A collection as `parlour docs list` and the window show it."""

    name: str
    folders: list[str] = field(default_factory=list)
    documents: int = 0  # documents indexed, those with a problem included
    passages: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, sentence) from the last update
    indexed_at: datetime | None = None  # when its folders were last brought up to date
    embedding_model: str | None = None  # the GGUF its passages' vectors come from; None: words alone
    vectors: int = 0  # passages with a vector (all of them, once an update has finished)


def collection_summaries(db: sqlite3.Connection) -> list[CollectionSummary]:
    summaries = []
    rows = db.execute("SELECT id, name, indexed_at, embedding_model FROM collections ORDER BY name").fetchall()
    for collection, name, indexed_at, embedding_model in rows:
        folders = [
            row[0]
            for row in db.execute(
                "SELECT path FROM collection_folders WHERE collection = ? ORDER BY path", (collection,)
            )
        ]
        documents, passages = db.execute(
            "SELECT count(*), coalesce(sum((SELECT count(*) FROM passages p WHERE p.document = d.id)), 0) "
            "FROM documents d WHERE d.collection = ?",
            (collection,),
        ).fetchone()
        problems = [
            (path, problem)
            for path, problem in db.execute(
                "SELECT path, problem FROM walk_problems WHERE collection = ? UNION ALL "
                "SELECT path, problem FROM documents WHERE collection = ? AND problem IS NOT NULL ORDER BY path",
                (collection, collection),
            )
        ]
        summaries.append(
            CollectionSummary(
                name=name,
                folders=folders,
                documents=documents,
                passages=passages,
                problems=problems,
                indexed_at=from_text(indexed_at) if indexed_at else None,
                embedding_model=embedding_model,
                vectors=vector_count(db, collection),
            )
        )
    return summaries


def indexed_files(db: sqlite3.Connection, collection: int) -> dict[str, tuple[int, int, bool]]:
    """path -> (size, mtime_ns, added_alone) for each document of the collection."""
    rows = db.execute(
        "SELECT path, size, mtime_ns, added_alone FROM documents WHERE collection = ?", (collection,)
    ).fetchall()
    return {path: (size, mtime_ns, bool(alone)) for path, size, mtime_ns, alone in rows}


def passages_of_document(db: sqlite3.Connection, path: str) -> list[Passage]:
    """The passages of the most recently indexed document at `path`, in order."""
    row = db.execute(
        "SELECT id FROM documents WHERE path = ? ORDER BY indexed_at DESC, id DESC LIMIT 1", (path,)
    ).fetchone()
    if row is None:
        return []
    rows = db.execute(
        "SELECT ordinal, page, heading, text FROM passages WHERE document = ? ORDER BY ordinal", (row[0],)
    )
    return [Passage(path, text, ordinal, page, heading) for ordinal, page, heading, text in rows]
