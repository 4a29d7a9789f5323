"""The store's command-line commands: `parlour export`, `parlour import`, `parlour conversations`.

app/cli.py registers them with `add_store_commands(subparsers)`. Each command
returns an exit status: 0 on success, 2 when what the person asked for is
wrong (an unknown ID, a malformed file, a folder that does not exist), 1 when
the store cannot do it now (newer version, disk full, busy). Errors are one
sentence on stderr; tracebacks go to the log.

These commands do not take the app's instance lock (instance.py): they work
beside a running Parlour, which WAL and the busy timeout make safe.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import sqlite3
import sys
from pathlib import Path

from app.store.conversations import conversation_ids, get_conversation, list_recent
from app.store.db import Store, open_store
from app.store.errors import ImportFormatError, NotFoundError, StoreError
from app.store.export import export_json, export_markdown
from app.store.files import write_atomically
from app.store.import_json import import_file
from app.store.search import search

log = logging.getLogger(__name__)

OK = 0
FAILED = 1
BAD_INPUT = 2


def add_store_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `export`, `import` and `conversations` on an argparse subparsers object."""
    export = subparsers.add_parser(
        "export",
        help="export conversations as Markdown or JSON",
        description="Export one conversation, or all of them, as Markdown (to read) or JSON (to keep "
        "everything: branches, statistics, parameters; `parlour import` reads it back).",
    )
    which = export.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="export every conversation")
    which.add_argument("id", nargs="?", help="the conversation to export (see `parlour conversations`)")
    export.add_argument(
        "--format",
        choices=("md", "json"),
        help="md or json (default: from the output's extension, else json)",
    )
    export.add_argument("-o", "--output", required=True, help="the file to write, or - for standard output")
    export.set_defaults(func=cmd_export)

    import_ = subparsers.add_parser(
        "import",
        help="import conversations from a JSON export",
        description="Add the conversations in a JSON export to the store, as new conversations.",
    )
    import_.add_argument("path", help="a JSON file written by `parlour export --format json`")
    import_.set_defaults(func=cmd_import)

    conversations = subparsers.add_parser(
        "conversations",
        help="list or search conversations",
        description="List conversations, most recent first, or search their messages and titles.",
    )
    conversations.add_argument("--search", metavar="TEXT", help="show the best matches for TEXT")
    conversations.add_argument("--limit", type=int, default=None, help="show at most this many")
    conversations.set_defaults(func=cmd_conversations)


def cmd_export(args: argparse.Namespace) -> int:
    if args.all == bool(args.id):
        return _fail("Give either a conversation ID or --all, not both or neither.", BAD_INPUT)
    output = str(args.output)
    fmt = args.format or ("md" if output.lower().endswith((".md", ".markdown")) else "json")
    try:
        with _opened() as store:
            if args.all:
                ids = conversation_ids(store)
            else:
                ids = [_conversation_id(args.id)]
                get_conversation(store, ids[0])
            chunks = (export_markdown if fmt == "md" else export_json)(store, ids)
            with contextlib.closing(chunks):
                if output == "-":
                    for chunk in chunks:
                        sys.stdout.write(chunk)
                    sys.stdout.flush()
                else:
                    write_atomically(Path(output), chunks)
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    except OSError as error:
        return _fail_writing(output, error)
    if output != "-":
        print(f"Exported {_count(len(ids), 'conversation')} to {output}.")
    return OK


def cmd_import(args: argparse.Namespace) -> int:
    try:
        with _opened() as store:
            new_ids = import_file(store, Path(args.path))
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    print(f"Imported {_count(len(new_ids), 'conversation')}.")
    return OK


def cmd_conversations(args: argparse.Namespace) -> int:
    limit = getattr(args, "limit", None)
    if limit is not None and limit < 1:
        return _fail("The limit must be a positive number.", BAD_INPUT)
    try:
        with _opened() as store:
            if args.search:
                hits = search(store, args.search, limit=limit or 20)
                if not hits:
                    print(f"No conversation mentions “{args.search}”.", file=sys.stderr)
                for hit in hits:
                    where = "title" if hit.message_id is None else f"message {hit.message_id}"
                    snippet = " ".join(hit.plain_snippet().split())
                    print(f"{hit.conversation_id}\t{hit.conversation_title}\t{where}\t{snippet}")
            else:
                for conversation in list_recent(store, limit=limit or sys.maxsize):
                    pin = "pinned\t" if conversation.pinned else "\t"
                    updated = conversation.updated_at.strftime("%Y-%m-%d %H:%M")
                    print(f"{conversation.id}\t{updated}\t{pin}{conversation.title or 'Untitled'}")
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    except BrokenPipeError:
        # `parlour conversations | head` closed the pipe early; that is not a failure.
        sys.stderr.close()
    return OK


@contextlib.contextmanager
def _opened():
    """The store, with a notice about a moved-aside damaged file on stderr, and SQLite failures
    turned into one sentence (traceback to the log)."""
    try:
        store: Store = open_store()
    except sqlite3.Error as error:
        log.exception("could not open the conversation store")
        raise StoreError(f"Parlour could not open its conversation store: {error}.") from error
    try:
        if store.notice:
            print(store.notice, file=sys.stderr)
        yield store
    except sqlite3.Error as error:
        log.exception("conversation store command failed")
        raise StoreError(f"Parlour's conversation store failed: {error}.") from error
    finally:
        store.close()


def _conversation_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise NotFoundError(
            f"“{text}” is not a conversation ID; `parlour conversations` lists them."
        ) from None
    return value


def _status_for(error: StoreError) -> int:
    return BAD_INPUT if isinstance(error, NotFoundError | ImportFormatError) else FAILED


def _fail_writing(output: str, error: OSError) -> int:
    if error.errno == errno.ENOSPC:
        return _fail("The disk is full: free some space and export again.", FAILED)
    if isinstance(error, FileNotFoundError | NotADirectoryError | IsADirectoryError | PermissionError):
        return _fail(f"Parlour could not write {output}: {error.strerror.lower()}.", BAD_INPUT)
    log.exception("export to %s failed", output)
    return _fail(f"Parlour could not write {output}: {error.strerror or error}.", FAILED)


def _fail(message: str, status: int) -> int:
    print(message, file=sys.stderr)
    return status


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
