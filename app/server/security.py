"""Who may talk to the server: a bearer token on every request, the Host header checked against the
addresses it listens on (DNS rebinding), no wildcard CORS, and bounded request bodies.

The token is random, made on first use and kept in the system keyring (PARLOUR_SERVER_TOKEN, when
set, is used instead, for scripts). Where no keyring exists it lives for this run only, and the
serve command says so.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

KEYRING_SERVICE = "parlour"
KEYRING_USER = "server-token"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a long conversation fits; a memory bomb does not
MAX_TOKENS_LIMIT = 32_768  # the most tokens one request may ask for
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class ServerToken:
    value: str
    kept: str  # "keyring", "environment" or "this run"


def server_token() -> ServerToken:
    """The server's token: from the environment, else the keyring (made there on first use), else this run's."""
    from_env = os.environ.get("PARLOUR_SERVER_TOKEN", "").strip()
    if from_env:
        return ServerToken(from_env, "environment")
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
        if stored:
            return ServerToken(stored, "keyring")
        made = secrets.token_urlsafe(32)
        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, made)
        return ServerToken(made, "keyring")
    except Exception as err:  # no keyring backend (a headless Linux): a token for this run only
        log.info("no keyring for the server token: %s", err)
        return ServerToken(secrets.token_urlsafe(32), "this run")


def token_matches(expected: str, authorization: str | None, api_key: str | None) -> bool:
    """`Authorization: Bearer TOKEN` (OpenAI clients) or `x-api-key: TOKEN` (Anthropic clients)."""
    given = ""
    if authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    elif api_key:
        given = api_key.strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Access:
    """What the server accepts: its token, the Host names it answers to, the origins allowed by CORS."""

    token: str
    hosts: tuple[str, ...]
    origins: tuple[str, ...] = field(default=())


def allowed_hosts(listen_host: str) -> tuple[str, ...]:
    """The Host names a request may carry: this computer's loopback names, and the address listened on."""
    hosts = list(LOCAL_HOSTS)
    if listen_host in ("0.0.0.0", "::"):  # the LAN, chosen explicitly: this computer's own names and addresses
        hosts.extend(_this_computers_names())
    elif listen_host not in hosts:
        hosts.append(listen_host)
    return tuple(dict.fromkeys(hosts))


def _this_computers_names() -> list[str]:
    import socket

    name = socket.gethostname()
    names = [name, f"{name}.local"]
    with contextlib.suppress(OSError):  # a name the resolver does not know: the names alone
        names.extend(socket.gethostbyname_ex(name)[2])
    return names
