"""The Compare view on real models: the starter GGUF on llama.cpp, its MLX twin and a remote one (llama-cpp-
python's server on 127.0.0.1). Replies stream into columns with their figures; a low memory budget makes
the models answer one after another; greedy replies equal a normal chat's; follow-ups go to every column;
verdicts, reopening after a restart, continuing a column as a chat; a model that cannot load and a host
that crashes mid-reply fail only their column."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from app.store import comparisons
from app.store.branches import load_thread
from app.store.comparisons import TIE, ComparedModel
from app.store.conversations import get_conversation
from app.store.db import Store, open_store
from app.ui.compare_window import CompareWindow
from app.ui.main_window import MainWindow
from engines.base import GenerationParams
from tests.ui.conftest import REPLY_TIMEOUT_MS

GREEDY = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=24, seed=0)
PROMPT = "What is the capital of France? Answer in one sentence."
HUGE = 1 << 50  # a budget every model fits in


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = open_store(tmp_path / "parlour.db")
    yield opened
    opened.close()


def _window(qtbot, store: Store, models: list[ComparedModel], budget: int = HUGE, params=GREEDY) -> CompareWindow:  # noqa: ANN001
    window = CompareWindow(store, lambda: models, lambda: params, memory_budget=budget)
    qtbot.addWidget(window)
    window.show()
    window.choose(models)
    return window


def _ask(qtbot, window: CompareWindow, prompt: str = PROMPT) -> list[tuple[int, Any, str, str]]:  # noqa: ANN001
    """Send and wait until every column has finished; returns (position, stats, reason, error) in order."""
    ended: list[tuple[int, Any, str, str]] = []
    window.session.column_finished.connect(lambda *args: ended.append(args))
    window.prompt.setPlainText(prompt)
    window.send()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=REPLY_TIMEOUT_MS * 2)
    return ended


@pytest.mark.mlx
def test_two_engines_stream_side_by_side_with_their_figures(
    qtbot, store: Store, starter_gguf: Path, mlx_dir: Path
) -> None:  # noqa: ANN001
    models = [ComparedModel("gguf", str(starter_gguf), "llamacpp"), ComparedModel("mlx twin", str(mlx_dir), "mlx")]
    window = _window(qtbot, store, models)
    assert window.plan_line.text().startswith("At the same time")
    settings = window.settings
    assert (settings.temperature.value(), settings.seed.value(), settings.max_tokens.value()) == (0.0, 0, 24)
    ended = _ask(qtbot, window)
    assert sorted(position for position, *_ in ended) == [0, 1]
    assert all(reason in ("stop", "length") and not error for _, _, reason, error in ended)
    for column in window.columns:
        assert "Paris" in column.text
        figures = column.figures.text()
        assert "TTFT" in figures and "tokens/s" in figures and "tokens" in figures and "peak" in figures
    (first,) = comparisons.rounds(store, window.session.conversation_id)
    assert [reply.model for reply in first.replies if reply] == ["gguf", "mlx twin"]
    assert all(reply and reply.stats and reply.stats.generated_tokens > 0 for reply in first.replies)


def test_a_low_budget_runs_the_models_one_after_another(qtbot, store: Store, starter_gguf: Path) -> None:  # noqa: ANN001
    models = [
        ComparedModel("first", str(starter_gguf), "llamacpp"),
        ComparedModel("second", str(starter_gguf), "llamacpp"),
    ]
    window = _window(qtbot, store, models, budget=1)
    assert window.plan_line.text().startswith("One after another")
    assert len(window.session._bridges) == 1  # one engine host, so one model in memory at a time
    events: list[str] = []
    window.session.column_started.connect(lambda p: events.append(f"start {p}"))
    window.session.column_finished.connect(lambda p, *_: events.append(f"end {p}"))
    window.settings.seed.setValue(42)  # changed in the view before the first prompt: every model gets it
    window.settings.max_tokens.setValue(16)
    _ask(qtbot, window)
    assert events == ["start 0", "end 0", "start 1", "end 1"]
    stored = get_conversation(store, window.session.conversation_id).parameters
    assert (stored["seed"], stored["max_tokens"], stored["temperature"]) == (42, 16, 0.0)
    assert not window.settings.seed.isEnabled()  # a comparison keeps the settings it was run with
    assert window.columns[0].text == window.columns[1].text  # the same model, greedy: the same reply


def test_greedy_replies_equal_a_normal_chat_and_follow_ups_go_to_every_column(
    qtbot, window: MainWindow, starter_gguf: Path
) -> None:  # noqa: ANN001
    window.chat.set_params(GREEDY)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.chat.send(PROMPT)
    chat_reply = window.chat.messages.row_at(1).content
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.chat.send("And of Italy?")
    chat_follow_up = window.chat.messages.row_at(3).content

    window.show_compare()
    compare = window.tool_windows["compare"]
    starter = next(m for m in window.comparable_models() if m.path == str(starter_gguf))
    compare.choose([starter, starter])
    _ask(qtbot, compare)
    _ask(qtbot, compare, "And of Italy?")
    first, second = comparisons.rounds(window.store, compare.session.conversation_id)
    assert [r.content for r in first.replies if r] == [chat_reply, chat_reply]
    assert second.prompt == "And of Italy?" and [r.content for r in second.replies if r] == [chat_follow_up] * 2
    # The comparison is listed among the conversations, as a comparison, and opens in the Compare view.
    comparison_id = compare.session.conversation_id
    assert get_conversation(window.store, comparison_id).kind == "comparison"
    labels = [window.sidebar.list.model().index(i, 0).data() for i in range(window.sidebar.list.model().rowCount())]
    assert f"Comparison · {PROMPT}"[:20] in " ".join(labels)


def test_verdicts_and_the_comparison_come_back_after_a_restart(qtbot, tmp_path: Path, starter_gguf: Path) -> None:  # noqa: ANN001
    models = [ComparedModel("a", str(starter_gguf), "llamacpp"), ComparedModel("b", str(starter_gguf), "llamacpp")]
    store = open_store(tmp_path / "parlour.db")
    window = _window(qtbot, store, models)
    _ask(qtbot, window)
    window.columns[1].best.click()
    texts = [column.text for column in window.columns]
    comparison_id = window.session.conversation_id
    window.close()
    store.close()

    store = open_store(tmp_path / "parlour.db")
    again = CompareWindow(store, lambda: models, lambda: GREEDY, memory_budget=HUGE)
    qtbot.addWidget(again)
    again.open_comparison(comparison_id)
    assert [column.text for column in again.columns] == texts
    assert [column.best.isChecked() for column in again.columns] == [False, True]
    again.tie_button.click()
    assert comparisons.rounds(store, comparison_id)[0].winner == TIE
    assert not any(column.best.isChecked() for column in again.columns)
    assert not again.choosers[0].isEnabled()  # a kept comparison keeps its models
    _ask(qtbot, again, "And of Italy?")  # and goes on where it was
    assert len(comparisons.rounds(store, comparison_id)) == 2
    again.export(str(tmp_path / "comparison.md"))
    exported = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert "## Round 2" in exported and exported.count("### a") == 2 and "Could not" not in again.status_line.text()
    again.export(str(tmp_path / "missing-folder" / "comparison.md"))
    assert again.status_line.text().startswith("Could not export the comparison")
    again.close()
    store.close()


def test_a_column_continues_as_a_chat_in_the_window(qtbot, window: MainWindow, starter_gguf: Path) -> None:  # noqa: ANN001
    window.show_compare()
    compare = window.tool_windows["compare"]
    compare.session.memory_budget = HUGE
    starter = next(m for m in window.comparable_models() if m.path == str(starter_gguf))
    compare.choose([starter, starter])
    _ask(qtbot, compare)
    compare.columns[1].continue_button.click()
    qtbot.waitUntil(lambda: window.chat.conversation_id != compare.session.conversation_id, timeout=10_000)
    thread = load_thread(window.store, window.chat.conversation_id)
    column_reply = comparisons.rounds(window.store, compare.session.conversation_id)[0].replies[1]
    assert thread.conversation.kind == "chat"
    assert [(m.role, m.content) for m in thread.messages] == [("user", PROMPT), ("assistant", column_reply.content)]
    assert thread.messages[1].model == compare.session.columns[1].model.name
    assert thread.messages[1].stats == column_reply.stats
    assert window.chat.messages.rowCount() == 2
    # Closed (its engine hosts end) and opened again, the view shows the same comparison and goes on.
    compare.close()
    assert not compare.session._bridges
    window.show_compare()
    assert window.tool_windows["compare"] is compare
    _ask(qtbot, compare, "And of Italy?")
    assert len(comparisons.rounds(window.store, compare.session.conversation_id)) == 2


def test_a_model_that_cannot_load_fails_its_column_only(
    qtbot, store: Store, starter_gguf: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 20)
    models = [ComparedModel("broken", str(broken), "llamacpp"), ComparedModel("good", str(starter_gguf), "llamacpp")]
    window = _window(qtbot, store, models)
    ended = {position: (reason, error) for position, _, reason, error in _ask(qtbot, window)}
    assert ended[0][0] == "error" and ended[0][1].startswith("broken could not be loaded")
    assert ended[1] == ("stop", "") or ended[1] == ("length", "")
    assert window.columns[0].figures.text().startswith("broken could not be loaded")
    assert "Paris" in window.columns[1].text


def test_a_host_that_crashes_mid_reply_fails_its_column_and_the_other_goes_on(
    qtbot, store: Store, starter_gguf: Path
) -> None:  # noqa: ANN001
    models = [
        ComparedModel("doomed", str(starter_gguf), "llamacpp"),
        ComparedModel("fine", str(starter_gguf), "llamacpp"),
    ]
    long = dataclasses.replace(GREEDY, max_tokens=400)
    window = _window(qtbot, store, models, params=long)
    killed: list[int] = []

    def kill_the_first(position: int, _text: str) -> None:
        if position == 0 and not killed:
            process = window.session._bridges[0].client._process
            killed.append(process.pid)
            os.kill(process.pid, signal.SIGKILL)

    window.session.column_text.connect(kill_the_first)
    ended = {
        position: (reason, error)
        for position, _, reason, error in _ask(qtbot, window, "Write a long story about a dragon.")
    }
    assert killed and ended[0][0] == "error" and ended[0][1]
    assert ended[1][0] in ("stop", "length") and window.columns[1].text
    (first,) = comparisons.rounds(store, window.session.conversation_id)
    assert first.replies[0] is not None and first.replies[0].finish_reason == "error"
    # The next round loads the crashed column's model again.
    ended = {position: reason for position, _, reason, _ in _ask(qtbot, window)}
    assert ended == {0: ended[0], 1: ended[1]} and "error" not in ended.values()


def test_a_remote_model_takes_part(qtbot, test_keyring, llama_server: str, store: Store, starter_gguf: Path) -> None:  # noqa: ANN001
    from app.library import remotes
    from tests.support.remote_servers import KEY, served_model

    endpoint = remotes.add_endpoint("box", llama_server, KEY)
    remote = remotes.model_of(endpoint, served_model(llama_server))
    try:
        models = [
            ComparedModel("local", str(starter_gguf), "llamacpp"),
            ComparedModel(remote.name, str(remote.path), "remote"),
        ]
        window = _window(qtbot, store, models)
        assert window.columns[1].where.text() == "Remote · leaves this computer"
        assert window.columns[0].where.text() == "On this computer"
        ended = {position: reason for position, _, reason, _ in _ask(qtbot, window)}
        assert set(ended.values()) <= {"stop", "length"}
        assert all("Paris" in column.text for column in window.columns)
    finally:
        remotes.remove_endpoint("box")


def test_the_models_menu_opens_the_compare_view_and_the_evaluation_sets(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    models_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Models")
    texts = [action.text() for action in models_menu.actions()]
    assert "Compare models…" in texts and "Evaluation sets…" in texts and "Tools (MCP servers)…" in texts
    window.actions.compare.trigger()
    compare = window.tool_windows["compare"]
    listed = window.comparable_models()
    assert compare.isVisible() and compare.chosen_models() == listed[:2]
    if len(listed) < 2:  # the starter alone: nothing to compare it with yet
        assert compare.plan_line.text() == "Choose at least two models to compare." and not compare.columns
        assert not compare.send_button.isEnabled()
    window.actions.evals.trigger()
    evals = window.tool_windows["evals"]
    assert evals.isVisible() and evals.windowTitle()
    window.actions.tools.trigger()
    assert window.tool_windows["tools"].isVisible() and window.tool_windows["tools"].windowTitle() == "Tool servers"
