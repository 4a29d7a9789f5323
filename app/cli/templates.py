"""`parlour templates ...`: the local library of chat templates and per-model overrides.

Every template is checked before it is stored (a syntax error names its line) and
can be previewed on a sample conversation. An override applies to one model file
or folder, keyed by its path (app.store.templates.model_key), and wins over the
model's own template.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from app.cli.exit_codes import EXIT_OK, exit_code_for
from app.cli.store_access import opened_store
from app.cli.terminal_text import fail, printable, say


def add_arguments(templates: argparse.ArgumentParser, command: str) -> None:
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


def _checked_source(file: str | None, name: str | None) -> str:
    """The template text of `file` or of the saved template `name`, checked; raises EngineError or StoreError."""
    from engines.templates import check_template

    if file is not None:
        from app.cli.template_files import read_template_file

        source = read_template_file(file)  # refused by type and size before a byte is read
    else:
        from app.store.templates import get_template

        with opened_store() as store:
            source = get_template(store, name or "").source
    check_template(source)
    return source


def _run(action: Callable[[], int]) -> int:
    """Run a command's work; a failure a person can act on (engine or store) becomes its sentence."""
    from app.store.errors import StoreError
    from engines.base import EngineError

    try:
        return int(action())
    except (EngineError, StoreError) as err:
        return fail(str(err), exit_code_for(err))


def cmd_list(args: argparse.Namespace) -> int:
    from app.store.templates import list_templates, model_template_overrides

    def action() -> int:
        with opened_store() as store:
            named = list_templates(store)
            overrides = model_template_overrides(store)
        say("Templates:" if named else "No saved templates.")
        for template in named:
            say(f"  {template.name}  (updated {template.updated_at:%Y-%m-%d %H:%M})")
        say("Model overrides:" if overrides else "No model uses an override.")
        for model in sorted(overrides):
            say(f"  {model}")
        return EXIT_OK

    return _run(action)


def cmd_add(args: argparse.Namespace) -> int:
    from app.store.templates import save_template

    def action() -> int:
        source = _checked_source(args.file, None)
        with opened_store() as store:
            save_template(store, args.name, source)
        say(f"Saved the template '{args.name}'.")
        return EXIT_OK

    return _run(action)


def cmd_preview(args: argparse.Namespace) -> int:
    from engines.templates import preview_template

    def action() -> int:
        # A template file can hold escape sequences; the preview shows them instead of obeying them.
        sys.stdout.write(printable(preview_template(_checked_source(args.file, args.name)), multiline=True))
        sys.stdout.flush()
        return EXIT_OK

    return _run(action)


def cmd_use(args: argparse.Namespace) -> int:
    from app.library.catalog import resolve_model
    from app.store.templates import model_key, set_model_template

    def action() -> int:
        path = resolve_model(args.model)
        if not os.path.exists(path):
            return fail(f"No model file or folder at {path}.")
        source = _checked_source(args.file, args.name)
        with opened_store() as store:
            set_model_template(store, model_key(path), source)
        say(f"{path.name} now uses this template; `parlour templates clear` goes back to its own.")
        return EXIT_OK

    return _run(action)


def cmd_clear(args: argparse.Namespace) -> int:
    from app.library.catalog import resolve_model
    from app.store.templates import clear_model_template, model_key

    def action() -> int:
        path = resolve_model(args.model)
        with opened_store() as store:
            clear_model_template(store, model_key(path))
        say(f"{path.name} uses its own template again.")
        return EXIT_OK

    return _run(action)
