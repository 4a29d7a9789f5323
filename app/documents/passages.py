"""The records every part of the documents feature shares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


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


@dataclass(frozen=True)
class Citation:
    """What a reply was given: a passage's source and place, and a snippet of it; kept with the message."""

    number: int  # as the prompt labelled it: [1], [2], …
    source: str
    page: int | None = None
    heading: str | None = None
    snippet: str = ""  # the start of the passage, a line or two
    collection: str | None = None  # the collection it came from; None for an attachment

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def place(self) -> str:
        """E.g. "report.pdf, page 3" or "notes.md, Budget"."""
        import os

        name = os.path.basename(self.source)
        if self.page is not None:
            return f"{name}, page {self.page}"
        return f"{name}, {self.heading}" if self.heading else name
