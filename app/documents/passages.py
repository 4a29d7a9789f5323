"""The records every part of the documents feature shares (Citation lives in the store, which keeps it with
the reply it was given to)."""

from __future__ import annotations

from dataclasses import dataclass

# Kept with the messages that cite it (the store is the floor below); re-exported for the documents code.
from app.store.citations import Citation as Citation


class DocumentError(Exception):
    """A file that cannot be read as a document. str(error) is one plain sentence naming the file and what to
    do, e.g. "report.pdf is encrypted; Parlour cannot read it without its password." `kind` says which case
    (for tests and status lines): unreadable, encrypted, damaged, no_text, binary, unsupported, vanished,
    too_large."""

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Section:
    """A run of a document's text from one place: one PDF page, or what lies under one heading."""

    text: str
    page: int | None = None  # 1-based page number (PDF)
    heading: str | None = None  # the nearest heading above the text (Markdown, DOCX, HTML), as written


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to put in a prompt, with where it came from."""

    source: str  # the file's absolute path
    text: str
    ordinal: int = 0  # its place among the document's passages, from 0
    page: int | None = None
    heading: str | None = None
    score: float = 0.0  # relevance to a query, higher is better (0 where not ranked)
