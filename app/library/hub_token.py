"""The Hugging Face token: kept in the system keyring, or for this session only.

The token is never written to a file, never logged, and never given to
`huggingface_hub.login()` (which saves it to disk): Parlour passes it as `token=`.
Keyring calls run on a helper thread with a timeout, because some backends hang
(a locked Secret Service waiting for a prompt nobody sees). Where there is no
keyring, or it fails or hangs, the token lives in memory until Parlour quits, and
`notice` says so in one sentence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("parlour.token")

SERVICE = "Parlour"
ACCOUNT = "huggingface"
KEYRING_TIMEOUT_S = 3.0
SESSION_ONLY = (
    "No system keyring is available, so your Hugging Face token is kept for this session only; "
    "you will be asked again next time."
)
KEYRING_HUNG = (
    "The system keyring did not answer, so your Hugging Face token is kept for this session only; "
    "you will be asked again next time."
)


class _KeyringUnusable(Exception):
    def __init__(self, notice: str) -> None:
        super().__init__(notice)
        self.notice = notice


class HubToken:
    """Where Parlour keeps the token. Methods block up to `timeout`: call them off the GUI thread."""

    def __init__(self, timeout: float = KEYRING_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._session_token: str | None = None
        self._lock = threading.Lock()
        self.storage = "none"  # "keyring", "session" or "none"
        self.notice: str | None = None  # set when the token cannot be kept past this session
        self._keyring_broken = False  # after one hang, do not start another thread that will hang

    def get(self) -> str | None:
        with self._lock:
            if self._session_token is not None:
                return self._session_token
        try:
            token = self._keyring(lambda kr: kr.get_password(SERVICE, ACCOUNT))
        except _KeyringUnusable as unusable:
            self.notice = unusable.notice
            return None
        if token:
            self.storage = "keyring"
        return token or None

    def set(self, token: str) -> str:
        """Keep the token; returns "keyring" or "session" (then `notice` explains)."""
        token = token.strip()
        if not token:
            self.clear()
            return "none"
        try:
            self._keyring(lambda kr: kr.set_password(SERVICE, ACCOUNT, token))
        except _KeyringUnusable as unusable:
            with self._lock:
                self._session_token = token
            self.storage, self.notice = "session", unusable.notice
            log.info("Hugging Face token kept for this session only")
            return "session"
        with self._lock:
            self._session_token = None
        self.storage, self.notice = "keyring", None
        log.info("Hugging Face token stored in the system keyring")
        return "keyring"

    def clear(self) -> None:
        with self._lock:
            self._session_token = None
        self.storage = "none"
        try:
            self._keyring(lambda kr: kr.delete_password(SERVICE, ACCOUNT))
        except _KeyringUnusable:
            pass
        except Exception:  # nothing was stored: fine
            log.debug("no token to delete from the keyring")

    def _keyring(self, call: Callable[[Any], Any]) -> Any:
        if self._keyring_broken:
            raise _KeyringUnusable(KEYRING_HUNG)
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                import keyring

                outcome["value"] = call(keyring)
            except BaseException as exc:  # reported to the caller's thread below
                outcome["error"] = exc

        thread = threading.Thread(target=work, name="keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self._keyring_broken = True
            log.warning("the system keyring did not answer within %.0f s", self.timeout)
            raise _KeyringUnusable(KEYRING_HUNG)
        error = outcome.get("error")
        if error is not None:
            if _is_no_keyring(error):
                raise _KeyringUnusable(SESSION_ONLY)
            if type(error).__name__ == "PasswordDeleteError":
                raise error
            log.warning("the system keyring failed: %s", type(error).__name__)
            raise _KeyringUnusable(SESSION_ONLY)
        return outcome.get("value")


def _is_no_keyring(error: BaseException) -> bool:
    return type(error).__name__ in ("NoKeyringError", "InitError", "KeyringLocked")
