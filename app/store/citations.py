"""What a reply was given from the person's documents, kept with the reply (messages.citations)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any


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
        name = os.path.basename(self.source)
        if self.page is not None:
            return f"{name}, page {self.page}"
        return f"{name}, {self.heading}" if self.heading else name
