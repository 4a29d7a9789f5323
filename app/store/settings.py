"""Settings: one enum of keys, each with its type and default declared once, kept in the store.

`get(store, Setting.X)` and `put(store, Setting.X, value)` are the accessors; `put` refuses a
value of the wrong type with a sentence, and `get` answers the declared default for a value
that is missing or no longer fits (a hand-edited or older store). A model's own parameter
defaults have their own pair, `model_defaults` and `set_model_defaults`, keyed by the model's
path. Secrets (an access token, say) belong in the system keyring: a key that looks like one is
refused, so one cannot slip into a file that people copy, back up and export.

`get_setting`, `set_setting`, `delete_setting` and `all_settings` are the old names over bare
string keys, kept for code not yet moved to `Setting`: a declared key still has its type checked.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.store.timestamps import now_text

if TYPE_CHECKING:
    from app.store.db import Store

log = logging.getLogger(__name__)

_SECRET_LOOKING = re.compile(r"token|password|passwd|secret|api[_-]?key|credential", re.IGNORECASE)
_MODEL_DEFAULTS_PREFIX = "model_defaults:"
_MISSING = object()


class Setting(StrEnum):
    MODELS_FOLDER = "library.models_folder"  # where downloads and imports go
    HIDDEN_MODELS = "library.hidden_models"  # model paths hidden from the library (other apps' models)
    FIT_CONTEXT = "browser.fit_context"  # the context length the Hub browser's fit badges assume
    WINDOW_GEOMETRY = "window.geometry"  # the main window's saveGeometry(), base64
    WINDOW_SPLITTER = "window.splitter"  # the main window's splitter saveState(), base64
    WINDOW_PARAMS_VISIBLE = "window.params_visible"  # whether the parameters panel is shown
    WINDOW_SIDEBAR_VISIBLE = "window.sidebar_visible"  # whether the conversation list is shown
    CHAT_TEXT_SIZE = "chat.text_size"  # the chat's text size in points, as zoomed; 0 is the system's
    REMOTE_ENDPOINTS = "remote.endpoints"  # JSON: [{"name", "base_url", "models"}]; keys are in the keyring


@dataclass(frozen=True)
class SettingSpec:
    kind: Any  # a type, `X | None`, or `list[X]`: what `put` accepts
    default: Any


SPECS: dict[Setting, SettingSpec] = {
    Setting.MODELS_FOLDER: SettingSpec(str | None, None),  # None: the data folder's models/
    Setting.HIDDEN_MODELS: SettingSpec(list[str], []),
    Setting.FIT_CONTEXT: SettingSpec(int, 8192),
    Setting.WINDOW_GEOMETRY: SettingSpec(str | None, None),
    Setting.WINDOW_SPLITTER: SettingSpec(str | None, None),
    Setting.WINDOW_PARAMS_VISIBLE: SettingSpec(bool, False),  # collapsed until the person opens it
    Setting.WINDOW_SIDEBAR_VISIBLE: SettingSpec(bool, True),
    Setting.CHAT_TEXT_SIZE: SettingSpec(float, 0.0),
    Setting.REMOTE_ENDPOINTS: SettingSpec(str, "[]"),
}


def fits(kind: Any, value: object) -> bool:
    """Whether `value` is of `kind`; exact types, so True is not taken for a number."""
    if kind is None or kind is type(None):
        return value is None
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return any(fits(option, value) for option in typing.get_args(kind))
    if typing.get_origin(kind) is list:
        (item_kind,) = typing.get_args(kind)
        return type(value) is list and all(fits(item_kind, item) for item in value)
    return type(value) is kind


def describe(kind: Any) -> str:
    """`kind` in words, for the sentence that refuses a value."""
    if kind is None or kind is type(None):
        return "nothing"
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return " or ".join(describe(option) for option in typing.get_args(kind))
    if typing.get_origin(kind) is list:
        return f"a list of {describe(typing.get_args(kind)[0])}"
    return {str: "text", int: "a whole number", bool: "true or false", float: "a number"}.get(kind, kind.__name__)


def default(key: Setting) -> Any:
    """The declared default of `key` (a fresh copy: changing it changes nothing stored)."""
    return copy.deepcopy(SPECS[key].default)


def get(store: Store, key: Setting) -> Any:
    """The stored value of `key`, or its declared default when unset or no longer of its type."""
    spec = SPECS[key]
    value = _read(store, key.value)
    if value is _MISSING:
        return default(key)
    if not fits(spec.kind, value):
        log.warning("ignoring the stored %s: it is not %s", key.value, describe(spec.kind))
        return default(key)
    return value


def put(store: Store, key: Setting, value: Any) -> None:
    """Store `value` for `key`; TypeError (one sentence) when it is not of the key's declared type."""
    spec = SPECS[key]
    if not fits(spec.kind, value):
        raise TypeError(f"The setting {key.value} takes {describe(spec.kind)}, not {type(value).__name__}.")
    _write(store, key.value, value)


