"""`parlour docs`: collections of the person's documents, indexed on this computer for chats to cite.

    parlour docs add PATH... --collection NAME    # a folder: kept in the collection and indexed now;
                                                  # a file: indexed alone (the collection is made if new)
    parlour docs list [--json]                    # collections: folders, documents, passages, problems
    parlour docs search QUERY [--collection NAME] [--limit N] [--json]
    parlour docs update [NAME]                    # re-read the folders: new, changed and removed files
    parlour docs rm NAME [--folder PATH]          # a collection, or one folder of it (files stay on disk)
    parlour docs embed NAME [--model REF | --no-embeddings]   # search by meaning too (docs_embeddings.py)

`parlour chat --docs NAME "question"` then answers from the collection's passages (see chat.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.docs_embeddings import (
    EmbeddingProgress,
    add_embed_parser,
    cmd_embed,
    embedding_model_path,
    search_passages,
)
from app.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, exit_code_for
from app.cli.terminal_text import fail, json_text, note, printable, say

if TYPE_CHECKING:
    from app.documents.index import DocumentIndex
    from app.documents.indexer import IndexProgress, IndexReport


def add_arguments(docs: argparse.ArgumentParser, command: str) -> None:
    actions = docs.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add folders or files to a collection and index them now")
    add.add_argument("path", metavar="PATH", nargs="+", help="a folder (kept and re-read by update) or a file")
    add.add_argument("--collection", required=True, metavar="NAME", help="the collection (made if new)")
    add.add_argument(
        "--embedding-model", metavar="REF", help="a GGUF embedding model (name or path): search by meaning too"
    )
    listed = actions.add_parser("list", help="the collections and what they hold")
    listed.add_argument("--json", action="store_true")
    search = actions.add_parser("search", help="the passages that best answer a question")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--collection", metavar="NAME", help="only this collection (default: all)")
    search.add_argument("--limit", type=int, default=5, help="how many passages (default 5)")
    search.add_argument("--json", action="store_true", help="a JSON list of passages")
    update = actions.add_parser("update", help="re-read a collection's folders (default: every collection)")
    update.add_argument("name", metavar="NAME", nargs="?")
    remove = actions.add_parser("rm", help="forget a collection, or one folder of it (the files stay)")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--folder", metavar="PATH", help="forget only this folder of the collection")
    add_embed_parser(actions)
    docs.set_defaults(func=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    from app.documents.index import CollectionError, DocumentIndex, DocumentIndexError
    from engines.base import EngineError

    try:
        with DocumentIndex.default() as index:
            if index.notice:
                note(index.notice)
            return _ACTIONS[args.action](index, args)
    except CollectionError as error:
        return fail(str(error), EXIT_BAD_INPUT)
    except DocumentIndexError as error:
        return fail(str(error), EXIT_FAILED)
    except EngineError as error:  # an embedding model that cannot be used
        return fail(str(error), exit_code_for(error))


def _add(index: DocumentIndex, args: argparse.Namespace) -> int:
    from app.documents.index import CollectionError, absolute, check_name
    from app.documents.indexer import add_files, update_collection

    name = check_name(args.collection)
    paths = [absolute(path) for path in args.path]
    for path in paths:  # every path checked before anything changes
        if not path.exists():
            return fail(f"{path} does not exist; name a folder or a document file.", EXIT_BAD_INPUT)
    model = embedding_model_path(args.embedding_model) if args.embedding_model else None
    is_new = not index.has_collection(name)
    if is_new:
        index.create_collection(name)
    if model is not None:
        index.set_embedding_model(name, model)
    folders = [path for path in paths if path.is_dir()]
    files = [path for path in paths if not path.is_dir()]
    if files:
        try:
            report = add_files(index, name, files, _Progress())
        except CollectionError:
            if is_new:  # a file it cannot read leaves no empty collection behind
                index.delete_collection(name)
            raise
        _print_report(name, report)
    if folders:
        for folder in folders:
            index.add_folder(name, folder)
        _print_report(name, update_collection(index, name, _Progress()))
    return EXIT_OK


def _list(index: DocumentIndex, args: argparse.Namespace) -> int:
    summaries = index.collections()
    if args.json:
        print(json_text([_summary_record(summary) for summary in summaries]))
        return EXIT_OK
    if not summaries:
        say("No collections yet: `parlour docs add FOLDER --collection NAME` makes one.")
    for summary in summaries:
        problems = f", {_count(len(summary.problems), 'problem')}" if summary.problems else ""
        counts = f"{_count(summary.documents, 'document')}, {_count(summary.passages, 'passage')}"
        say(f"{summary.name}  {counts}{problems}")
        for folder in summary.folders:
            say(f"  {folder}")
        if summary.embedding_model:
            vectors = f"{summary.vectors:,} of {_count(summary.passages, 'passage')} have vectors"
            say(f"  embeddings: {os.path.basename(summary.embedding_model)} ({vectors})")
    return EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _summary_record(summary: Any) -> dict[str, Any]:
    return {
        "name": summary.name,
        "folders": summary.folders,
        "documents": summary.documents,
        "passages": summary.passages,
        "problems": [{"path": path, "problem": sentence} for path, sentence in summary.problems],
        "indexed_at": summary.indexed_at.isoformat() if summary.indexed_at else None,
        "embedding_model": summary.embedding_model,
        "vectors": summary.vectors,
    }


def _search(index: DocumentIndex, args: argparse.Namespace) -> int:
    passages = search_passages(index, args.query, args.collection, args.limit)
    if args.json:
        records = [
            {
                "source": p.source,
                "page": p.page,
                "heading": p.heading,
                "ordinal": p.ordinal,
                "score": round(p.score, 4),
                "text": p.text,
            }
            for p in passages
        ]
        print(json_text(records))
        return EXIT_OK
    if not passages:
        say("Nothing in the documents matches that.")
    for number, passage in enumerate(passages, 1):
        place = f", page {passage.page}" if passage.page is not None else ""
        place += f", {passage.heading}" if passage.heading else ""
        say(f"[{number}] {passage.source}{place}  (score {passage.score:.2f})")
        say("    " + passage.text.strip().replace("\n", "\n    "), multiline=True)
    return EXIT_OK


def _update(index: DocumentIndex, args: argparse.Namespace) -> int:
    from app.documents.indexer import update_collection

    names = [args.name] if args.name else [summary.name for summary in index.collections()]
    if args.name:
        index.collection_id(args.name)  # an unknown name is the person's to fix: one sentence
    for name in names:
        _print_report(name, update_collection(index, name, _Progress()))
    return EXIT_OK


def _remove(index: DocumentIndex, args: argparse.Namespace) -> int:
    if args.folder:
        index.remove_folder(args.name, Path(args.folder))
        say(f"Removed {args.folder} from {args.name} (its files are untouched).")
    else:
        index.delete_collection(args.name)
        say(f"Removed the collection {args.name} (its files are untouched).")
    return EXIT_OK


_ACTIONS = {"add": _add, "list": _list, "search": _search, "update": _update, "rm": _remove, "embed": cmd_embed}


def _print_report(name: str, report: IndexReport) -> None:
    """What an update did, on stderr (stdout stays for what was asked for), with each problem on a line."""
    print(
        printable(
            f"{name}: {report.added} added, {report.changed} changed, {report.removed} removed, "
            f"{report.unchanged} unchanged, {len(report.problems)} problems"
            + (f", {report.embedded:,} passages embedded" if report.embedded else "")
        ),
        file=sys.stderr,
    )
    for path, sentence in report.problems:
        print(printable(f"  {path}: {sentence}"), file=sys.stderr)


class _Progress:
    """`Indexing 12 of 340: report.pdf`: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._next_tenth = 0
        self._drawn = False
        self._embedding = EmbeddingProgress()

    def __call__(self, progress: IndexProgress) -> None:
        if progress.total == 0:
            return
        if progress.stage == "embedding":
            self._embedding(progress.done, progress.total)
            return
        line = printable(
            f"Indexing {min(progress.done + 1, progress.total)} of {progress.total}: "
            f"{os.path.basename(progress.current_path)}"
            if progress.current_path
            else f"Indexed {progress.total} of {progress.total}."
        )
        if self.tty:
            sys.stderr.write("\r" + line[:100].ljust(100) + ("\n" if not progress.current_path else ""))
        elif progress.done * 10 >= self._next_tenth * progress.total:
            sys.stderr.write(line + "\n")
            self._next_tenth = progress.done * 10 // progress.total + 1
        sys.stderr.flush()
