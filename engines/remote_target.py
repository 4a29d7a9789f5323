"""A model that runs elsewhere, named as a load reference: `remote:` and a small JSON object.

The reference carries the endpoint's name, its OpenAI-compatible base URL and the model's id, so
the engine host can load it like a path. It never carries the API key: the host reads that from
the system keyring by the endpoint's name (`api_key`), so it is in no log, list or export.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from engines.base import InvalidRequestError

log = logging.getLogger(__name__)
PREFIX = "remote:"
KEYRING_SERVICE = "parlour-remote"


@dataclass(frozen=True)
class RemoteTarget:
    name: str  # the endpoint's name, as the person called it
    base_url: str  # up to and including /v1
    model: str  # the model's id on that server

    def ref(self) -> str:
        return PREFIX + json.dumps({"name": self.name, "base_url": self.base_url, "model": self.model})

    @property
    def label(self) -> str:
        return f"{self.model} on {self.name}"


def is_remote_ref(path: object) -> bool:
    return isinstance(path, str) and path.startswith(PREFIX)


def check_base_url(url: str) -> str:
    """The base URL, without a trailing slash; one sentence when it is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(f"'{url[:200]}' is not an http:// or https:// address.")
    return url.strip().rstrip("/")


def parse_ref(path: str) -> RemoteTarget:
    try:
        fields = json.loads(path[len(PREFIX) :])
        target = RemoteTarget(str(fields["name"]), check_base_url(str(fields["base_url"])), str(fields["model"]))
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidRequestError("This remote model reference is damaged; add the endpoint again.") from err
    if not target.name or not target.model:
        raise InvalidRequestError("This remote model reference names no endpoint or no model.")
    return target


def api_key(name: str) -> str | None:
    """The endpoint's API key from the system keyring; None when it has none (or there is no keyring)."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception as err:  # no keyring backend: the endpoint is used without a key
        log.info("no keyring for the key of %s: %s", name, err)
        return None
