"""What goes into a chat's prompt for a question: the person's documents, as numbered passages to cite.

Attached files come first, the person chose them: one whose whole text fits what is left of the budget
goes in whole (one citation, no page); a larger one is cut into passages and those most relevant to
the question are chosen. Collections add the passages their index ranks best: by words, and by meaning
too when `embed` is given and a collection has vectors from its model (collection_search.py). All of them share one
budget of tokens and at most `limit` passages (whole attachments aside), taken in turns from each
source so that one attachment or collection cannot crowd out the others.

The block is put before the question in the last user message of what the engine sees
(`with_documents`); the stored conversation keeps the question as the person wrote it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from app.documents.chunking import passage_snippet, passages_of
from app.documents.collection_search import search_collections
from app.documents.embedding import Embed
from app.documents.extract import extract_sections
from app.documents.index import DocumentIndex, DocumentIndexError
from app.documents.memory_rank import rank_passages
from app.documents.passages import Citation, DocumentError, Passage, Section

HEADER = "Passages from the person's documents (cite them as [n]):"


def approximate_tokens(text: str) -> int:
    """About four characters a token: close enough for English and cheap; callers with a tokenizer pass theirs."""
    return len(text) // 4 + 1


@dataclass
class DocumentContext:
    """The block to put before the question, what each [n] in it refers to, and sentences for the person
    about the attachments or collections that could not be used."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Block:
    """The numbered passages chosen so far, within the budget."""

    def __init__(self, budget_tokens: int, count_tokens: Callable[[str], int]) -> None:
        self.count_tokens = count_tokens
        self.left = budget_tokens - count_tokens(HEADER)
        self.entries: list[str] = []
        self.citations: list[Citation] = []

    def add(self, passage: Passage, collection: str | None) -> bool:
        """Add the passage if it fits what is left of the budget; whether it did."""
        number = len(self.citations) + 1
        citation = Citation(
            number, passage.source, passage.page, passage.heading, passage_snippet(passage.text), collection
        )
        entry = f"[{number}] {citation.place}\n{passage.text.strip()}"
        cost = self.count_tokens("\n\n" + entry)
        if cost > self.left:
            return False
        self.left -= cost
        self.entries.append(entry)
        self.citations.append(citation)
        return True

    def context(self, problems: list[str]) -> DocumentContext:
        text = "\n\n".join([HEADER, *self.entries]) if self.entries else ""
        return DocumentContext(text, self.citations, problems)


def context_for(
    question: str,
    *,
    attachments: Sequence[Path] = (),
    collections: Sequence[str] = (),
    index: DocumentIndex | None = None,
    budget_tokens: int = 2048,
    count_tokens: Callable[[str], int] = approximate_tokens,
    limit: int = 5,
    embed: Embed | None = None,
) -> DocumentContext:
    """The documents' context for `question`. A bad attachment, an unknown collection or a failing index
    becomes a sentence in `problems`, never an exception: the question can still be asked without them.
    `index` defaults to the data folder's (opened only when `collections` are named). `embed` turns texts
    into vectors with the collections' embedding model (app.documents.embedding.ModelEmbedder): with it,
    a collection that has vectors is searched by meaning as well as words; without it, by words alone."""
    block = _Block(budget_tokens, count_tokens)
    problems: list[str] = []
    sources: list[list[tuple[Passage, str | None]]] = []
    for path in attachments:
        ranked = _attachment(question, Path(path), block, limit, problems)
        if ranked:
            sources.append([(passage, None) for passage in ranked])
    if collections:
        found = _collections_passages(question, collections, index, limit, problems, embed)
        # A file attached to the question and also in a collection is given once: as the attachment.
        attached = {os.path.realpath(path) for path in attachments}
        sources += [[c for c in source if os.path.realpath(c[0].source) not in attached] for source in found]
    chosen = 0
    # In turns: the best of each source, then the second best of each, ...
    for row in zip_longest(*sources):
        for candidate in row:
            if chosen < limit and candidate is not None and block.add(*candidate):
                chosen += 1
    return block.context(problems)


def _attachment(question: str, path: Path, block: _Block, limit: int, problems: list[str]) -> list[Passage]:
    """Put the attachment in whole if it fits (returns []), else its passages ranked for the question."""
    source = os.path.abspath(path)
    notes: list[str] = []
    try:
        sections = list(extract_sections(path, notes))
    except DocumentError as error:
        problems.append(str(error))
        return []
    except OSError as error:
        problems.append(f"Parlour could not read {path.name} ({error.strerror or error}).")
        return []
    problems.extend(notes)  # a huge file only partly read: the person should know
    whole = _whole_text(sections)
    if not whole:
        problems.append(f"{path.name} has no text Parlour can read.")
        return []
    if block.add(Passage(source, whole), None):
        return []
    return rank_passages(question, passages_of(sections, source), limit)


def _whole_text(sections: list[Section]) -> str:
    """The document's text, its headings kept as lines of their own (the model sees its structure)."""
    parts, heading = [], None
    for section in sections:
        if section.heading and section.heading != heading:
            parts.append(section.heading.strip())
        heading = section.heading
        if section.text.strip():
            parts.append(section.text.strip())
    return "\n\n".join(parts) if any(section.text.strip() for section in sections) else ""


def _collections_passages(
    question: str,
    collections: Sequence[str],
    index: DocumentIndex | None,
    limit: int,
    problems: list[str],
    embed: Embed | None = None,
) -> list[list[tuple[Passage, str | None]]]:
    """Each collection's best passages for the question, as one source each."""
    opened = None
    try:
        if index is None:
            index = opened = DocumentIndex.default()
        # A collection deleted meanwhile is a sentence in `problems`, and no passages.
        ranked = search_collections(index, question, collections, limit, embed, problems)
        pairs = zip(collections, ranked, strict=True)
        return [[(passage, name) for passage in found] for name, found in pairs if found]
    except DocumentIndexError as error:
        problems.append(str(error))
        return []
    finally:
        if opened is not None:
            opened.close()


def with_documents(messages: list[dict[str, Any]], context: DocumentContext) -> list[dict[str, Any]]:
    """A copy of `messages` whose last user message has the documents' block before the question.

    Only what the engine sees changes: the messages given are left as they were.
    """
    result = copy.deepcopy(messages)
    if not context.text:
        return result
    for message in reversed(result):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):  # parts, as the OpenAI API sends them: the block as a first text part
            message["content"] = [{"type": "text", "text": context.text}, *content]
        else:
            message["content"] = f"{context.text}\n\n{content or ''}"
        break
    return result
