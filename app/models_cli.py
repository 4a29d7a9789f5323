"""`parlour models search | download | import | rm | unhide`: the library in the terminal.

Registered by app.cli; imports nothing heavy at top level (huggingface_hub only
once a command actually talks to the Hub). Errors are one sentence on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from app.terminal_text import EXIT_BAD_INPUT, EXIT_FAILED, exit_code_for, fail, json_text, printable

BAR_WIDTH = 28
MAX_SEARCH_RESULTS = 1000  # the Hub pages its answers; more than this in a terminal helps no one
PLAIN_PROGRESS_STEP = 0.1  # without a terminal, a line at every tenth


def add_models_subcommands(models: argparse.ArgumentParser) -> None:
    sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    search = sub.add_parser("search", help="search the Hugging Face Hub for models Parlour can run")
    search.add_argument("text", metavar="TEXT", nargs="?", default="", help="words in the model's name")
    search.add_argument(
        "--format",
        choices=["gguf", "mlx"],
        action="append",
        help="gguf or mlx (default: mlx then gguf on Apple Silicon, gguf elsewhere)",
    )
    search.add_argument("--sort", choices=["downloads", "likes", "trending", "updated"], default="downloads")
    search.add_argument("--author", metavar="NAME", help="only this publisher's models")
    search.add_argument("--limit", type=int, default=20, help="how many results (default 20)")
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    download = sub.add_parser("download", help="download a model from the Hugging Face Hub into the models folder")
    download.add_argument("repo", metavar="REPO", help="publisher/repository, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF")
    download.add_argument(
        "--include",
        metavar="PATTERN",
        action="append",
        help="only files matching this glob, e.g. '*Q4_K_M*' (repeatable)",
    )
    download.set_defaults(func=cmd_download)

    imports = sub.add_parser("import", help="add a GGUF file or MLX folder to the models folder")
    imports.add_argument("path", metavar="PATH")
    imports.set_defaults(func=cmd_import)

    remove = sub.add_parser("rm", help="delete a downloaded model (other programs' models are only hidden)")
    remove.add_argument("ref", metavar="REF", help="the model's name or path, as `parlour models` lists it")
    remove.set_defaults(func=cmd_rm)

    unhide = sub.add_parser("unhide", help="show a hidden model again (`parlour models --hidden` lists them)")
    unhide.add_argument("ref", metavar="REF", help="the model's name or path, as `parlour models --hidden` lists it")
    unhide.set_defaults(func=cmd_unhide)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    return fail(message, code)


def _log_to_file() -> None:
    from app.log_setup import setup_logging

    setup_logging()


def _token() -> str | None:
    """HF_TOKEN when set, else the keyring's (never a token file on disk)."""
    from app.library.hub_token import HubToken

    return os.environ.get("HF_TOKEN") or HubToken().get()


def cmd_search(args: argparse.Namespace) -> int:
    _log_to_file()
    from app.library.errors import LibraryError
    from app.library.hub import SearchQuery, default_formats, search_models

    try:
        query = SearchQuery(
            text=args.text,
            formats=tuple(args.format or default_formats()),
            sort=args.sort,
            author=args.author,
            page_size=min(max(1, args.limit), MAX_SEARCH_RESULTS),
        )
        page = search_models(query, _token())
    except LibraryError as err:
        return _fail(str(err))
    if args.json:
        print(
            json_text(
                [
                    {
                        "repo_id": r.repo_id,
                        "format": r.format,
                        "downloads": r.downloads,
                        "likes": r.likes,
                        "updated": r.updated.isoformat() if r.updated else None,
                    }
                    for r in page.results
                ],
                indent=1,
            )
        )
        return 0
    if not page.results:
        print("No models found.")
        return 0
    width = max(len(printable(r.repo_id)) for r in page.results)
    for r in page.results:
        counts = f"{r.downloads:>10,} downloads  {r.likes:>6,} likes"
        print(f"{printable(r.repo_id):<{width}}  {printable(r.format.upper()):<4}  {counts}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    _log_to_file()
    from app.library.downloads import JobState, plan_download
    from app.library.errors import LibraryError

    try:
        job = plan_download(args.repo, args.include, _token())
    except LibraryError as err:
        return _fail(str(err))
    bar = ProgressBar(sys.stdout)
    job.listeners.append(bar.update)
    try:
        state = job.run()
    except KeyboardInterrupt:
        job.cancel()
        bar.finish()
        print("Stopped; run the same command again to resume where it left off.")
        return 130
    bar.finish()
    if state == JobState.DONE:
        print(f"Downloaded {printable(job.label)} to {printable(job.destination)}")
        return 0
    return _fail(job.error or f"The download {state.value}.", EXIT_FAILED)


class ProgressBar:
    """Bytes, speed and time left: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._next_step = 0.0
        self._drawn = False
        self._started = time.monotonic()

    def update(self, progress: Any) -> None:
        from app.library.downloads import format_duration
        from engines.inspect import human_size

        fraction = progress.fraction
        filled = int(fraction * BAR_WIDTH)
        speed = f"{human_size(progress.bytes_per_s)}/s" if progress.bytes_per_s else "-"
        left = format_duration(progress.seconds_left) if progress.seconds_left is not None else "--:--"
        amounts = f"{human_size(progress.done_bytes)} of {human_size(progress.total_bytes)}"
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}%  {amounts}  {speed}  {left} left"
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:100])
            self._drawn = True
        elif fraction >= self._next_step:
            self.stream.write(line + "\n")
            self._next_step = min(1.0, (int(fraction / PLAIN_PROGRESS_STEP) + 1) * PLAIN_PROGRESS_STEP)
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def cmd_import(args: argparse.Namespace) -> int:
    _log_to_file()
    from app.library.errors import LibraryError
    from app.library.model_files import import_model

    try:
        placed = import_model(args.path)
    except LibraryError as err:
        return _fail(str(err))
    print(f"Imported to {printable(placed)}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    _log_to_file()
    from app.library.catalog import find_local_model
    from app.library.errors import LibraryError
    from app.library.model_files import delete_model
    from engines.base import EngineError

    try:
        model = find_local_model(args.ref)
        removal = delete_model(model)
    except EngineError as err:
        return _fail(str(err), exit_code_for(err))
    except LibraryError as err:
        return _fail(str(err))
    print(printable(removal.message))
    return 0


def cmd_unhide(args: argparse.Namespace) -> int:
    _log_to_file()
    from app.library.errors import LibraryError
    from app.library.model_files import unhide
    from engines.base import EngineError

    try:
        message = unhide(args.ref)
    except EngineError as err:
        return _fail(str(err), exit_code_for(err))
    except LibraryError as err:
        return _fail(str(err), EXIT_FAILED)
    print(printable(message))
    return 0
