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
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from app.paths import log_dir
from app.store.conversations import conversation_ids, get_conversation, list_recent
from app.store.db import Store, open_store
from app.store.errors import ImportFormatError, NotFoundError, StoreError
from app.store.export import export_json, export_markdown
from app.store.files import NotARegularFileError, writable_target, write_atomically
from app.store.import_json import import_document, read_document
from app.store.search import search
from app.store.terminal_text import has_surrogates, one_line, printable

log = logging.getLogger(__name__)

OK = 0
FAILED = 1
BAD_INPUT = 2
_SQLITE_MAX_INTEGER = 2**63 - 1


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
    return _run_command("export", _export, args)


def cmd_import(args: argparse.Namespace) -> int:
    return _run_command("import", _import, args)


def cmd_conversations(args: argparse.Namespace) -> int:
    return _run_command("list conversations", _conversations, args)


def _export(args: argparse.Namespace) -> int:
    if args.all == bool(args.id):
        return _fail("Give either a conversation ID or --all, not both or neither.", BAD_INPUT)
    output = str(args.output)
    fmt = args.format or ("md" if output.lower().endswith((".md", ".markdown")) else "json")
    try:
        # Before anything is read: a FIFO or a device at the name is refused, not replaced.
        target, existing = writable_target(output) if output != "-" else (None, None)
        with _opened() as store:
            if target is not None and existing is not None and _is_part_of(store, target):
                return _fail(
                    f"{output} is Parlour's own conversation store; choose another file to export to.", BAD_INPUT
                )
            if args.all:
                ids = conversation_ids(store)
            else:
                ids = [_conversation_id(args.id)]
                get_conversation(store, ids[0])
            chunks = (export_markdown if fmt == "md" else export_json)(store, ids)
            with contextlib.closing(chunks):
                if output == "-":
                    _write_to_stdout(chunks)
                else:
                    write_atomically(output, chunks)
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    except NotARegularFileError as error:
        return _fail(str(error), BAD_INPUT)
    except BrokenPipeError:
        raise  # the reader of standard output went away: _run_command ends quietly
    except OSError as error:
        return _fail_writing(output, error)
    if output != "-":
        _say(f"Exported {_count(len(ids), 'conversation')} to {output}.")
    return OK


