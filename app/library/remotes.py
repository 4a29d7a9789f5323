"""Remote endpoints: OpenAI-compatible servers the person added (a vLLM or llama-server box, a hosted
API), each with a name, a base URL and the models it served when it was added or refreshed.

The list lives in the store's settings; API keys only in the system keyring, under the endpoint's
name (engines.remote_target.KEYRING_SERVICE). Nothing here touches the network except `add_endpoint`
and `refresh_endpoint`, which the person asks for. A remote model is named `remote:NAME/MODEL`, and
is always described as leaving this computer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.store import settings
from app.store.settings import Setting
from engines.base import InvalidRequestError, ModelFileError, ModelInfo
from engines.remote_target import KEYRING_SERVICE, RemoteTarget, check_base_url

USER_PREFIX = "remote:"
LEAVES = "leaves this computer"


@dataclass(frozen=True)
class Endpoint:
    name: str
    base_url: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class RemoteModel:
    """A model on an endpoint, shaped as the model lists show local ones."""

    name: str  # "MODEL on NAME"
    path: str  # the engine's load reference (remote:{...}); never a file
    info: ModelInfo
    origin: str = f"remote · {LEAVES}"
    problem: str | None = None
    hidden: bool = field(default=False)

    @property
    def engine(self) -> str:
        return "remote"


def _read(store: Any = None) -> list[Endpoint]:
    from app.library.settings import library_store

    with library_store(store) as opened:
        raw = settings.get(opened, Setting.REMOTE_ENDPOINTS)
    try:
        items = json.loads(raw)
        return [Endpoint(str(i["name"]), str(i["base_url"]), tuple(str(m) for m in i["models"])) for i in items]
    except (ValueError, KeyError, TypeError):
        return []  # a damaged list: as if none were added; adding one writes a good list again


def _write(endpoints: list[Endpoint], store: Any = None) -> None:
    from app.library.settings import library_store

    value = json.dumps([{"name": e.name, "base_url": e.base_url, "models": list(e.models)} for e in endpoints])
    with library_store(store) as opened:
        settings.put(opened, Setting.REMOTE_ENDPOINTS, value)


def list_endpoints(store: Any = None) -> list[Endpoint]:
    return _read(store)


def add_endpoint(name: str, base_url: str, key: str | None, store: Any = None) -> Endpoint:
    """Keep an endpoint (its key in the keyring) after asking it for its models: the one network call."""
    from engines.remote import list_models

    name = name.strip()
    if not name or "/" in name or len(name) > 64:
        raise InvalidRequestError("Name the endpoint in a few characters, without '/'.")
    url = check_base_url(base_url)
    models = tuple(list_models(RemoteTarget(name, url, ""), key or None))
    if key:
        _keep_key(name, key)
    endpoint = Endpoint(name, url, models)
    _write([e for e in _read(store) if e.name != name] + [endpoint], store)
    return endpoint


def remove_endpoint(name: str, store: Any = None) -> None:
    endpoints = _read(store)
    if not any(e.name == name for e in endpoints):
        raise ModelFileError(f"No remote endpoint is called '{name}'; `parlour remotes list` shows them.")
    _write([e for e in endpoints if e.name != name], store)
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, name)
    except Exception:  # no key was kept, or no keyring: nothing to delete
        pass


def _keep_key(name: str, key: str) -> None:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, name, key)
    except Exception as err:
        raise InvalidRequestError(
            "This computer has no system keyring, and Parlour keeps API keys nowhere else."
        ) from err


def remote_models(store: Any = None) -> list[RemoteModel]:
    return [model_of(e, m) for e in _read(store) for m in e.models]


def model_of(endpoint: Endpoint, model: str) -> RemoteModel:
    target = RemoteTarget(endpoint.name, endpoint.base_url, model)
    info = ModelInfo(path=target.ref(), engine="remote", format="remote", name=target.label)
    return RemoteModel(target.label, target.ref(), info)


def resolve_remote(ref: str, store: Any = None) -> RemoteModel:
    """`remote:NAME/MODEL` (as the person types it) -> the configured endpoint's model."""
    name, _, model = ref[len(USER_PREFIX) :].partition("/")
    endpoint = next((e for e in _read(store) if e.name == name), None)
    if endpoint is None:
        raise ModelFileError(f"No remote endpoint is called '{name}'; add it with `parlour remotes add`.")
    if not model:
        raise ModelFileError(f"Name a model of {name}: remote:{name}/MODEL ({', '.join(endpoint.models[:5])}).")
    return model_of(endpoint, model)