def is_set(store: Store, key: Setting) -> bool:
    """Whether a value for `key` is stored (fitting its type or not)."""
    return _read(store, key.value) is not _MISSING


def clear(store: Store, key: Setting) -> None:
    """Forget the stored value: `get` answers the default again."""
    _delete(store, key.value)


# --- one model's own parameter defaults ---------------------------------------------------------------


def model_defaults(store: Store, model_path: str) -> dict[str, Any] | None:
    """The generation parameters saved as this model's defaults, or None."""
    value = _read(store, _MODEL_DEFAULTS_PREFIX + model_path)
    if value is _MISSING:
        return None
    if not isinstance(value, dict):
        log.warning("ignoring the stored defaults of %s: they are not a mapping", model_path)
        return None
    return value


def set_model_defaults(store: Store, model_path: str, values: dict[str, Any]) -> None:
    """Save `values` (parameter name -> JSON value) as this model's defaults."""
    if not isinstance(values, dict) or not all(isinstance(name, str) for name in values):
        raise TypeError("A model's defaults must map parameter names to values.")
    # The path is the user's (a folder may well be called "tokens"): no secret check on it.
    _write(store, _MODEL_DEFAULTS_PREFIX + model_path, values)


def clear_model_defaults(store: Store, model_path: str) -> None:
    _delete(store, _MODEL_DEFAULTS_PREFIX + model_path)


# --- the old names, over bare string keys --------------------------------------------------------------


def get_setting(store: Store, key: str, default: Any = None) -> Any:
    """Old name: the stored value of `key`, or `default` when unset (or not of a declared key's type)."""
    value = _read(store, key)
    if value is _MISSING:
        return default
    if key in SPECS and not fits(SPECS[Setting(key)].kind, value):
        return default
    return value


def set_setting(store: Store, key: str, value: Any) -> None:
    """Old name: store a JSON value; a declared key has its type checked, secret-looking keys are refused."""
    if key in SPECS:
        put(store, Setting(key), value)
        return
    if _SECRET_LOOKING.search(key):
        raise ValueError(f"{key!r} looks like a secret; keep it in the system keyring, not the store")
    _write(store, key, value)


def delete_setting(store: Store, key: str) -> None:
    """Old name: forget `key`."""
    _delete(store, key)


def all_settings(store: Store) -> dict[str, Any]:
    """Every stored key and its value, model defaults included (for inspection and tests)."""
    return {row[0]: json.loads(row[1]) for row in store.read("SELECT key, value FROM settings ORDER BY key")}


# --- storage -------------------------------------------------------------------------------------------


def _read(store: Store, key: str) -> Any:
    # The table's CHECK (json_valid) means whatever is stored decodes.
    rows = store.read("SELECT value FROM settings WHERE key = ?", (key,))
    return json.loads(rows[0][0]) if rows else _MISSING


def _write(store: Store, key: str, value: Any) -> None:
    encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, encoded, now_text()),
        )


def _delete(store: Store, key: str) -> None:
    with store.transaction() as connection:
        connection.execute("DELETE FROM settings WHERE key = ?", (key,))
