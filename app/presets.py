"""Generation presets: Parlour's built-in three plus the user's own, as parameter overrides.

A preset only holds sampling values; applying one over the current settings keeps
everything it does not mention (stop strings, seed, context policy).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from engines.base import GenerationParams

# Read through importlib.resources so the presets are found in a wheel or an app bundle too.
BUILTIN_PRESETS_FILE = files("resources") / "presets.json"
DEFAULT_PRESET = "Balanced"


@lru_cache(maxsize=1)
def builtin_presets() -> dict[str, dict[str, Any]]:
    return json.loads(BUILTIN_PRESETS_FILE.read_text(encoding="utf-8"))


def apply_preset(params: GenerationParams, values: dict[str, Any]) -> GenerationParams:
    return GenerationParams.from_dict({**params.to_dict(), **values})


def all_presets(store: Any) -> dict[str, dict[str, Any]]:
    """Built-ins first, then the user's (a user preset may not take a built-in's name)."""
    from app.store.presets import list_presets

    presets = dict(builtin_presets())
    for preset in list_presets(store):
        presets.setdefault(preset.name, preset.parameters)
    return presets


def is_builtin(name: str) -> bool:
    return name in builtin_presets()


def model_defaults(store: Any, model_path: str) -> dict[str, Any] | None:
    """The parameters saved as this model's defaults, or None."""
    from app.store import settings

    return settings.model_defaults(store, model_path)


def save_model_defaults(store: Any, model_path: str, params: GenerationParams) -> None:
    from app.store import settings

    settings.set_model_defaults(store, model_path, params.to_dict())
