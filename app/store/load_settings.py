"""Each model's own load settings, kept as overrides on LoadSettings' defaults (as gpt4all keeps its
per-model settings): only the fields the person changed, so a better default later reaches every
setting they never touched.

A model's row is keyed like its template override (`templates.model_key`: the absolute path), so the
same file finds its settings whichever name it was chosen by. The prompt cache's folder and budgets
belong to the whole app, not to a model, and are never kept here.

Reading never fails on what is stored: a row that is not a JSON object, a field LoadSettings no
longer has, or a value it refuses is left out (and logged), so what `stored_load_settings` answers
always makes a valid LoadSettings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from app.store.db import Store
from app.store.templates import model_key
from app.store.timestamps import now_text
from engines.base import InvalidRequestError, LoadSettings
from engines.context import MAX_CONTEXT, MIN_CONTEXT

log = logging.getLogger(__name__)

# The app's own, the same for every model: the prompt cache on disk and in memory.
APP_WIDE_FIELDS = frozenset({"prompt_cache_dir", "prompt_cache_bytes", "prompt_cache_disk_bytes"})
# Chosen by what the load is for (a document collection's embeddings), never a model's stored setting.
NOT_STORED_FIELDS = APP_WIDE_FIELDS | {"embedding"}
PER_MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(LoadSettings) if f.name not in NOT_STORED_FIELDS)
DEFAULTS: dict[str, Any] = {name: getattr(LoadSettings(), name) for name in PER_MODEL_FIELDS}


def value_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be the model's `name` setting (one sentence), or None when it can."""
    if name not in DEFAULTS:
        return f"There is no per-model load setting called “{name}”; there are {', '.join(PER_MODEL_FIELDS)}."
    try:
        LoadSettings(**{name: value})
    except InvalidRequestError as err:
        return str(err)
    # LoadSettings leaves the context's range to the load; a stored one out of range could never load.
    if name == "context_length" and value is not None and not MIN_CONTEXT <= value <= MAX_CONTEXT:
        return f"The context length must be between {MIN_CONTEXT} and {MAX_CONTEXT:,} tokens."
    return None


def usable_overrides(values: object, model: str = "a model") -> dict[str, Any]:
    """The overrides in `values` that make valid settings; whatever does not is dropped, with a log line."""
    if not isinstance(values, dict):
        log.warning("ignoring the stored load settings of %s: they are not a JSON object", model)
        return {}
    kept: dict[str, Any] = {}
    for name, value in values.items():
        problem = value_problem(str(name), value)
        if problem is None:
            kept[str(name)] = value
        else:
            log.warning("ignoring the stored load setting %s=%r of %s: %s", name, value, model, problem)
    return kept


def stored_load_settings(store: Store, path: str | Path) -> dict[str, Any]:
    """The overrides kept for the model at `path` ({} for none); always valid for LoadSettings(**...)."""
    key = model_key(Path(path))
    rows = store.read("SELECT overrides FROM model_load_settings WHERE model = ?", (key,))
    if not rows:
        return {}
    try:
        values = json.loads(rows[0][0])
    except (TypeError, ValueError, RecursionError):  # a row written around the table's JSON check
        log.warning("ignoring the stored load settings of %s: they are not JSON", key)
        return {}
    return usable_overrides(values, key)


def save_load_settings(store: Store, path: str | Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Keep `overrides` as the model's load settings, replacing what was kept; returns what was kept.

    Values equal to the default are left out (an empty result clears the row). InvalidRequestError,
    one sentence, for a field that is not a per-model setting or a value LoadSettings refuses."""
    kept: dict[str, Any] = {}
    for name, value in overrides.items():
        problem = value_problem(name, value)
        if problem is not None:
            raise InvalidRequestError(problem)
        if value != DEFAULTS[name]:
            kept[name] = value
    if not kept:
        clear_load_settings(store, path)
        return kept
    with store.transaction(durable=True) as connection:
        connection.execute(
            "INSERT INTO model_load_settings (model, overrides, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (model) DO UPDATE SET overrides = excluded.overrides, updated_at = excluded.updated_at",
            (model_key(Path(path)), json.dumps(kept, ensure_ascii=False, allow_nan=False), now_text()),
        )
    return kept


def clear_load_settings(store: Store, path: str | Path) -> None:
    """Back to the defaults for the model at `path` (nothing happens when none were kept)."""
    with store.transaction(durable=True) as connection:
        connection.execute("DELETE FROM model_load_settings WHERE model = ?", (model_key(Path(path)),))
