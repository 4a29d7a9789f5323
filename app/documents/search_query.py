"""A person's free-text question turned into a safe FTS5 query.

The question is never passed to FTS5 as query syntax: only its words are kept (so quotes, `*`,
`NEAR`, `:`, `^` and parentheses are just text), each word is quoted, and the words are ORed, so a
passage that holds some of them is still found and BM25 ranks those holding the rarer ones first.
Common function words are dropped: they match nearly every passage, so they would cost time
(BM25 is computed for every match) while adding almost nothing to the ranking.
"""

from __future__ import annotations

import re

# The most a query keeps: a whole pasted paragraph as a question would otherwise rank every passage.
MAX_QUERY_WORDS = 32

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell please know
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"\w+")


def query_words(text: str) -> list[str]:
    """The words of `text` worth searching for, lowercased, each once, in order."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        word = word.strip("_")  # FTS5's tokenizer splits at underscores; an edge one would be an empty phrase
        if word and word not in words:
            words.append(word)
    kept = [word for word in words if word not in STOPWORDS]
    # A question of function words alone ("what is it?") still searches for them.
    return (kept or words)[:MAX_QUERY_WORDS]


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression finding passages with any word of `text`; None when there are no words."""
    words = query_words(text)
    if not words:
        return None
    # A word (\w+) never holds a double quote, so the quoting cannot be broken out of.
    return " OR ".join(f'"{word}"' for word in words)
