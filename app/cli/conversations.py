"""`parlour export`, `parlour import` and `parlour conversations`: the stored chats in the terminal.

Each command returns an exit status (exit_codes): 2 when what the person asked for is
wrong (an unknown ID, a malformed file, a folder that does not exist), 1 when the store
cannot do it now (newer version, disk full, busy). Errors are one sentence on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, exit_code_for
from app.cli.store_access import opened_store
from app.cli.terminal_text import fail, note, say

if TYPE_CHECKING:
    from app.store.db import Store

log = logging.getLogger(__name__)
_EVERY_ROW = 2**63 - 1  # SQLite's largest integer, as a LIMIT: no limit
# Where the person named a file that cannot be written: their input to change, not our failure.
_BAD_OUTPUT_ERRNOS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EROFS,
}


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    {"export": _add_export_arguments, "import": _add_import_arguments, "conversations": _add_listing_arguments}[
        command
    ](parser)


def _add_export_arguments(export: argparse.ArgumentParser) -> None:
    export.description = (
        "Export one conversation, or all of them, as Markdown (to read) or JSON (to keep "
        "everything: branches, statistics, parameters; `parlour import` reads it back)."
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


def _add_import_arguments(import_: argparse.ArgumentParser) -> None:
    import_.description = "Add the conversations in a JSON export to the store, as new conversations."
    import_.add_argument("path", help="a JSON file written by `parlour export --format json`")
    import_.set_defaults(func=cmd_import)


def _add_listing_arguments(conversations: argparse.ArgumentParser) -> None:
    conversations.description = "List conversations, most recent first, or search their messages and titles."
    conversations.add_argument("--search", metavar="TEXT", help="show the best matches for TEXT")
    conversations.add_argument("--limit", type=int, default=None, help="show at most this many")
    conversations.set_defaults(func=cmd_conversations)


def conversation_id(text: str) -> int:
    """The conversation ID a person typed, as a number; NotFoundError with a sentence when it is not one."""
    from app.store.errors import NotFoundError

    try:
        return int(text)
    except ValueError:
        raise NotFoundError(f"“{text}” is not a conversation ID; `parlour conversations` lists them.") from None


def cmd_export(args: argparse.Namespace) -> int:
    from app.store.errors import StoreError
    from app.store.files import NotARegularFileError, writable_target

    if args.all == bool(args.id):
        return fail("Give either a conversation ID or --all, not both or neither.")
    output = str(args.output)
    fmt = args.format or ("md" if output.lower().endswith((".md", ".markdown")) else "json")
    try:
        # Before anything is read: a FIFO or a device at the name is refused, not replaced.
        target, existing = writable_target(output) if output != "-" else (None, None)
        count = _export(args, output, fmt, target if existing is not None else None)
    except StoreError as error:
        return fail(str(error), exit_code_for(error))
    except NotARegularFileError as error:
        return fail(str(error))
    except BrokenPipeError:
        raise  # the reader of standard output went away: main() ends quietly
    except OSError as error:
        return _fail_writing(output, error)
    if count is None:
        return fail(f"{output} is Parlour's own conversation store; choose another file to export to.")
    if output != "-":
        say(f"Exported {_count(count, 'conversation')} to {output}.")
    return EXIT_OK


def _export(args: argparse.Namespace, output: str, fmt: str, existing: Path | None) -> int | None:
    """Write the export; how many conversations it holds, or None when `existing` is the store itself."""
    from app.store.conversations import conversation_ids, get_conversation
    from app.store.export import export_json, export_markdown
    from app.store.files import write_atomically

    with opened_store() as store:
        if existing is not None and _is_part_of(store, existing):
            return None
        if args.all:
            ids = conversation_ids(store)
        else:
            ids = [conversation_id(args.id)]
            get_conversation(store, ids[0])
        chunks = (export_markdown if fmt == "md" else export_json)(store, ids)
        try:
            if output == "-":
                _write_to_stdout(chunks)
            else:
                write_atomically(output, chunks)
        finally:
            # A generator reading from a snapshot of the store: end the snapshot now, even after a failed write.
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    return len(ids)


def cmd_import(args: argparse.Namespace) -> int:
    from app.store.errors import StoreError
    from app.store.import_json import import_document, read_document

    path = Path(args.path)
    try:
        # Read and checked before the store is opened: a bad file never touches it.
        document = read_document(path)
        with opened_store() as store:
            new_ids = import_document(store, document, source=path.name)
    except StoreError as error:
        return fail(str(error), exit_code_for(error))
    say(f"Imported {_count(len(new_ids), 'conversation')}.")
    return EXIT_OK


def cmd_conversations(args: argparse.Namespace) -> int:
    from app.store.errors import StoreError
    from app.store.terminal_text import has_surrogates

    limit = args.limit  # at least 1 when given: argument_checks refuses less before any command runs
    if args.search and has_surrogates(args.search):
        return fail("The search text is not valid UTF-8; type it again in your terminal's UTF-8 mode.")
    try:
        with opened_store() as store:
            if args.search:
                _list_matches(store, args.search, limit or 20)
            else:
                _list_recent(store, limit or _EVERY_ROW)
            sys.stdout.flush()  # here, so a reader that went away is noticed while we can still handle it
    except StoreError as error:
        return fail(str(error), exit_code_for(error))
    return EXIT_OK


def _list_matches(store: Store, text: str, limit: int) -> None:
    from app.store.search import search
    from app.store.terminal_text import one_line

    hits = search(store, text, limit=limit)
    if not hits:
        note(f"No conversation mentions “{text}”.")
    for hit in hits:
        where = "title" if hit.message_id is None else f"message {hit.message_id}"
        say(f"{hit.conversation_id}\t{one_line(hit.conversation_title)}\t{where}\t{one_line(hit.plain_snippet())}")


def _list_recent(store: Store, limit: int) -> None:
    from app.store.conversations import list_recent
    from app.store.terminal_text import one_line

    for conversation in list_recent(store, limit=limit):
        pin = "pinned\t" if conversation.pinned else "\t"
        updated = conversation.updated_at.strftime("%Y-%m-%d %H:%M")
        say(f"{conversation.id}\t{updated}\t{pin}{one_line(conversation.title or 'Untitled')}")


def _write_to_stdout(chunks: Iterable[str]) -> None:
    """The export as UTF-8 bytes, whatever the terminal's encoding: the file format is UTF-8."""
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    for chunk in chunks:
        if binary is None:
            sys.stdout.write(chunk)
        else:
            binary.write(chunk.encode("utf-8"))
    (binary or sys.stdout).flush()


def _is_part_of(store: Store, target: Path) -> bool:
    """Whether `target` is the store's database or one of its companions: replacing it would lose every chat."""
    for name in (store.path.name, store.path.name + "-wal", store.path.name + "-shm"):
        with contextlib.suppress(OSError):
            if os.path.samefile(target, store.path.with_name(name)):
                return True
    return False


def _fail_writing(output: str, error: OSError) -> int:
    reason = (error.strerror or error.__class__.__name__).lower()
    if error.errno == errno.ENOSPC:
        return fail("The disk is full: free some space and export again.", EXIT_FAILED)
    if error.errno in _BAD_OUTPUT_ERRNOS:
        return fail(f"Parlour could not write {output}: {reason}.", EXIT_BAD_INPUT)
    log.exception("export to %s failed", output)
    return fail(f"Parlour could not write {output}: {reason}.", EXIT_FAILED)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
