"""A keyring backend in a JSON file, for tests whose child processes (the engine host) read the keys the
test stored: PYTHON_KEYRING_BACKEND=tests.support.file_keyring.FileKeyring and PARLOUR_TEST_KEYRING=FILE."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ["PARLOUR_TEST_KEYRING"])

    def _read(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        keys = self._read()
        keys[f"{service}\0{username}"] = password
        self._path().write_text(json.dumps(keys))

    def delete_password(self, service: str, username: str) -> None:
        keys = self._read()
        if keys.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError(username)
        self._path().write_text(json.dumps(keys))
