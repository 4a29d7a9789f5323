"""Checking the documents fields of an imported export: a message's attachments, a reply's citations and a
chat's collections. Each check returns the value as the store keeps it, or raises ValueError with the end of a
sentence that import_json.py puts after "message 3 " or "conversation 2 " ("has citations that …").
"""

from __future__ import annotations

import json
from typing import Any

from app.store.citations import Citation
from app.store.terminal_text import has_surrogates

MOST = 256  # entries of each list: far more than any prompt holds, few enough to check quickly
_TEXT_LIMIT = 4096  # characters of a path, a heading, a snippet or a collection's name


def attachments_json(value: Any) -> str | None:
    """A user message's attached files: a list of paths, kept as JSON (None for none)."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or len(value) > MOST or not all(_is_text(path) for path in value):
        raise ValueError(f"has attachments that are not a list of at most {MOST} file paths")
    return json.dumps(value, ensure_ascii=False)


def citations_json(value: Any) -> str | None:
    """A reply's citations: a list of Citation objects (number, source, page, heading, snippet, collection)."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or len(value) > MOST:
        raise ValueError(f"has citations that are not a list of at most {MOST}")
    return json.dumps([_citation(entry).to_dict() for entry in value], ensure_ascii=False)


def collection_names(value: Any) -> list[str]:
    """A chat's document collections, by name."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MOST or not all(_is_text(name) for name in value):
        raise ValueError(f"has collections that are not a list of at most {MOST} names")
    return sorted({name.strip() for name in value if name.strip()})


def _citation(entry: Any) -> Citation:
    if not isinstance(entry, dict):
        raise ValueError("has a citation that is not an object")
    number, page = entry.get("number"), entry.get("page")
    if not _is_count(number):
        raise ValueError("has a citation without a number")
    if not _is_text(entry.get("source")):
        raise ValueError("has a citation without a source")
    if page is not None and not _is_count(page):
        raise ValueError("has a citation with an invalid page")
    for name in ("heading", "collection", "snippet"):
        if entry.get(name) is not None and not _is_text(entry[name], empty=True):
            raise ValueError(f"has a citation with an invalid {name}")
    return Citation.from_dict({**entry, "snippet": entry.get("snippet") or ""})


def _is_text(value: Any, empty: bool = False) -> bool:
    return (
        isinstance(value, str)
        and (empty or bool(value.strip()))
        and len(value) <= _TEXT_LIMIT
        and "\x00" not in value
        and not has_surrogates(value)
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**31
