"""Secrets of tool servers (API keys in `env` or `headers`) live in the system keyring, never in mcp.json.

mcp.json holds a placeholder in a secret's place, "keyring:<server>/<NAME>", which is also the keyring
username under the service "parlour-mcp". Any other value is used as it is, so a file written by hand,
or copied from another app with plain values, still works.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from app.tools.errors import McpConfigError

KEYRING_SERVICE = "parlour-mcp"
PLACEHOLDER_PREFIX = "keyring:"

_NO_KEYRING = "This computer has no system keyring, and Parlour keeps tool server secrets nowhere else."


def placeholder(server: str, name: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{server}/{name}"


def keyring_reference(value: str) -> str | None:
    """The keyring username a placeholder points to, or None for a plain value."""
    if value.startswith(PLACEHOLDER_PREFIX) and len(value) > len(PLACEHOLDER_PREFIX):
        return value[len(PLACEHOLDER_PREFIX) :]
    return None


def keep_secret(server: str, name: str, value: str) -> str:
    """Put `value` in the keyring and give back the placeholder that takes its place in mcp.json."""
    if keyring_reference(value) is not None:
        return value  # already a placeholder (the person re-added a server from its own listing)
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, f"{server}/{name}", value)
    except Exception as err:  # no backend, a locked or refusing keyring: the secret must not go to the file
        raise McpConfigError(_NO_KEYRING) from err
    return placeholder(server, name)


def forget_secrets(references: Iterable[str]) -> None:
    """Delete these keyring entries (usernames); ones already gone are fine."""
    try:
        import keyring
    except Exception:
        return
    for reference in references:
        with contextlib.suppress(Exception):  # not there, or no keyring: nothing to delete
            keyring.delete_password(KEYRING_SERVICE, reference)


def resolved_values(server: str, field: str, values: Mapping[str, str]) -> dict[str, str]:
    """`values` with each placeholder replaced by its secret from the keyring, for starting the server."""
    resolved: dict[str, str] = {}
    for name, value in values.items():
        reference = keyring_reference(value)
        resolved[name] = value if reference is None else _secret(server, field, name, reference)
    return resolved


def _secret(server: str, field: str, name: str, reference: str) -> str:
    try:
        import keyring

        secret = keyring.get_password(KEYRING_SERVICE, reference)
    except Exception as err:
        raise McpConfigError(_NO_KEYRING) from err
    if secret is None:
        raise McpConfigError(
            f"The secret for {name} in the \"{field}\" of the tool server '{server}' is not in the system keyring; "
            "add the server again with its value."
        )
    return secret
