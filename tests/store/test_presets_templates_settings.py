"""Presets, stored templates with per-model overrides, and non-secret settings."""

from __future__ import annotations

import pytest

from app.presets import model_defaults as preset_model_defaults
from app.presets import save_model_defaults
from app.store import settings
from app.store.db import Store, open_store
from app.store.errors import NotFoundError, StoreError
from app.store.presets import delete_preset, get_preset, list_presets, rename_preset, save_preset
from app.store.settings import SPECS, Setting, all_settings, delete_setting, get_setting, set_setting
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
from engines.base import GenerationParams


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


# --- typed settings -------------------------------------------------------------------------------------


def test_every_setting_declares_a_type_and_a_default_that_fits_it() -> None:
    assert set(SPECS) == set(Setting)
    for key, spec in SPECS.items():
        assert settings.fits(spec.kind, spec.default), key
        assert not settings._SECRET_LOOKING.search(key), key


def test_typed_settings_answer_defaults_then_what_was_put_across_restarts(store: Store) -> None:
    assert {key: settings.get(store, key) for key in Setting} == {key: SPECS[key].default for key in Setting}
    settings.get(store, Setting.HIDDEN_MODELS).append("/changed/a/copy")  # a default is a fresh copy
    assert settings.get(store, Setting.HIDDEN_MODELS) == []
    settings.put(store, Setting.MODELS_FOLDER, "/big-disk/models")
    settings.put(store, Setting.HIDDEN_MODELS, ["/a.gguf", "/b"])
    settings.put(store, Setting.FIT_CONTEXT, 32768)
    settings.put(store, Setting.WINDOW_PARAMS_VISIBLE, False)
    with open_store(store.path) as again:
        assert settings.get(again, Setting.MODELS_FOLDER) == "/big-disk/models"
        assert settings.get(again, Setting.HIDDEN_MODELS) == ["/a.gguf", "/b"]
        assert settings.get(again, Setting.FIT_CONTEXT) == 32768
        assert settings.get(again, Setting.WINDOW_PARAMS_VISIBLE) is False
    settings.put(store, Setting.MODELS_FOLDER, None)
    settings.clear(store, Setting.FIT_CONTEXT)
    assert settings.get(store, Setting.MODELS_FOLDER) is None and not settings.is_set(store, Setting.FIT_CONTEXT)
    assert settings.get(store, Setting.FIT_CONTEXT) == 8192


@pytest.mark.parametrize(
    ("key", "value", "sentence"),
    [
        (Setting.FIT_CONTEXT, True, "The setting browser.fit_context takes a whole number, not bool."),
        (Setting.FIT_CONTEXT, "8192", "The setting browser.fit_context takes a whole number, not str."),
        (Setting.HIDDEN_MODELS, ["/a", 3], "The setting library.hidden_models takes a list of text, not list."),
        (Setting.HIDDEN_MODELS, ("/a",), "The setting library.hidden_models takes a list of text, not tuple."),
        (Setting.MODELS_FOLDER, 7, "The setting library.models_folder takes text or nothing, not int."),
        (Setting.WINDOW_PARAMS_VISIBLE, 1, "The setting window.params_visible takes true or false, not int."),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_a_sentence(
    store: Store, key: Setting, value: object, sentence: str
) -> None:
    with pytest.raises(TypeError) as refused:
        settings.put(store, key, value)
    assert str(refused.value) == sentence
    with pytest.raises(TypeError):
        set_setting(store, key.value, value)  # the old name checks a declared key's type too
    assert all_settings(store) == {}


def test_a_stored_value_that_no_longer_fits_reads_as_the_default(store: Store) -> None:
    # As a hand-edited or older store might hold them (the table only checks that values are JSON).
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ''), (?, ?, '')",
            (Setting.FIT_CONTEXT.value, '"lots"', Setting.HIDDEN_MODELS.value, '["/a", 3]'),
        )
    assert settings.get(store, Setting.FIT_CONTEXT) == 8192
    assert settings.get(store, Setting.HIDDEN_MODELS) == []
    assert get_setting(store, Setting.FIT_CONTEXT.value, default=4096) == 4096
    assert settings.is_set(store, Setting.FIT_CONTEXT)


def test_the_old_names_still_read_and_write_declared_keys(store: Store) -> None:
    assert get_setting(store, "window.params_visible", True) is True
    set_setting(store, "window.params_visible", False)
    set_setting(store, "window.geometry", "AAAA")
    assert settings.get(store, Setting.WINDOW_PARAMS_VISIBLE) is False
    assert get_setting(store, "window.geometry") == settings.get(store, Setting.WINDOW_GEOMETRY) == "AAAA"


def test_each_model_has_its_own_defaults(store: Store) -> None:
    assert settings.model_defaults(store, "/models/a.gguf") is None
    settings.set_model_defaults(store, "/models/a.gguf", {"temperature": 0.2})
    # A path is the user's: a folder named like a secret is still just a path.
    settings.set_model_defaults(store, "/home/me/api_key-tests/tokens.gguf", {"top_k": 5})
    assert settings.model_defaults(store, "/models/a.gguf") == {"temperature": 0.2}
    assert settings.model_defaults(store, "/home/me/api_key-tests/tokens.gguf") == {"top_k": 5}
    with pytest.raises(TypeError, match="must map parameter names to values"):
        settings.set_model_defaults(store, "/models/a.gguf", [("temperature", 1.0)])  # type: ignore[arg-type]
    settings.clear_model_defaults(store, "/models/a.gguf")
    assert settings.model_defaults(store, "/models/a.gguf") is None
    # The presets module saves whole parameter sets through the same pair.
    params = GenerationParams(temperature=0.3, max_tokens=77)
    save_model_defaults(store, "/models/b", params)
    assert GenerationParams.from_dict(preset_model_defaults(store, "/models/b") or {}) == params
