"""Non-secret settings as key -> JSON value.

The app keeps the list of keys (an enum with one typed accessor); the store
only keeps values. Secrets (an access token, say) belong in the system
keyring: a key that looks like one is refused, so one cannot slip into a file
that people copy, back up and export.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.store.db import Store
from app.store.timestamps import now_text

_SECRET_LOOKING = re.compile(r"token|password|passwd|secret|api[_-]?key|credential", re.IGNORECASE)


def get_setting(store: Store, key: str, default: Any = None) -> Any:
    rows = store.read("SELECT value FROM settings WHERE key = ?", (key,))
    return json.loads(rows[0][0]) if rows else default


def set_setting(store: Store, key: str, value: Any) -> None:
    """Store a JSON-serialisable value; keys that name secrets are refused (use the keyring)."""
    if _SECRET_LOOKING.search(key):
        raise ValueError(f"{key!r} looks like a secret; keep it in the system keyring, not the store")
    encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, encoded, now_text()),
        )


def delete_setting(store: Store, key: str) -> None:
    with store.transaction() as connection:
        connection.execute("DELETE FROM settings WHERE key = ?", (key,))


def all_settings(store: Store) -> dict[str, Any]:
    return {row[0]: json.loads(row[1]) for row in store.read("SELECT key, value FROM settings ORDER BY key")}
