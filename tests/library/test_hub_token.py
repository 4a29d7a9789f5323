"""The Hub token in the keyring, or for this session only when there is none, or it fails, or it hangs.

The backends are real keyring backend classes, installed with keyring.set_keyring.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringError, PasswordDeleteError

from app.library.hub_token import KEYRING_HUNG, SERVICE, SESSION_ONLY, HubToken

SECRET = "hf_TestTokenThatMustNeverBeWrittenDown"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not there")


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the Secret Service is not running")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the Secret Service is not running")


class HangingKeyring(MemoryKeyring):
    """Waits for an unlock prompt that never comes (until the test lets it go)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        self.release.wait(60)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        self.release.wait(60)


@pytest.fixture
def use_keyring() -> Iterator:
    original = keyring.get_keyring()
    yield keyring.set_keyring
    current = keyring.get_keyring()
    if isinstance(current, HangingKeyring):
        current.release.set()
    keyring.set_keyring(original)


def never_written(home: Path) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_without_a_keyring_the_token_lives_for_the_session(use_keyring, private_home: Path, caplog) -> None:
    use_keyring(fail.Keyring())
    caplog.set_level(logging.DEBUG)
    token = HubToken()
    assert token.get() is None and token.notice == SESSION_ONLY
    assert token.set(SECRET) == "session"
    assert token.notice == SESSION_ONLY and token.notice.startswith("No system keyring is available")
    assert token.get() == SECRET
    assert HubToken().get() is None  # the next session asks again
    never_written(private_home)
    assert SECRET not in caplog.text


def test_a_failing_keyring_falls_back_to_the_session(use_keyring) -> None:
    use_keyring(BrokenKeyring())
    token = HubToken()
    assert token.set(SECRET) == "session" and token.get() == SECRET and token.notice == SESSION_ONLY


def test_a_hanging_keyring_times_out_and_is_not_asked_again(use_keyring, private_home: Path) -> None:
    hanging = HangingKeyring()
    use_keyring(hanging)
    token = HubToken(timeout=0.5)
    started = time.monotonic()
    assert token.set(SECRET) == "session"
    assert time.monotonic() - started < 30  # the keyring hangs for 60 s: only the timeout ends it sooner
    assert token.notice == KEYRING_HUNG
    assert hanging.calls == 1
    assert token.get() == SECRET
    assert token.set(SECRET) == "session"
    assert hanging.calls == 1  # never asked again: no second thread left hanging
    never_written(private_home)


def test_a_working_keyring_keeps_the_token_under_parlour(use_keyring, private_home: Path) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    token = HubToken()
    assert token.set(SECRET) == "keyring" and token.notice is None
    assert list(backend.entries.values()) == [SECRET] and next(iter(backend.entries))[0] == SERVICE == "Parlour"
    assert HubToken().get() == SECRET  # the next session finds it
    token.clear()
    assert HubToken().get() is None and backend.entries == {}
    never_written(private_home)
