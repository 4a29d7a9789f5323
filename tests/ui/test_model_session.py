"""The model session with a real store and the real engine host on the starter model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.db import Store, open_store
from app.store.templates import override_for
from app.ui.model_session import ModelSession
from engines.base import ModelInfo

LOAD_TIMEOUT_MS = 60_000
TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"


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


def test_load_reports_progress_and_the_model_and_polls_memory_while_idle(
    qtbot, session: ModelSession, starter_gguf: Path
) -> None:
    fractions: list[float] = []
    session.progress.connect(fractions.append)
    assert not session.is_loaded and session.context_length == 0
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        session.load(str(starter_gguf), name="Starter")
    info, engine = loaded.args
    assert isinstance(info, ModelInfo) and info.path == str(starter_gguf) and engine == "llamacpp"
    assert session.info is info and session.engine == "llamacpp" and session.engine_name == "llama.cpp"
    assert session.name == "Starter" and session.path == str(starter_gguf)
    assert session.context_length == info.context_length > 0
    assert fractions and fractions[0] == 0.0
    assert session.template_source() == "the model's own template"  # the starter's GGUF has one
    with qtbot.waitSignal(session.memory, timeout=30_000) as memory:
        session.poll_memory()
    assert memory.args[0] > 50e6  # the host holds the model
    session.set_generating(True)
    with qtbot.assertNotEmitted(session.memory, wait=300):
        session.poll_memory()  # the host is busy writing a reply: no ping
    session.set_generating(False)
    with qtbot.waitSignal(session.unloaded):
        session.unload()
    assert not session.is_loaded and session.info is None and session.context_length == 0
    with qtbot.assertNotEmitted(session.memory, wait=300):
        session.poll_memory()  # nothing loaded: nothing to poll


def test_a_bad_model_fails_with_a_sentence_and_the_next_load_works(
    qtbot, session: ModelSession, bad_models: dict, starter_gguf: Path
) -> None:
    path, phrase = bad_models["truncated_half"]
    with qtbot.waitSignal(session.load_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        session.load(str(path))
    assert phrase in failed.args[0] and "Traceback" not in failed.args[0]
    assert not session.is_loaded
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.load(str(starter_gguf))
    assert session.name == session.info.name  # no name given: the model's own


def test_the_template_override_is_kept_per_model_and_found_on_the_next_load(
    qtbot, session: ModelSession, store: Store, starter_gguf: Path
) -> None:
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.load(str(starter_gguf))
    with qtbot.waitSignal(session.template_changed):
        session.set_template_override(TEMPLATE)
    assert session.template_source() == "your template" and session.template_override == TEMPLATE
    assert override_for(starter_gguf, store) == TEMPLATE
    session.context_setting = 1024
    with qtbot.waitSignal(session.loaded, timeout=LOAD_TIMEOUT_MS):
        session.reload()  # a new context length: the same model again, with the override
    assert session.context_length == 1024 and session.template_override == TEMPLATE
    session.set_template_override(None)
    assert override_for(starter_gguf, store) is None and session.template_source() == "the model's own template"
