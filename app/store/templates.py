"""Stored chat templates: named ones the person wrote, and per-model overrides.

The store only keeps the Jinja source; rendering (always sandboxed) belongs to
engines/templates.py. An override holds its own copy of the source, so
editing or deleting a named template never changes how a model renders
behind the person's back.

An override is keyed by the model's absolute path (`model_key`), so the same file
or folder always finds its override, whichever name it was chosen by.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.store.db import Store, open_store
from app.store.errors import NotFoundError, StoreError
from app.store.timestamps import from_text, now_text


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    id: int
    name: str
    source: str
    created_at: datetime
    updated_at: datetime


def save_template(store: Store, name: str, source: str) -> StoredTemplate:
    """Create the named template or replace its source."""
    name = name.strip()
    if not name:
        raise StoreError("A template needs a name.")
    now = now_text()
    with store.transaction(durable=True) as connection:
        connection.execute(
            "INSERT INTO templates (name, source, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
            (name, source, now, now),
        )
    return get_template(store, name)


def get_template(store: Store, name: str) -> StoredTemplate:
    rows = store.read("SELECT * FROM templates WHERE name = ?", (name.strip(),))
    if not rows:
        raise NotFoundError(f"There is no template called “{name}”.")
    return _template(rows[0])


def list_templates(store: Store) -> list[StoredTemplate]:
    return [_template(row) for row in store.read("SELECT * FROM templates ORDER BY name COLLATE NOCASE")]


def delete_template(store: Store, name: str) -> None:
    with store.transaction(durable=True) as connection:
        cursor = connection.execute("DELETE FROM templates WHERE name = ?", (name.strip(),))
    if cursor.rowcount == 0:
        raise NotFoundError(f"There is no template called “{name}”.")


def set_model_template(store: Store, model: str, source: str) -> None:
    """Use `source` instead of the template that comes with `model` (a model key from the catalog)."""
    with store.transaction(durable=True) as connection:
        connection.execute(
            "INSERT INTO model_template_overrides (model, source, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (model) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
            (model, source, now_text()),
        )


def model_template(store: Store, model: str) -> str | None:
    """The override for `model`, or None when the model's own template applies."""
    rows = store.read("SELECT source FROM model_template_overrides WHERE model = ?", (model,))
    return rows[0][0] if rows else None


def model_key(path: Path) -> str:
    """The key a model's override is stored under: its absolute path, links resolved."""
    return str(path.expanduser().resolve())


def override_for(path: Path, store: Store | None = None) -> str | None:
    """The person's template for the model at `path`, if they chose one, else None.

    Without a `store`, opens one just for this read. A store that cannot be opened
    means no override: it must not stop a chat, and the window reports it itself.
    """
    if store is not None:
        return model_template(store, model_key(path))
    try:
        opened = open_store()
    except StoreError:
        return None
    try:
        return model_template(opened, model_key(path))
    finally:
        opened.close()


def person_template(model: str, store: Store) -> str | None:
    """The person's template for a model the engine host loads (a path, or a remote reference), or None:
    a remote model's server applies its own template, and a store that cannot be read means no override."""
    from engines.remote_target import is_remote_ref

    if is_remote_ref(model):
        return None
    try:
        return override_for(Path(model), store)
    except StoreError:
        return None


def model_template_overrides(store: Store) -> dict[str, str]:
    return {row[0]: row[1] for row in store.read("SELECT model, source FROM model_template_overrides")}


def clear_model_template(store: Store, model: str) -> None:
    """Go back to the model's own template (nothing happens if there was no override)."""
    with store.transaction(durable=True) as connection:
        connection.execute("DELETE FROM model_template_overrides WHERE model = ?", (model,))


def _template(row: sqlite3.Row) -> StoredTemplate:
    return StoredTemplate(
        id=row["id"],
        name=row["name"],
        source=row["source"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
    )
