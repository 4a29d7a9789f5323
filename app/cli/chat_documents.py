"""`parlour chat --docs NAME --attach FILE "question"`: the person's documents in a one-prompt chat.

The engine sees the question with the chosen passages before it (app.documents.retrieval): a collection
with vectors is searched by meaning as well as words, its embedding model run in an engine host of its own
for the question (started only then, and closed once the passages are chosen). Stdout
stays the reply alone, for piping, and the sources the passages came from follow on stderr (or, with
--json, in the last JSON line as "citations").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.terminal_text import note, printable

if TYPE_CHECKING:
    from app.documents.retrieval import DocumentContext

# The documents' share of the context window, and the most they take however large the window is.
CONTEXT_SHARE = 4
MAX_BUDGET_TOKENS = 2048


def add_document_options(chat: argparse.ArgumentParser) -> None:
    chat.add_argument(
        "--docs",
        action="append",
        default=[],
        metavar="NAME",
        help="answer from this collection's passages (`parlour docs`; repeatable)",
    )
    chat.add_argument(
        "--attach", action="append", default=[], metavar="FILE", help="a document to answer from (repeatable)"
    )


def uses_documents(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "docs", None) or getattr(args, "attach", None))


def documents_problem(args: argparse.Namespace) -> str | None:
    """A sentence about the first attachment or collection that cannot be used, checked before any engine
    starts; None when all can."""
    for name in args.attach:
        path = Path(name).expanduser()
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            return f"The attachment {path} {what}."
    if args.docs:
        from app.documents.index import DocumentIndex

        with DocumentIndex.default() as index:
            if index.notice:
                note(index.notice)
            for name in args.docs:
                if not index.has_collection(name):
                    return f"There is no collection called '{name}'; `parlour docs list` shows them."
    return None


def budget_for(context_length: int | None) -> int:
    """Tokens the documents may take: a quarter of the context window, at most MAX_BUDGET_TOKENS."""
    if not context_length:
        return MAX_BUDGET_TOKENS
    return max(256, min(MAX_BUDGET_TOKENS, context_length // CONTEXT_SHARE))


def with_question_documents(
    args: argparse.Namespace, messages: list[dict[str, Any]], context_length: int | None
) -> tuple[list[dict[str, Any]], DocumentContext | None]:
    """The messages the engine sees (the documents before the last question) and what they cite."""
    if not uses_documents(args):
        return messages, None
    from app.documents.collection_search import question_embedder
    from app.documents.retrieval import context_for, with_documents

    embed = question_embedder(args.docs)
    try:
        context = context_for(
            args.prompt,
            attachments=[Path(name).expanduser() for name in args.attach],
            collections=args.docs,
            budget_tokens=budget_for(context_length),
            embed=embed,
        )
    finally:
        if embed is not None:
            embed.close()
    for problem in context.problems:
        note(problem)
    if not context.citations:
        note("Nothing in the documents matched the question; it was asked without them.")
    return with_documents(messages, context), context


def citations_record(context: DocumentContext | None) -> dict[str, Any]:
    """For the last --json line: the citations, when documents were asked for."""
    return {} if context is None else {"citations": [citation.to_dict() for citation in context.citations]}


def print_sources(context: DocumentContext | None) -> None:
    """`Sources:` and a line per [n] (its place and the passage's start), on stderr after the reply."""
    if context is None or not context.citations:
        return
    lines = ["Sources:"]
    for citation in context.citations:
        lines.append(f"  [{citation.number}] {citation.place}: {' '.join(citation.snippet.split())}")
    print("\n".join(printable(line) for line in lines), file=sys.stderr)
