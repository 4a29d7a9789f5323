"""Passage vectors in the index: stored as float32 little-endian bytes, compared by cosine in chunks.

The vectors come from the collection's embedding model (app.documents.embedding), normalized to length 1
by the engine, so a dot product is the cosine. Ranking reads a collection's vectors a chunk at a time and
keeps only the best so far: memory stays bounded by the chunk, however large the collection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

# Rows read per step while ranking: 2,048 vectors of 4,096 floats are 32 MB, the most held at once.
READ_CHUNK = 2048
_VECTOR_DTYPE = "<f4"

_OF_COLLECTION = (
    "FROM passage_vectors v JOIN passages p ON p.id = v.passage JOIN documents d ON d.id = p.document "
    "WHERE d.collection = ?"
)


def vector_bytes(vector: Sequence[float]) -> bytes:
    """A vector as the index stores it: float32, little-endian, on every machine alike."""
    import numpy as np

    return np.asarray(vector, dtype=_VECTOR_DTYPE).tobytes()


def vector_from_bytes(blob: bytes) -> list[float]:
    import numpy as np

    return np.frombuffer(blob, dtype=_VECTOR_DTYPE).astype(float).tolist()


def passages_to_embed(db: sqlite3.Connection, collection: int, limit: int) -> list[tuple[int, str | None, str]]:
    """Up to `limit` of the collection's passages that have no vector yet: (id, heading, text), oldest first."""
    rows = db.execute(
        "SELECT p.id, p.heading, p.text FROM passages p JOIN documents d ON d.id = p.document "
        "WHERE d.collection = ? AND NOT EXISTS (SELECT 1 FROM passage_vectors v WHERE v.passage = p.id) "
        "ORDER BY p.id LIMIT ?",
        (collection, limit),
    ).fetchall()
    return [(int(passage), heading, text) for passage, heading, text in rows]


def missing_vectors(db: sqlite3.Connection, collection: int) -> int:
    """How many of the collection's passages have no vector."""
    row = db.execute(
        "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.document "
        "WHERE d.collection = ? AND NOT EXISTS (SELECT 1 FROM passage_vectors v WHERE v.passage = p.id)",
        (collection,),
    ).fetchone()
    return int(row[0])


def has_vectors(db: sqlite3.Connection, collection: int) -> bool:
    return db.execute(f"SELECT 1 {_OF_COLLECTION} LIMIT 1", (collection,)).fetchone() is not None


def vector_count(db: sqlite3.Connection, collection: int) -> int:
    return int(db.execute(f"SELECT count(*) {_OF_COLLECTION}", (collection,)).fetchone()[0])


def store_vectors(db: sqlite3.Connection, rows: Sequence[tuple[int, str, Sequence[float]]]) -> int:
    """Keep each (passage id, its text, vector); returns how many were kept. A passage changed or removed
    since it was read (another update ran meanwhile, and SQLite may reuse its id) gets no vector."""
    before = db.total_changes
    db.executemany(
        "INSERT OR REPLACE INTO passage_vectors (passage, vector) "
        "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM passages WHERE id = ? AND text = ?)",
        [(passage, vector_bytes(vector), passage, text) for passage, text, vector in rows],
    )
    return db.total_changes - before


def delete_vectors(db: sqlite3.Connection, collection: int) -> None:
    """Forget the collection's vectors (its embedding model changed, or it has none now)."""
    db.execute(
        "DELETE FROM passage_vectors WHERE passage IN (SELECT p.id FROM passages p JOIN documents d "
        "ON d.id = p.document WHERE d.collection = ?)",
        (collection,),
    )


def cosine_ranking(
    db: sqlite3.Connection, collection: int, query: Sequence[float], wanted: int
) -> list[tuple[int, float]]:
    """The `wanted` passages of the collection whose vectors are nearest the (normalized) query: (id, cosine),
    best first. Vectors of another width than the query's (from another model) are never compared."""
    import numpy as np

    target = np.asarray(query, dtype=np.float32)
    if target.ndim != 1 or not target.size or wanted <= 0:
        return []
    width = target.size * 4
    best_ids: Any = np.empty(0, dtype=np.int64)
    best_scores: Any = np.empty(0, dtype=np.float32)
    cursor = db.execute(f"SELECT v.passage, v.vector {_OF_COLLECTION}", (collection,))
    while chunk := cursor.fetchmany(READ_CHUNK):
        kept = [(passage, blob) for passage, blob in chunk if len(blob) == width]
        if not kept:
            continue
        ids = np.fromiter((passage for passage, _ in kept), dtype=np.int64, count=len(kept))
        matrix = np.frombuffer(b"".join(blob for _, blob in kept), dtype=_VECTOR_DTYPE).reshape(len(kept), -1)
        best_ids = np.concatenate([best_ids, ids])
        best_scores = np.concatenate([best_scores, matrix @ target])
        if best_scores.size > wanted:
            top = np.argpartition(-best_scores, wanted - 1)[:wanted]
            best_ids, best_scores = best_ids[top], best_scores[top]
    order = np.lexsort((best_ids, -best_scores))  # best first; equal scores by passage id, so runs agree
    return [(int(best_ids[i]), float(best_scores[i])) for i in order]
