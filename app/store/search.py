"""Full-text search over message text and conversation titles (SQLite FTS5).

Ranking is FTS5's bm25, which FTS5 can only compute for every match before
sorting: about 2 microseconds a match, so a word in a third of a million
messages would take most of a second. We therefore rank the newest
`RANKED_MATCHES_LIMIT` matches. A query with fewer matches (nearly every real
one) is ranked exactly; a word found everywhere is ranked among its most
recent uses, which in a chat history is what a person is most likely after.
Snippets are made in a second step, for the page being shown only: snippet()
costs far more than ranking.

What the person types is never passed to FTS5 as query syntax: each word is
quoted, so "C++" or "what's" cannot raise a syntax error, and all words must
occur (in any order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.store.db import Store

# Highlight markers: control characters that never occur in typed or generated text, so a view
# can escape the text for HTML first and then turn these into tags.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
_SNIPPET_TOKENS = 16
# A title that matches is worth more than one message that does.
_TITLE_WEIGHT = 2.0
RANKED_MATCHES_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int | None  # None when the title matched
    role: str | None
    snippet: str  # with HIGHLIGHT_START / HIGHLIGHT_END around the matched words
    score: float  # lower is better, as bm25 gives it

    def snippet_parts(self) -> list[tuple[str, bool]]:
        """The snippet as (text, highlighted) pieces, for views that style the matches."""
        parts = []
        for piece in re.split(f"({HIGHLIGHT_START}.*?{HIGHLIGHT_END})", self.snippet):
            if piece.startswith(HIGHLIGHT_START) and piece.endswith(HIGHLIGHT_END):
                parts.append((piece[1:-1], True))
            elif piece:
                parts.append((piece, False))
        return parts

    def plain_snippet(self, start: str = "[", end: str = "]") -> str:
        return self.snippet.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_END, end)


def fts_query(text: str) -> str | None:
    """An FTS5 query that finds messages holding every word of `text`; None if there are none."""
    words = [word for word in re.split(r"\s+", text.strip()) if word]
    # Keep only words with at least one letter or digit: FTS5 would drop the rest anyway, and
    # a quoted string of punctuation alone is an empty phrase it refuses.
    words = [word for word in words if any(char.isalnum() for char in word)]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search(store: Store, text: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
    """The best matches for `text` in titles and messages, best first, one page at a time."""
    query = fts_query(text)
    if query is None:
        return []
    wanted = limit + offset
    ranked = [(score * _TITLE_WEIGHT, "title", rowid) for rowid, score in _newest_matches(store, "title_search", query)]
    ranked += [(score, "message", rowid) for rowid, score in _newest_matches(store, "message_search", query)]
    ranked.sort()
    return [_hit(store, query, kind, rowid, score) for score, kind, rowid in ranked[offset:wanted]]


def _newest_matches(store: Store, table: str, query: str) -> list[tuple[int, float]]:
    """(rowid, bm25) of the newest matches; newest first, because FTS5 can stop early in that order.

    Only titles the person chose count: an automatic title repeats the first message, which
    is found on its own, and would show every such hit twice.
    """
    if table == "title_search":
        sql = (
            "SELECT t.rowid, t.rank FROM title_search t JOIN conversations c ON c.id = t.rowid "
            "WHERE title_search MATCH ? AND c.title_is_custom = 1 ORDER BY t.rowid DESC LIMIT ?"
        )
    else:
        sql = "SELECT rowid, rank FROM message_search WHERE message_search MATCH ? ORDER BY rowid DESC LIMIT ?"
    return [(row[0], row[1]) for row in store.read(sql, (query, RANKED_MATCHES_LIMIT))]


def _hit(store: Store, query: str, kind: str, rowid: int, score: float) -> SearchHit:
    if kind == "title":
        row = store.read(
            "SELECT highlight(title_search, 0, ?, ?) FROM title_search WHERE title_search MATCH ? AND rowid = ?",
            (HIGHLIGHT_START, HIGHLIGHT_END, query, rowid),
        )[0]
        title = store.read("SELECT title FROM conversations WHERE id = ?", (rowid,))[0][0]
        return SearchHit(rowid, title, None, None, row[0], score)
    snippet = store.read(
        "SELECT snippet(message_search, 0, ?, ?, '…', ?) FROM message_search "
        "WHERE message_search MATCH ? AND rowid = ?",
        (HIGHLIGHT_START, HIGHLIGHT_END, _SNIPPET_TOKENS, query, rowid),
    )[0][0]
    row = store.read(
        "SELECT m.conversation_id, m.role, c.title FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
        (rowid,),
    )[0]
    return SearchHit(row[0], row[2], rowid, row[1], snippet, score)
