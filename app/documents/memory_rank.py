"""Ranking one attachment's passages for a question, without the index: a throwaway FTS5 table in memory.

The same tokenizer, query and BM25 as the index (index_file.TOKENIZER, search_query.fts_query), so an
attached file is searched exactly as a collection would be. When the question matches too few
passages (a "summarise this" has no words to look for) the document's first passages fill the rest:
a file the person attached is worth reading from its beginning.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from app.documents import index_file
from app.documents.passages import Passage
from app.documents.search_query import fts_query


def rank_passages(question: str, passages: Iterable[Passage], limit: int) -> list[Passage]:
    """The `limit` passages most relevant to `question`, best first, scored like DocumentIndex.search."""
    if limit <= 0:
        return []
    connection = sqlite3.connect(":memory:")
    try:
        tokenizer = index_file.TOKENIZER
        connection.execute(f"CREATE VIRTUAL TABLE ranked USING fts5 (text, heading, tokenize = '{tokenizer}')")
        kept: list[Passage] = []
        for passage in passages:
            kept.append(passage)
            connection.execute(
                "INSERT INTO ranked (rowid, text, heading) VALUES (?, ?, ?)", (len(kept), passage.text, passage.heading)
            )
        match = fts_query(question)
        rows = []
        if match is not None:
            rows = connection.execute(
                "SELECT rowid, bm25(ranked, 1.0, 0.5) AS rank FROM ranked WHERE ranked MATCH ? ORDER BY rank LIMIT ?",
                (match, limit),
            ).fetchall()
    finally:
        connection.close()
    chosen = {rowid - 1: -float(rank) for rowid, rank in rows}
    best = [_scored(kept[i], score) for i, score in chosen.items()]
    # Too few matches: the beginning of the document, in order.
    best += [p for i, p in enumerate(kept) if i not in chosen][: limit - len(best)]
    return best


def _scored(passage: Passage, score: float) -> Passage:
    return Passage(passage.source, passage.text, passage.ordinal, passage.page, passage.heading, score)
