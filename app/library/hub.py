"""Searching the Hugging Face Hub for models Parlour can run.

The Hub's model listing (`/api/models`, what `HfApi.list_models` asks) with the library tag
as filter ("gguf" or "mlx"), a search text, an author and a sort. Paging asks for one more
page's worth each time: one request per page, through the public API only. Every call
blocks: the UI runs it on a worker thread.

The request goes through huggingface_hub's own client, headers and errors, but not through
`list_models`: that retries a failed connection five times with a backoff (23 s in all) and
has no timeout, so an unreachable Hub left a person looking at "Searching…" for half a minute,
and a Hub that accepts the connection but never answers, for ever. A person is waiting here:
one try, a few seconds at most (hub_connection.interactive_timeout), then the offline sentence;
typing again is the retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.library.errors import LibraryError, explain
from app.library.hub_connection import (
    api_headers,
    http_session,
    hub_endpoint,
    huggingface_hub,
    interactive_timeout,
    raise_for_status,
)

# Our names for the orders, and the Hub's.
SORTS = {"downloads": "downloads", "likes": "likes", "trending": "trendingScore", "updated": "lastModified"}
FORMATS = ("gguf", "mlx")
PAGE_SIZE = 20


def default_formats(apple_silicon: bool | None = None) -> tuple[str, ...]:
    """MLX first then GGUF on Apple Silicon; GGUF alone elsewhere unless the user asks for MLX."""
    if apple_silicon is None:
        from engines.hardware import is_apple_silicon

        apple_silicon = is_apple_silicon()
    return ("mlx", "gguf") if apple_silicon else ("gguf",)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    formats: tuple[str, ...] = ("gguf",)
    sort: str = "downloads"  # a key of SORTS
    author: str | None = None
    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise LibraryError(f"Sort by one of: {', '.join(SORTS)}.")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise LibraryError("Choose the format gguf or mlx.")


@dataclass(frozen=True)
class SearchResult:
    repo_id: str
    format: str  # the filter that found it: "gguf" or "mlx"
    downloads: int = 0
    likes: int = 0
    updated: datetime | None = None
    tags: tuple[str, ...] = ()

    @property
    def publisher(self) -> str:
        return self.repo_id.split("/")[0]


@dataclass
class SearchPage:
    results: list[SearchResult]
    more: bool  # whether another page may exist


@dataclass
class HubSearch:
    """One query, read a page at a time; results of each format follow the order of `query.formats`."""

    query: SearchQuery
    token: str | None = None
    pages_read: int = 0
    _seen: set[str] = field(default_factory=set)

    def next_page(self) -> SearchPage:
        want = self.query.page_size * (self.pages_read + 1)
        skip = self.query.page_size * self.pages_read
        results: list[SearchResult] = []
        more = False
        for fmt in self.query.formats:
            found = _list(self.query, fmt, want, self.token)
            more = more or len(found) == want
            results.extend(found[skip:])
        self.pages_read += 1
        fresh = [r for r in results if r.repo_id not in self._seen]
        self._seen.update(r.repo_id for r in fresh)
        return SearchPage(fresh, more)


def search_models(query: SearchQuery, token: str | None = None) -> SearchPage:
    """The first page of results (a convenience for the CLI)."""
    return HubSearch(query, token).next_page()


def _list(query: SearchQuery, fmt: str, limit: int, token: str | None) -> list[SearchResult]:
    params: dict[str, Any] = {"filter": fmt, "sort": SORTS[query.sort], "limit": limit}
    if query.text:
        params["search"] = query.text
    if query.author:
        params["author"] = query.author
    try:
        response = http_session().get(
            f"{hub_endpoint()}/api/models", params=params, headers=api_headers(token), timeout=interactive_timeout()
        )
        raise_for_status(response)
        items = response.json()
        model_info = huggingface_hub().ModelInfo
        models = [model_info(**{"siblings": None, **item}) for item in items[:limit]]
    except Exception as exc:
        raise explain(exc, with_token=bool(token)) from None
    return [
        SearchResult(
            repo_id=m.id,
            format=fmt,
            downloads=int(m.downloads or 0),
            likes=int(m.likes or 0),
            updated=m.last_modified or m.created_at,
            tags=tuple(m.tags or ()),
        )
        for m in models
    ]
