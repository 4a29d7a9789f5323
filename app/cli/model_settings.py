"""`parlour models settings NAME`: the load settings a model gets, and `--set KEY=VALUE` / `--reset` to keep
its own (the same ones the window's model picker edits, app.store.load_settings).

What it prints is what a load of that model gets (app.library.load_choice.effective_load_settings), with
the model's own settings marked. A value is checked as the engine would check it before anything is
kept: a bad key, a bad value or a combination the engine cannot run is one sentence, exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.exit_codes import EXIT_OK, exit_code_for
from app.cli.terminal_text import fail, json_text, say

if TYPE_CHECKING:
    from app.store.db import Store

AUTOMATIC_WORDS = frozenset({"auto", "automatic", "default", "none"})
ON_WORDS = frozenset({"on", "true", "yes", "1"})
OFF_WORDS = frozenset({"off", "false", "no", "0"})
NUMBER_OR_AUTOMATIC = frozenset({"context_length", "gpu_layers", "threads", "batch_size"})
SWITCHES = frozenset({"memory_map", "memory_lock"})
AUTOMATIC_SWITCHES = frozenset({"flash_attention", "prompt_lookup"})  # None is automatic


def add_settings_parser(sub: Any) -> None:
    """`settings` under `parlour models`."""
    settings = sub.add_parser("settings", help="a model's load settings; --set KEY=VALUE or --reset keeps its own")
    settings.add_argument("ref", metavar="NAME", help="the model's name or path, as `parlour models` lists it")
    settings.add_argument(
        "--set",
        dest="assignments",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="keep this setting for the model, e.g. kv_cache_type=q8_0 or threads=auto (repeatable)",
    )
    settings.add_argument("--reset", action="store_true", help="forget the model's own settings (before any --set)")
    settings.add_argument("--json", action="store_true")
    settings.set_defaults(func=cmd_settings)


def cmd_settings(args: argparse.Namespace) -> int:
    from app.cli.chat_setup import locate_model
    from app.cli.store_access import opened_store
    from app.library.load_choice import effective_load_settings, model_overrides
    from app.store.errors import StoreError
    from app.store.load_settings import clear_load_settings
    from engines.base import EngineError

    try:
        path, label = locate_model(args.ref)
        if isinstance(path, str):
            return fail("Load settings are for models on this computer; a remote model's server decides its own.")
        with opened_store() as store:
            if args.reset:
                clear_load_settings(store, path)
            if args.assignments:
                _keep(store, path, args.assignments)
            settings = effective_load_settings(path, store).to_dict()
            own = model_overrides(path, store)
    except (EngineError, StoreError) as err:
        return fail(str(err), exit_code_for(err))
    _show(label or str(path), path, settings, own, args.json)
    return EXIT_OK


def _keep(store: Store, path: Path, assignments: list[str]) -> None:
    """Add the typed settings to the model's own, checked as its engine would check them, and keep them."""
    from app.library.load_choice import check_load_settings, model_overrides
    from app.store.load_settings import save_load_settings
    from engines.inspect import inspect_model

    changes = dict(parse_assignment(text) for text in assignments)
    merged = {**model_overrides(path, store), **changes}
    info = inspect_model(path)
    check_load_settings(merged, info.engine, info.context_length)
    save_load_settings(store, path, merged)


def parse_assignment(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` as a LoadSettings field and its value; InvalidRequestError with a sentence otherwise."""
    from app.store.load_settings import PER_MODEL_FIELDS
    from engines.base import InvalidRequestError

    name, equals, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    if not equals:
        raise InvalidRequestError(f"--set takes KEY=VALUE, e.g. kv_cache_type=q8_0, not “{text}”.")
    if name not in PER_MODEL_FIELDS:
        raise InvalidRequestError(
            f"There is no per-model load setting called “{name}”; there are {', '.join(PER_MODEL_FIELDS)}."
        )
    return name, parse_value(name, raw.strip())


def parse_value(name: str, raw: str) -> Any:
    """The value `raw` stands for in the setting `name` (auto, on/off, a number, a model's name or path)."""
    from app.cli.chat_setup import draft_model_path
    from engines.base import InvalidRequestError

    word = raw.lower()
    if name == "draft_model":
        return None if word in AUTOMATIC_WORDS else draft_model_path(raw)
    if name == "kv_cache_type":
        return raw  # LoadSettings names the types it takes
    if name in NUMBER_OR_AUTOMATIC | AUTOMATIC_SWITCHES and word in AUTOMATIC_WORDS:
        return None
    if name == "gpu_layers" and word == "all":
        return -1
    if name in SWITCHES | AUTOMATIC_SWITCHES:
        if word in ON_WORDS | OFF_WORDS:
            return word in ON_WORDS
        choices = "on, off or auto" if name in AUTOMATIC_SWITCHES else "on or off"
        raise InvalidRequestError(f"{name} takes {choices}, not “{raw}”.")
    try:
        return int(raw)
    except ValueError:
        also = " or auto" if name in NUMBER_OR_AUTOMATIC else ""
        raise InvalidRequestError(f"{name} takes a whole number{also}, not “{raw}”.") from None


def _show(label: str, path: Path, settings: dict[str, Any], own: dict[str, Any], as_json: bool) -> None:
    from app.store.load_settings import PER_MODEL_FIELDS

    shown = {name: settings[name] for name in PER_MODEL_FIELDS}
    if as_json:
        print(json_text({"model": label, "path": str(path), "settings": shown, "own": own}, indent=1))
        return
    say(f"{label}: load settings (* this model's own, the rest the defaults)")
    width = max(len(name) for name in shown)
    for name, value in shown.items():
        say(f"  {name:<{width}}  {_word(name, value)}{' *' if name in own else ''}")
    say("Keep one with --set KEY=VALUE (auto or none for an automatic one); --reset forgets them all.")


def _word(name: str, value: Any) -> str:
    if value is None:
        return "none" if name == "draft_model" else "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    if name == "gpu_layers" and value == -1:
        return "all"
    return str(value)
