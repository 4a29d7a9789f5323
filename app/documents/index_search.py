"""Searching the index: FTS5's BM25 ranking of the words, and its fusion with the vectors' cosine ranking.

Words alone: the passages holding the question's words, ranked by BM25 (score: BM25 turned positive).
With a query vector too (the question embedded by the collection's embedding model), the best passages
by words and the best by cosine, each list `fusion_depth(limit)` deep, are fused by reciprocal rank
(fusion.py; score: the fused one), so a passage no word matched (a paraphrase, a synonym) can come up.

Two guards against a weak embedding model (a chat model standing in for one, or text it does not know:
codes, names): the lists are kept shallow, since with deep ones mediocre passages that both lists
merely hold outrank the words' best; and the words' best passage always stays among the results. On
benchmarks/documents.py's corpus of made-up words, with the starter model's vectors no better than noise,
deep lists (50) kept the answer in the top 5 for 26% of the questions, shallow ones (20) for all of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from app.documents.fusion import reciprocal_rank_fusion
from app.documents.passages import Passage
from app.documents.vectors import cosine_ranking

# The heading column counts for less than the text: it repeats over every passage of a section.
BM25_WEIGHTS = (1.0, 0.5)
# How deep each ranking goes before fusion: a few times the passages asked for, so that a passage ranked well
# by one side and modestly by the other is seen by both, and no deeper (see above).
FUSION_DEPTH_PER_RESULT = 4
FUSION_MIN_DEPTH = 20


def fusion_depth(limit: int) -> int:
    return max(FUSION_MIN_DEPTH, FUSION_DEPTH_PER_RESULT * limit)


_COLUMNS = "p.id, d.path, p.text, p.ordinal, p.page, p.heading"


def word_ranking(db: sqlite3.Connection, match: str, collection: int | None, wanted: int) -> list[tuple[int, Passage]]:
    """(passage id, passage) for the `wanted` best BM25 matches of the FTS5 expression `match`, best first."""
    sql = (
        f"SELECT {_COLUMNS}, bm25(passage_search, ?, ?) AS rank "
        "FROM passage_search JOIN passages p ON p.id = passage_search.rowid "
        "JOIN documents d ON d.id = p.document WHERE passage_search MATCH ?"
    )
    parameters: tuple = (*BM25_WEIGHTS, match)
    if collection is not None:
        sql += " AND d.collection = ?"
        parameters += (collection,)
    rows = db.execute(sql + " ORDER BY rank LIMIT ?", (*parameters, wanted)).fetchall()
    return [
        (int(passage), Passage(path, text, ordinal, page, heading, score=-float(rank)))
        for passage, path, text, ordinal, page, heading, rank in rows
    ]


def passages_by_id(db: sqlite3.Connection, ids: Sequence[int]) -> dict[int, Passage]:
    """The passages with these ids (those still there), unscored."""
    found: dict[int, Passage] = {}
    for start in range(0, len(ids), 500):  # SQLite's variable limit, with room to spare
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM passages p JOIN documents d ON d.id = p.document WHERE p.id IN ({marks})", chunk
        )
        for passage, path, text, ordinal, page, heading in rows:
            found[int(passage)] = Passage(path, text, ordinal, page, heading)
    return found


def fused_search(
    db: sqlite3.Connection, match: str, collection: int, query_vector: Sequence[float], limit: int
) -> list[Passage]:
    """The `limit` best passages of the collection by words and meaning, fused by reciprocal rank; the words'
    best passage is always among them (last, if the fusion ranked it lower)."""
    depth = fusion_depth(limit)
    by_words = word_ranking(db, match, collection, depth)
    by_meaning = cosine_ranking(db, collection, query_vector, depth)
    fused = reciprocal_rank_fusion([[passage for passage, _ in by_words], [passage for passage, _ in by_meaning]])
    chosen = fused[:limit]
    if by_words and by_words[0][0] not in {passage for passage, _ in chosen}:
        words_best = by_words[0][0]
        chosen[-1:] = [(words_best, dict(fused)[words_best])]  # its fused score is below the others': order holds
    known = dict(by_words)
    known.update(passages_by_id(db, [passage for passage, _ in chosen if passage not in known]))
    return [_scored(known[passage], score) for passage, score in chosen if passage in known]


def _scored(passage: Passage, score: float) -> Passage:
    return Passage(passage.source, passage.text, passage.ordinal, passage.page, passage.heading, score)
