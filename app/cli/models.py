"""`parlour models [search | download | import | rm | unhide | settings]`: the library in the terminal.

`parlour models` alone lists the models on this machine, with other programs' models used
in place. Imports nothing heavy at top level (huggingface_hub only once a command actually
talks to the Hub). Errors are one sentence on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from app.cli.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, exit_code_for
from app.cli.terminal_text import fail, json_text, printable, say

MAX_SEARCH_RESULTS = 1000  # the Hub pages its answers; more than this in a terminal helps no one


def add_arguments(models: argparse.ArgumentParser, command: str) -> None:
    models.add_argument("--json", action="store_true")
    models.add_argument("--hidden", action="store_true", help="list only the models you hid (`parlour models unhide`)")
    models.set_defaults(func=cmd_models)
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

    from app.cli.model_settings import add_settings_parser

    add_settings_parser(sub)


def cmd_models(args: argparse.Namespace) -> int:
    """`parlour models`: every model on this machine (or, with --hidden, the ones the person hid)."""
    from app.library.catalog import list_hidden_models, list_local_models
    from app.library.errors import LibraryError

    try:
        models = list_hidden_models() if args.hidden else list_local_models()
    except LibraryError as err:
        return fail(str(err), EXIT_FAILED)
    if args.json:
        print(json_text([_model_record(m) for m in models], default=str, indent=1))
        return EXIT_OK
    if not models:
        say("No model is hidden." if args.hidden else "No models found. The starter model comes with `make run`.")
        return EXIT_OK
    for m in models:
        say(_model_entry(m), multiline=True)
    if args.hidden:
        say("`parlour models unhide NAME` shows one in the list again.")
    return EXIT_OK


def _model_record(m: Any) -> dict[str, Any]:
    # The listed name (the one `models rm` and `unhide` take) wins over the file's own name.
    return {
        **(m.info.to_dict() if m.info else {}),
        "name": m.name,
        "path": str(m.path),
        "origin": m.origin,
        "problem": m.problem,
        "hidden": m.hidden,
    }


def _model_entry(m: Any) -> str:
    """Three lines for one model; every part that comes from a file is made printable."""
    from engines.inspect import human_size

    name, where = printable(m.name), f"{printable(m.origin)}: {printable(m.path)}"
    if m.info is None:
        return f"{name}\n    unusable: {printable(m.problem)}\n    {where}"
    params = f"{m.info.parameter_count / 1e6:.0f}M params" if m.info.parameter_count else "? params"
    ctx = f"{m.info.context_length} ctx" if m.info.context_length else ""
    kind = printable(f"{m.info.engine}, {m.info.format.upper()} {m.info.quantization or ''}")
    return f"{name}\n    {kind}, {human_size(m.info.file_size)}, {params} {ctx}\n    {where}"


def _token() -> str | None:
    """HF_TOKEN when set, else the keyring's (never a token file on disk)."""
    from app.library.hub_token import HubToken

    return os.environ.get("HF_TOKEN") or HubToken().get()


def cmd_search(args: argparse.Namespace) -> int:
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
        return fail(str(err))
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
        return EXIT_OK
    if not page.results:
        say("No models found.")
        return EXIT_OK
    width = max(len(printable(r.repo_id)) for r in page.results)
    for r in page.results:
        counts = f"{r.downloads:>10,} downloads  {r.likes:>6,} likes"
        say(f"{printable(r.repo_id):<{width}}  {printable(r.format.upper()):<4}  {counts}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    from app.cli.download_progress import ProgressBar
    from app.library.downloads import JobState, plan_download
    from app.library.errors import LibraryError

    try:
        job = plan_download(args.repo, args.include, _token())
    except LibraryError as err:
        return fail(str(err))
    bar = ProgressBar(sys.stdout)
    job.listeners.append(bar.update)
    try:
        state = job.run()
    except KeyboardInterrupt:
        job.cancel()
        bar.finish()
        say("Stopped; run the same command again to resume where it left off.")
        return EXIT_INTERRUPTED
    bar.finish()
    if state == JobState.DONE:
        say(f"Downloaded {job.label} to {job.destination}")
        return EXIT_OK
    return fail(job.error or f"The download {state.value}.", EXIT_FAILED)


def cmd_import(args: argparse.Namespace) -> int:
    from app.library.errors import LibraryError
    from app.library.model_files import import_model

    try:
        placed = import_model(args.path)
    except LibraryError as err:
        return fail(str(err))
    say(f"Imported to {placed}")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace) -> int:
    from app.library.catalog import find_local_model
    from app.library.errors import LibraryError
    from app.library.model_files import delete_model
    from engines.base import EngineError

    try:
        model = find_local_model(args.ref)
        removal = delete_model(model)
    except EngineError as err:
        return fail(str(err), exit_code_for(err))
    except LibraryError as err:
        return fail(str(err))
    say(removal.message)
    return EXIT_OK


def cmd_unhide(args: argparse.Namespace) -> int:
    from app.library.errors import LibraryError
    from app.library.model_files import unhide
    from engines.base import EngineError

    try:
        message = unhide(args.ref)
    except EngineError as err:
        return fail(str(err), exit_code_for(err))
    except LibraryError as err:
        return fail(str(err), EXIT_FAILED)
    say(message)
    return EXIT_OK