def _import(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        # Read and checked before the store is opened: a bad file never touches it.
        document = read_document(path)
        with _opened() as store:
            new_ids = import_document(store, document, source=path.name)
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    _say(f"Imported {_count(len(new_ids), 'conversation')}.")
    return OK


def _conversations(args: argparse.Namespace) -> int:
    limit = getattr(args, "limit", None)
    if limit is not None and limit < 1:
        return _fail("The limit must be a positive number.", BAD_INPUT)
    if limit is not None:
        limit = min(limit, _SQLITE_MAX_INTEGER)
    if args.search and has_surrogates(args.search):
        return _fail("The search text is not valid UTF-8; type it again in your terminal's UTF-8 mode.", BAD_INPUT)
    try:
        with _opened() as store:
            if args.search:
                hits = search(store, args.search, limit=limit or 20)
                if not hits:
                    _note(f"No conversation mentions “{args.search}”.")
                for hit in hits:
                    where = "title" if hit.message_id is None else f"message {hit.message_id}"
                    title = one_line(hit.conversation_title)
                    _say(f"{hit.conversation_id}\t{title}\t{where}\t{one_line(hit.plain_snippet())}")
            else:
                for conversation in list_recent(store, limit=limit or _SQLITE_MAX_INTEGER):
                    pin = "pinned\t" if conversation.pinned else "\t"
                    updated = conversation.updated_at.strftime("%Y-%m-%d %H:%M")
                    _say(f"{conversation.id}\t{updated}\t{pin}{one_line(conversation.title or 'Untitled')}")
            sys.stdout.flush()  # here, so a reader that went away is noticed while we can still handle it
    except StoreError as error:
        return _fail(str(error), _status_for(error))
    return OK


def _run_command(doing: str, command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command so that whatever happens, the terminal gets one sentence and never a traceback."""
    logged = _log_to_file()
    try:
        return command(args)
    except BrokenPipeError:
        # `parlour ... | head` closed the pipe early: that is not a failure, and nothing more is said.
        _silence_stdout()
        return OK
    except Exception as error:  # a bug of ours: the sentence here, the traceback in the log
        log.exception("`parlour %s` failed", doing)
        where = f"; details are in the log ({_log_path()})" if logged else ""
        return _fail(f"Parlour failed to {doing} ({error.__class__.__name__}){where}.", FAILED)


def _log_to_file() -> bool:
    """Send log records to the data folder's log file; True when that file receives them.

    `parlour` sets logging up before any command; called another way, these commands do it
    themselves. Without any handler, Python would print records, tracebacks included, on the
    terminal; a handler someone else installed (a test runner's) is left as it is.
    """
    root = logging.getLogger()
    try:
        path = _log_path()
    except OSError:
        path = None
    if path is not None and any(_writes_to(handler, path) for handler in root.handlers):
        return True
    if root.handlers:
        return False
    if path is not None:
        try:
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
        except OSError:
            pass
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            root.addHandler(handler)
            root.setLevel(logging.INFO)
            return True
    root.addHandler(logging.NullHandler())  # nowhere to write: still never the terminal
    return False


def _writes_to(handler: logging.Handler, path: Path) -> bool:
    filename = getattr(handler, "baseFilename", None)
    return filename is not None and os.path.abspath(filename) == os.path.abspath(path)


def _log_path() -> Path:
    return log_dir() / "parlour.log"


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


def _silence_stdout() -> None:
    # Point standard output at the null device, so that the interpreter's last flush at exit
    # finds somewhere to write instead of printing "Exception ignored ... BrokenPipeError".
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _say(text: str) -> None:
    """One line on standard output, printable in any terminal encoding."""
    line = printable(text) + "\n"
    try:
        sys.stdout.write(line)
    except UnicodeEncodeError:  # a terminal that is not UTF-8: show what it cannot as escapes
        encoding = sys.stdout.encoding or "ascii"
        sys.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding))


@contextlib.contextmanager
def _opened():
    """The store, with a notice about a moved-aside damaged file on stderr, and SQLite failures
    turned into one sentence (traceback to the log)."""
    try:
        store: Store = open_store()
    except sqlite3.Error as error:
        log.exception("could not open the conversation store")
        raise StoreError(f"Parlour could not open its conversation store: {error}.") from error
    except OSError as error:
        # The data folder cannot be made or used (PARLOUR_HOME names a file, a read-only disk...).
        log.warning("could not open the conversation store: %s", error)
        where = f" {error.filename}" if error.filename else ""
        raise StoreError(
            f"Parlour cannot use its data folder{where} ({(error.strerror or str(error)).lower()}); "
            "point PARLOUR_HOME at a folder you can write to."
        ) from error
    try:
        if store.notice:
            _note(store.notice)
        yield store
    except sqlite3.Error as error:
        log.exception("conversation store command failed")
        raise StoreError(f"Parlour's conversation store failed: {error}.") from error
    finally:
        store.close()


def _is_part_of(store: Store, target: Path) -> bool:
    """Whether `target` is the store's database or one of its companions: replacing it would lose every chat."""
    for name in (store.path.name, store.path.name + "-wal", store.path.name + "-shm"):
        with contextlib.suppress(OSError):
            if os.path.samefile(target, store.path.with_name(name)):
                return True
    return False


def _conversation_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise NotFoundError(f"“{text}” is not a conversation ID; `parlour conversations` lists them.") from None
    return value


def _status_for(error: StoreError) -> int:
    return BAD_INPUT if isinstance(error, NotFoundError | ImportFormatError) else FAILED


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


def _fail_writing(output: str, error: OSError) -> int:
    reason = (error.strerror or error.__class__.__name__).lower()
    if error.errno == errno.ENOSPC:
        return _fail("The disk is full: free some space and export again.", FAILED)
    if error.errno in _BAD_OUTPUT_ERRNOS:
        return _fail(f"Parlour could not write {output}: {reason}.", BAD_INPUT)
    log.exception("export to %s failed", output)
    return _fail(f"Parlour could not write {output}: {reason}.", FAILED)


def _fail(message: str, status: int) -> int:
    _note(message)
    return status


def _note(message: str) -> None:
    """One sentence on standard error (Python writes what it cannot encode there as escapes)."""
    print(printable(message), file=sys.stderr)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
