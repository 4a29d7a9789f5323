"""The one place Parlour imports huggingface_hub, with its privacy settings applied first.

huggingface_hub reads its environment once, at import: without
HF_HUB_DISABLE_TELEMETRY its first request also fetches `/api/agent-harnesses`
(to tag the user agent), which a private app must not do. The endpoint and the
offline switch are read at each call instead, so HF_ENDPOINT and HF_HUB_OFFLINE
mean what they say whenever the user searches or downloads, and never before.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from app.library.errors import offline_mode_error

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "ON", "YES", "TRUE"}
# A person waits on a search or on "Download": a Hub that does not connect, or connects and says nothing, is
# reported as offline after this long. huggingface_hub's own calls wait forever (its client has no timeout) and
# list_models retries five times with a backoff of 1, 2, 4, 8 and 8 seconds: 23 s before it gives up.
INTERACTIVE_CONNECT_S = 4.0
INTERACTIVE_READ_S = 4.0


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline_requested() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in _TRUE


def require_online() -> None:
    """Raise the plain 'offline mode' sentence when the user asked for no network."""
    if offline_requested():
        raise offline_mode_error()


def huggingface_hub() -> Any:
    """Import huggingface_hub with telemetry off, even when something imported it earlier."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    import huggingface_hub as hub
    from huggingface_hub import constants

    # The constant is read at import; if another module imported the library first, set it here too.
    constants.HF_HUB_DISABLE_TELEMETRY = True
    _quiet_library_logs()
    return hub


def _quiet_library_logs() -> None:
    """huggingface_hub prints its retries to stderr; send them to Parlour's log like everything else."""
    library = logging.getLogger("huggingface_hub")
    for handler in list(library.handlers):
        if type(handler) is logging.StreamHandler:
            library.removeHandler(handler)


def hub_api() -> Any:
    """An HfApi on the current endpoint. Tokens are passed per call (never `login()`, which writes them to disk)."""
    require_online()
    hub = huggingface_hub()
    return hub.HfApi(endpoint=hub_endpoint())


def token_arg(token: str | None) -> str | bool:
    """What to pass as `token=`: the user's token, or False so no token file on disk is ever read."""
    return token if token else False


def http_session() -> Any:
    """huggingface_hub's shared httpx2 client (its offline guard and connection pool included)."""
    require_online()
    huggingface_hub()
    from huggingface_hub.utils import get_session

    return get_session()


def interactive_timeout() -> Any:
    """The timeout for a request a person is waiting on (a search, planning a download): seconds, not minutes."""
    huggingface_hub()
    import httpx2

    return httpx2.Timeout(INTERACTIVE_READ_S, connect=INTERACTIVE_CONNECT_S)


def api_headers(token: str | None) -> dict[str, str]:
    """The headers of an API call: Parlour's user agent, and the token only when the person gave one."""
    huggingface_hub()
    from huggingface_hub.utils import build_hf_headers

    from app import __version__

    return build_hf_headers(token=token_arg(token), library_name="parlour", library_version=__version__)


def request_headers(token: str | None) -> dict[str, str]:
    headers = api_headers(token)
    # Byte ranges only mean something on the bytes as stored; never let a proxy compress them.
    headers["Accept-Encoding"] = "identity"
    return headers


def file_url(repo_id: str, path: str, revision: str) -> str:
    hub = huggingface_hub()
    return hub.hf_hub_url(repo_id, path, revision=revision, endpoint=hub_endpoint())


def raise_for_status(response: Any) -> None:
    huggingface_hub()
    from huggingface_hub.utils import hf_raise_for_status

    hf_raise_for_status(response)
