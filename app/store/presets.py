"""Presets: named sets of generation parameters ("Precise", "Creative", ...)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store.db import Store
from app.store.errors import NotFoundError, StoreError
from app.store.timestamps import from_text, now_text


@dataclass(frozen=True, slots=True)
class Preset:
    id: int
    name: str
    parameters: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def save_preset(store: Store, name: str, parameters: dict[str, Any]) -> Preset:
    """Create the preset, or replace the parameters of the one with this name (any letter case)."""
    name = name.strip()
    if not name:
        raise StoreError("A preset needs a name.")
    encoded = json.dumps(parameters, ensure_ascii=False, allow_nan=False, sort_keys=True)
    now = now_text()
    with store.transaction(durable=True) as connection:
        connection.execute(
            "INSERT INTO presets (name, parameters, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET parameters = excluded.parameters, "
            "updated_at = excluded.updated_at",
            (name, encoded, now, now),
        )
    return get_preset(store, name)


def get_preset(store: Store, name: str) -> Preset:
    rows = store.read("SELECT * FROM presets WHERE name = ?", (name.strip(),))
    if not rows:
        raise NotFoundError(f"There is no preset called “{name}”.")
    return _preset(rows[0])


def list_presets(store: Store) -> list[Preset]:
    return [_preset(row) for row in store.read("SELECT * FROM presets ORDER BY name COLLATE NOCASE")]


def rename_preset(store: Store, old_name: str, new_name: str) -> Preset:
    new_name = new_name.strip()
    if not new_name:
        raise StoreError("A preset needs a name.")
    try:
        with store.transaction(durable=True) as connection:
            cursor = connection.execute(
                "UPDATE presets SET name = ?, updated_at = ? WHERE name = ?", (new_name, now_text(), old_name)
            )
    except sqlite3.IntegrityError as error:
        raise StoreError(f"There is already a preset called “{new_name}”.") from error
    if cursor.rowcount == 0:
        raise NotFoundError(f"There is no preset called “{old_name}”.")
    return get_preset(store, new_name)


def delete_preset(store: Store, name: str) -> None:
    with store.transaction(durable=True) as connection:
        cursor = connection.execute("DELETE FROM presets WHERE name = ?", (name.strip(),))
    if cursor.rowcount == 0:
        raise NotFoundError(f"There is no preset called “{name}”.")


def _preset(row: sqlite3.Row) -> Preset:
    return Preset(
        id=row["id"],
        name=row["name"],
        parameters=json.loads(row["parameters"]),
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
    )
