"""The load settings dialog on real widgets, a real store and the real engine host: it shows what is kept,
refuses what the engine cannot run, estimates memory as the fields change, and what it saves is what the
next load of the model gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from app.library.catalog import LocalModel
from app.store.db import Store, open_store
from app.store.load_settings import save_load_settings, stored_load_settings
from app.ui.load_settings_dialog import LLAMACPP_ONLY, LoadSettingsDialog
from app.ui.model_picker import ModelPicker
from app.ui.model_session import ModelSession
from engines.inspect import inspect_model

LOAD_TIMEOUT_MS = 60_000
FACTS_TIMEOUT_MS = 30_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "parlour.db")
    yield opened
    opened.close()


@pytest.fixture
def session(qtbot, store: Store) -> Iterator[ModelSession]:
    made = ModelSession(store)
    yield made
    made.shutdown()


@pytest.fixture
def starter(starter_gguf: Path) -> LocalModel:
    return LocalModel("SmolLM2 (starter)", starter_gguf, "starter", inspect_model(starter_gguf))


def _open(qtbot, model: LocalModel, store: Store, session: ModelSession | None = None) -> LoadSettingsDialog:
    dialog = LoadSettingsDialog(model, store, session)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.ready, timeout=FACTS_TIMEOUT_MS):
        dialog.show()
    return dialog


def test_the_dialog_shows_what_is_kept_for_the_model(qtbot, store: Store, starter: LocalModel, tmp_path: Path) -> None:
    draft = tmp_path / "small.gguf"
    draft.write_bytes(b"GGUF")  # only its path is kept and shown; nothing loads it here
    kept = {
        "context_length": 2048,
        "kv_cache_type": "q4_0",
        "flash_attention": True,
        "gpu_layers": -1,
        "threads": 1,
        "batch_size": 256,
        "memory_lock": True,
        "prompt_lookup": False,
        "draft_model": str(draft),
        "max_draft_tokens": 4,
    }
    save_load_settings(store, starter.path, kept)
    dialog = _open(qtbot, starter, store)
    assert dialog.values() == {**kept, "memory_map": True}
    assert dialog.context_length.text() == "2,048 tokens" and dialog.gpu_layers.text() == "All"
    assert dialog.draft_model.currentText() == "small.gguf"
    assert dialog.kv_cache_type.currentText() == "q4_0 (about a quarter)"
    assert dialog.save_button.isEnabled() and not dialog.problem.isVisible()
    draft.unlink()  # a draft model that is gone is shown as none, not as a broken choice
    again = _open(qtbot, starter, store)
    assert again.draft_model.currentData() is None and again.values()["max_draft_tokens"] == 4


def test_a_quantized_cache_without_flash_attention_is_refused_with_the_engines_sentence(
    qtbot, store: Store, starter: LocalModel
) -> None:
    dialog = _open(qtbot, starter, store)
    dialog.kv_cache_type.setCurrentIndex(dialog.kv_cache_type.findData("q8_0"))
    assert dialog.save_button.isEnabled()  # automatic flash attention turns itself on for it
    dialog.flash_attention.setCurrentIndex(dialog.flash_attention.findText("Off"))
    assert dialog.problem.isVisible() and not dialog.save_button.isEnabled()
    assert dialog.problem.text().startswith("A q8_0 KV cache needs flash attention on llama.cpp")
    dialog.flash_attention.setCurrentIndex(dialog.flash_attention.findText("On"))
    assert not dialog.problem.isVisible() and dialog.save_button.isEnabled()
    dialog.batch_size.setValue(8)  # under the engine's least batch
    assert "batch size must be a whole number from 32 to 8,192" in dialog.problem.text()
    assert not dialog.save_button.isEnabled()
    dialog.batch_size.setValue(64)
    dialog.context_length.setValue(9000)  # past the starter's 8,192
    assert "at most 8,192 tokens" in dialog.problem.text() and not dialog.save_button.isEnabled()


def test_the_estimate_follows_the_context_and_the_cache(qtbot, store: Store, starter: LocalModel) -> None:
    dialog = _open(qtbot, starter, store)
    own = dialog.estimate.text()
    assert own.startswith("About ") and "with the model's own context (" in own and own.endswith(" is free.")
    dialog.context_length.setValue(1024)
    short = dialog.estimate.text()
    assert "with this context" in short and short != own
    dialog.context_length.setValue(8192)
    long = dialog.estimate.text()
    dialog.kv_cache_type.setCurrentIndex(dialog.kv_cache_type.findData("q4_0"))
    smaller = dialog.estimate.text()
    assert _megabytes(short) < _megabytes(long) and _megabytes(smaller) < _megabytes(long)


def _megabytes(line: str) -> float:
    about, number, unit = line.split()[:3]
    assert about == "About" and unit in ("MB", "GB"), line
    return float(number) * (1000 if unit == "GB" else 1)


def test_save_keeps_the_changes_and_the_loaded_model_is_loaded_again_with_them(
    qtbot, store: Store, session: ModelSession, starter: LocalModel, starter_gguf: Path
) -> None:
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.load(str(starter_gguf))
    assert session.context_length == 8192 and session.load_settings.kv_cache_type == "f16"
    assert session.load_settings.prompt_cache_dir  # the prompt cache on disk is the app's, always there
    dialog = _open(qtbot, starter, store, session)
    dialog.context_length.setValue(1024)
    dialog.kv_cache_type.setCurrentIndex(dialog.kv_cache_type.findData("q8_0"))
    dialog.threads.setValue(1)
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        dialog.save_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert stored_load_settings(store, starter_gguf) == {"context_length": 1024, "kv_cache_type": "q8_0", "threads": 1}
    used = session.load_settings
    assert (used.context_length, used.kv_cache_type, used.threads) == (1024, "q8_0", 1)
    assert session.context_length == 1024  # the engine really loaded it so
    # The parameters panel's context length wins over the model's own; the rest still applies.
    session.context_setting = 2048
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.reload()
    assert session.context_length == 2048 and session.load_settings.kv_cache_type == "q8_0"
    session.context_setting = None
    # Reset forgets them, and the model is loaded again with the defaults.
    reset = _open(qtbot, starter, store, session)
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        reset.reset_button.click()
    assert stored_load_settings(store, starter_gguf) == {}
    assert session.load_settings.kv_cache_type == "f16" and session.context_length == 8192


def test_saving_settings_of_a_model_not_loaded_loads_nothing(qtbot, store: Store, starter: LocalModel) -> None:
    session = ModelSession(store)
    try:
        dialog = _open(qtbot, starter, store, session)
        dialog.memory_map.setChecked(False)
        with qtbot.assertNotEmitted(session.load_started):
            dialog.save_button.click()
        assert stored_load_settings(store, starter.path) == {"memory_map": False}
    finally:
        session.shutdown()


def test_llamacpp_only_fields_are_off_for_an_mlx_model(qtbot, store: Store, mlx_dir: Path) -> None:
    model = LocalModel("SmolLM2 MLX", mlx_dir, "models folder", inspect_model(mlx_dir))
    dialog = _open(qtbot, model, store)
    fields = (dialog.gpu_layers, dialog.flash_attention, dialog.batch_size, dialog.memory_map, dialog.memory_lock)
    for field in fields:
        assert not field.isEnabled() and field.toolTip() == LLAMACPP_ONLY
    assert [dialog.kv_cache_type.itemText(i) for i in range(3)] == [
        "16-bit (full size)",
        "8-bit (about half)",
        "4-bit (about a quarter)",
    ]
    dialog.kv_cache_type.setCurrentIndex(1)
    dialog.flash_attention.setCurrentIndex(dialog.flash_attention.findText("Off"))
    assert dialog.save_button.isEnabled()  # MLX's 8-bit cache needs no flash attention switch
    assert dialog.estimate.text().startswith("About ")


def test_the_picker_opens_the_dialog_for_the_chosen_model(
    qtbot, store: Store, session: ModelSession, starter: LocalModel
) -> None:
    picker = ModelPicker(session)
    qtbot.addWidget(picker)
    picker._listed_before = True  # a later listing: nothing is loaded by it
    picker.set_models([starter])
    picker.load_settings_action.trigger()
    dialog = picker.load_settings_dialog
    assert isinstance(dialog, LoadSettingsDialog) and dialog.isVisible()
    assert dialog.model is starter and dialog.windowTitle() == "Load settings · SmolLM2 (starter)"
    qtbot.waitUntil(lambda: dialog.facts is not None, timeout=FACTS_TIMEOUT_MS)
    dialog.reject()
