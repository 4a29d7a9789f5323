"""Presets, stored templates with per-model overrides, and non-secret settings."""

from __future__ import annotations

import pytest

from app.store.db import Store, open_store
from app.store.errors import NotFoundError, StoreError
from app.store.presets import delete_preset, get_preset, list_presets, rename_preset, save_preset
from app.store.settings import all_settings, delete_setting, get_setting, set_setting
from app.store.templates import (
    clear_model_template,
    delete_template,
    get_template,
    list_templates,
    model_template,
    model_template_overrides,
    save_template,
    set_model_template,
)


def test_presets_are_saved_replaced_renamed_and_deleted(store: Store) -> None:
    save_preset(store, "Precise", {"temperature": 0.1, "top_p": 0.5})
    save_preset(store, "creative", {"temperature": 1.1})
    replaced = save_preset(store, "PRECISE", {"temperature": 0.2})  # names ignore letter case
    assert replaced.name == "Precise" and replaced.parameters == {"temperature": 0.2}
    assert [p.name for p in list_presets(store)] == ["creative", "Precise"]
    with pytest.raises(StoreError, match="already a preset called “Creative”"):
        rename_preset(store, "Precise", "Creative")
    assert rename_preset(store, "Precise", "Exact").parameters == {"temperature": 0.2}
    delete_preset(store, "exact")
    with pytest.raises(NotFoundError, match="There is no preset called “Exact”."):
        get_preset(store, "Exact")
    with pytest.raises(StoreError):
        save_preset(store, "   ", {})
    with pytest.raises(ValueError):
        save_preset(store, "Broken", {"temperature": float("inf")})


def test_templates_and_model_overrides(store: Store) -> None:
    save_template(store, "ChatML", "<|im_start|>{{ role }}")
    assert get_template(store, "chatml").source == "<|im_start|>{{ role }}"
    save_template(store, "ChatML", "<|im_start|>{{ message.role }}")
    assert [t.source for t in list_templates(store)] == ["<|im_start|>{{ message.role }}"]
    assert model_template(store, "smollm2-135m") is None
    set_model_template(store, "smollm2-135m", get_template(store, "ChatML").source)
    set_model_template(store, "qwen3-0.6b", "{{ qwen }}")
    set_model_template(store, "qwen3-0.6b", "{{ qwen2 }}")
    # The override is its own copy: deleting the named template leaves it alone.
    delete_template(store, "ChatML")
    assert model_template_overrides(store) == {
        "smollm2-135m": "<|im_start|>{{ message.role }}",
        "qwen3-0.6b": "{{ qwen2 }}",
    }
    clear_model_template(store, "qwen3-0.6b")
    assert model_template(store, "qwen3-0.6b") is None
    with pytest.raises(NotFoundError):
        delete_template(store, "ChatML")


def test_settings_keep_json_values_across_restarts(store: Store) -> None:
    set_setting(store, "theme", "dark")
    set_setting(store, "window", {"width": 1200, "height": 800, "maximised": False})
    set_setting(store, "theme", "light")
    assert get_setting(store, "missing", default=3) == 3
    with open_store(store.path) as again:
        assert all_settings(again) == {
            "theme": "light",
            "window": {"width": 1200, "height": 800, "maximised": False},
        }
    delete_setting(store, "theme")
    assert get_setting(store, "theme") is None


@pytest.mark.parametrize("key", ["hf_token", "HuggingFace.Token", "openai_api_key", "proxy_password", "api-key"])
def test_secrets_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="keyring"):
        set_setting(store, key, "s3cr3t")
    assert all_settings(store) == {}
