"""`parlour templates ...`: the local library of chat templates and per-model overrides.

Every template is checked before it is stored (a syntax error names its line) and
can be previewed on a sample conversation. An override applies to one model file
or folder, keyed by its path, and wins over the model's own template.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from app.store.errors import StoreError
from app.terminal_text import EXIT_BAD_INPUT, exit_code_for, fail, printable

__all__ = ["EXIT_BAD_INPUT", "add_template_commands", "model_key", "override_for"]


def add_template_commands(subparsers: argparse._SubParsersAction) -> None:
    templates = subparsers.add_parser("templates", help="chat templates: your library and per-model overrides")
    sub = templates.add_subparsers(dest="templates_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="named templates and which models have an override")
    listing.set_defaults(func=cmd_list)

    add = sub.add_parser("add", help="check a Jinja file and save it under a name")
    add.add_argument("name")
    add.add_argument("file")
    add.set_defaults(func=cmd_add)

    preview = sub.add_parser("preview", help="render a sample conversation with a template")
    which = preview.add_mutually_exclusive_group(required=True)
    which.add_argument("--name", help="a saved template")
    which.add_argument("--file", help="a Jinja file")
    preview.set_defaults(func=cmd_preview)

    use = sub.add_parser("use", help="make a model use a template instead of its own")
    use.add_argument("model", help="a local model's name or path")
    source = use.add_mutually_exclusive_group(required=True)
    source.add_argument("--name", help="a saved template")
    source.add_argument("--file", help="a Jinja file")
    use.set_defaults(func=cmd_use)

    clear = sub.add_parser("clear", help="go back to the model's own template")
    clear.add_argument("model", help="a local model's name or path")
    clear.set_defaults(func=cmd_clear)


def model_key(path: Path) -> str:
    """Overrides are keyed by the model's absolute path: the same file always finds its override."""
    return str(path.expanduser().resolve())


def override_for(path: Path) -> str | None:
    """The user's template for this model, if they chose one (read-only; no lock needed)."""
    from app.store.db import open_store
    from app.store.templates import model_template

    try:
        store = open_store()
    except StoreError:
        return None  # an unreadable store must not stop a chat; the window reports it
    try:
        return model_template(store, model_key(path))
    finally:
        store.close()


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    return fail(message, code)


def _checked_source(args: argparse.Namespace) -> str:
    """The template text named by --name or --file, checked; raises EngineError or StoreError."""
    from engines.templates import check_template

    if getattr(args, "file", None) is not None:
        from app.cli import read_template_file

        source = read_template_file(args.file)  # refused by type and size before a byte is read
    else:
        from app.store.db import open_store
        from app.store.templates import get_template

        with closing(open_store()) as store:
            source = get_template(store, args.name).source
    check_template(source)
    return source


def _run(action: Callable[[], int]) -> int:
    from engines.base import EngineError

    try:
        return int(action())
    except (EngineError, StoreError) as err:
        return _fail(str(err), exit_code_for(err))


def cmd_list(args: argparse.Namespace) -> int:
    from app.store.db import open_store
    from app.store.templates import list_templates, model_template_overrides

    def action() -> int:
        with closing(open_store()) as store:
            named = list_templates(store)
            overrides = model_template_overrides(store)
        print("Templates:" if named else "No saved templates.")
        for template in named:
            print(f"  {printable(template.name)}  (updated {template.updated_at:%Y-%m-%d %H:%M})")
        print("Model overrides:" if overrides else "No model uses an override.")
        for model in sorted(overrides):
            print(f"  {printable(model)}")
        return 0

    return _run(action)


def cmd_add(args: argparse.Namespace) -> int:
    from app.store.db import open_store
    from app.store.templates import save_template

    def action() -> int:
        source = _checked_source(argparse.Namespace(file=args.file, name=None))
        with closing(open_store()) as store:
            save_template(store, args.name, source)
        print(f"Saved the template '{printable(args.name)}'.")
        return 0

    return _run(action)


def cmd_preview(args: argparse.Namespace) -> int:
    from engines.templates import preview_template

    def action() -> int:
        # A template file can hold escape sequences; the preview shows them instead of obeying them.
        sys.stdout.write(printable(preview_template(_checked_source(args)), multiline=True))
        sys.stdout.flush()
        return 0

    return _run(action)


def cmd_use(args: argparse.Namespace) -> int:
    from app.library.catalog import resolve_model
    from app.store.db import open_store
    from app.store.templates import set_model_template

    def action() -> int:
        path = resolve_model(args.model)
        if not os.path.exists(path):
            return _fail(f"No model file or folder at {path}.")
        source = _checked_source(args)
        with closing(open_store()) as store:
            set_model_template(store, model_key(path), source)
        print(f"{printable(path.name)} now uses this template; `parlour templates clear` goes back to its own.")
        return 0

    return _run(action)


def cmd_clear(args: argparse.Namespace) -> int:
    from app.library.catalog import resolve_model
    from app.store.db import open_store
    from app.store.templates import clear_model_template

    def action() -> int:
        path = resolve_model(args.model)
        with closing(open_store()) as store:
            clear_model_template(store, model_key(path))
        print(f"{printable(path.name)} uses its own template again.")
        return 0

    return _run(action)
