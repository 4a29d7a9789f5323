"""The chat controller with a real store, the real engine host (through the model session) and
the starter model."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import branches
from app.store.db import open_store
from app.ui.chat_controller import ChatController
from app.ui.model_session import ModelSession
from engines.base import Finished, GenerationParams
from tests.conftest import FRANCE

TIMEOUT_MS = 120_000


@pytest.fixture
def controller(qtbot, tmp_path: Path, starter_gguf: Path) -> Iterator[ChatController]:
    store = open_store(tmp_path / "parlour.db")
    session = ModelSession(store)
    chat = ChatController(store, session)
    with qtbot.waitSignal(session.loaded, timeout=TIMEOUT_MS):
        session.load(str(starter_gguf), name="SmolLM2")
    chat.set_params(GenerationParams(temperature=0.0, max_tokens=48, repeat_penalty=1.0))
    yield chat
    chat.shutdown()
    session.shutdown()
    store.close()


def finish(qtbot, chat: ChatController, start) -> Finished:  # noqa: ANN001
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT_MS) as blocker:
        assert start() is not False
    return blocker.args[0]


def shown(chat: ChatController) -> list[tuple[str, str]]:
    thread = branches.load_thread(chat.store, chat.conversation_id)
    return [(m.role, m.content) for m in thread.messages]


def rows(chat: ChatController) -> list[tuple[str, str]]:
    return [(row.role, row.content) for row in (chat.messages.row_at(i) for i in range(chat.messages.rowCount()))]


def test_send_stores_the_question_first_and_the_streamed_reply(qtbot, controller: ChatController, monkeypatch) -> None:
    deltas: list[str] = []
    stored_when_asked: list[list[tuple[str, str]]] = []
    resets: list[bool] = []
    controller.reply_delta.connect(lambda text, _reasoning: deltas.append(text))
    generate = controller.session.bridge.generate

    def generate_after_looking(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        stored_when_asked.append(shown(controller))
        return generate(*args, **kwargs)

    monkeypatch.setattr(controller.session.bridge, "generate", generate_after_looking)
    controller.messages.modelReset.connect(lambda: resets.append(True))
    finished = finish(qtbot, controller, lambda: controller.send(FRANCE))
    assert stored_when_asked == [[("user", FRANCE), ("assistant", "")]]  # on disk before the engine is asked
    assert finished.finish_reason == "stop" and finished.error is None
    assert finished.stats.generated_tokens > 3
    thread = shown(controller)
    assert thread[0] == ("user", FRANCE)
    assert thread[1][0] == "assistant" and "Paris" in thread[1][1]
    assert "".join(deltas) == thread[1][1]
    stored = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    assert stored.status == "done" and stored.finish_reason == "stop"
    assert stored.stats == finished.stats  # whole, as the engine reported it
    assert stored.model == "SmolLM2" and controller.session.engine == "llamacpp"
    assert rows(controller) == thread and not resets  # the model grew row by row and was settled in place
    assert controller.messages.last().stats == finished.stats


def test_regenerate_branches_and_the_switcher_moves_between_them(qtbot, controller: ChatController) -> None:
    finish(qtbot, controller, lambda: controller.send("Name a colour."))
    first_reply = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    controller.set_params(GenerationParams(temperature=1.0, seed=7, max_tokens=24))
    finish(qtbot, controller, lambda: controller.regenerate(first_reply.id))
    thread = branches.load_thread(controller.store, controller.conversation_id)
    second_reply = thread.messages[1]
    assert second_reply.id != first_reply.id
    assert thread.alternatives[second_reply.id] == (first_reply.id, second_reply.id)
    assert controller.messages.last().id == second_reply.id and controller.messages.last().sibling_position == 2
    controller.switch_branch(second_reply.id, -1)
    assert branches.load_thread(controller.store, controller.conversation_id).messages[1].id == first_reply.id
    assert rows(controller) == shown(controller)
    controller.switch_branch(first_reply.id, +1)
    assert branches.load_thread(controller.store, controller.conversation_id).messages[1].id == second_reply.id


def test_edit_makes_a_sibling_user_message_with_its_own_reply(qtbot, controller: ChatController) -> None:
    finish(qtbot, controller, lambda: controller.send("What is 2 + 2?"))
    original = branches.load_thread(controller.store, controller.conversation_id).messages[0]
    finish(qtbot, controller, lambda: controller.edit(original.id, FRANCE))
    thread = branches.load_thread(controller.store, controller.conversation_id)
    assert thread.messages[0].content == FRANCE and "Paris" in thread.messages[1].content
    assert original.id in thread.alternatives[thread.messages[0].id]


def test_max_tokens_reaches_the_engine_and_continue_extends_the_reply(qtbot, controller: ChatController) -> None:
    controller.set_params(GenerationParams(temperature=0.0, max_tokens=5, repeat_penalty=1.0))
    finished = finish(qtbot, controller, lambda: controller.send("Write a poem about the sea."))
    assert finished.finish_reason == "length" and finished.stats.generated_tokens == 5
    reply = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    controller.set_params(GenerationParams(temperature=0.0, max_tokens=8, repeat_penalty=1.0))
    finish(qtbot, controller, lambda: controller.continue_reply(reply.id))
    continued = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    assert continued.id == reply.id
    assert continued.content.startswith(reply.content) and len(continued.content) > len(reply.content)


def test_engine_crash_keeps_the_text_and_the_next_message_works(qtbot, controller: ChatController) -> None:
    controller.set_params(GenerationParams(max_tokens=1500))
    got_text = []
    controller.reply_delta.connect(lambda text, _r: got_text.append(text))
    with qtbot.waitSignal(controller.reply_finished, timeout=TIMEOUT_MS) as blocker:
        controller.send("Write a very long story about a lighthouse.")
        qtbot.waitUntil(lambda: len(got_text) > 3, timeout=TIMEOUT_MS)
        os.kill(controller.session.bridge.client.pid, signal.SIGKILL)
    failed = blocker.args[0]
    assert failed.finish_reason == "error" and "killed by signal 9" in failed.error
    reply = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    assert reply.finish_reason == "error" and reply.content  # the text so far is kept
    assert reply.content.startswith("".join(got_text)[:10])
    controller.set_params(GenerationParams(temperature=0.0, max_tokens=24))
    assert finish(qtbot, controller, lambda: controller.send("Say hello.")).finish_reason in ("stop", "length")


def test_stop_cancels_within_a_token_and_keeps_the_text(qtbot, controller: ChatController) -> None:
    controller.set_params(GenerationParams(max_tokens=1500))
    seen = []
    controller.reply_delta.connect(lambda text, _r: seen.append(text))
    with qtbot.waitSignal(controller.reply_finished, timeout=TIMEOUT_MS) as blocker:
        controller.send("Write a very long story about a mountain.")
        qtbot.waitUntil(lambda: len(seen) > 2, timeout=TIMEOUT_MS)
        controller.stop()
    stopped = blocker.args[0]
    assert stopped.finish_reason == "cancelled" and stopped.stats.generated_tokens < 200
    reply = branches.load_thread(controller.store, controller.conversation_id).messages[1]
    assert reply.finish_reason == "cancelled" and reply.content == "".join(seen)
