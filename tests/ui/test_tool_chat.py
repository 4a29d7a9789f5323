"""Tools in the window's chat, on the starter model and a real MCP server from mcp.json: with tools on and
the call written by the grammar (the response format "tool_call", as a required call is), the call waits
on the card; Run runs it, its result is kept as a tool message answering the call and the reply goes on;
Deny is honoured; Always allow runs the next call without asking; calls and results are in the export."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.store.branches import load_thread
from app.store.export import export_markdown
from app.tools.approval import denied_sentence
from app.ui.main_window import MainWindow
from engines.base import GenerationParams
from tests.ui.conftest import REPLY_TIMEOUT_MS

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mcp_test_server.py"
GREEDY = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=48)


@pytest.fixture
def with_tools(qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:  # noqa: ANN001
    home = tmp_path / "home"
    home.mkdir()
    servers = {"mcpServers": {"test": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}}}
    (home / "mcp.json").write_text(json.dumps(servers))
    monkeypatch.setenv("PARLOUR_HOME", str(home))
    with qtbot.waitSignal(window.tool_session.ready, timeout=60_000) as ready:
        window.actions.use_tools.setChecked(True)
    assert ready.args[0].startswith("Tools on: 10 tools from 1 server")
    yield window
    window.actions.use_tools.setChecked(False)


def _only(window: MainWindow, *names: str) -> None:
    """Offer the model only these tools (the person's switches, as the Tools window saves them)."""
    servers = window.tool_session.servers
    disabled = {"test": [tool.name for tool in servers.tools(include_disabled=True) if tool.name not in names]}
    servers.set_disabled_tools(disabled)


def _required_call(window: MainWindow) -> None:
    tools = [
        {"type": "function", "function": {"name": t.key, "parameters": t.input_schema}}
        for t in window.tool_session.servers.tools()
    ]
    fmt = {"type": "tool_call", "format": "generic", "tools": tools}
    window.chat.set_params(replace(GREEDY, response_format=fmt))


def test_a_call_waits_for_run_then_its_result_goes_back_and_the_reply_continues(qtbot, with_tools: MainWindow) -> None:  # noqa: ANN001
    window = with_tools
    _only(window, "add")
    _required_call(window)
    with qtbot.waitSignal(window.chat.tool_rounds.approval_needed, timeout=REPLY_TIMEOUT_MS) as asked:
        window.chat.send("What is 2 plus 3? Use the add tool.")
    call, server = asked.args
    assert (call.name, server) == ("add", "test") and window.tool_approval.isVisible() and window.chat.busy
    assert "add" in window.tool_approval.title.text()
    window.chat.set_params(GREEDY)  # the reply after the result is free text
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.tool_approval.run.click()
    assert not window.tool_approval.isVisible() and not window.chat.busy
    thread = load_thread(window.store, window.chat.conversation_id).messages
    assert [m.role for m in thread] == ["user", "assistant", "tool", "assistant"]
    assert thread[1].tool_calls[0]["function"]["name"] == "add" and thread[2].tool_calls[0]["id"] == call.id
    assert thread[2].content == str(call.arguments["a"] + call.arguments["b"])  # the server did the sum
    assert "<tool_call>" not in thread[1].content and thread[3].content  # the call was never shown as text
    shown = [window.chat.messages.row_at(i) for i in range(window.chat.messages.rowCount())]
    assert [row.role for row in shown] == ["user", "assistant", "tool", "assistant"] and shown[1].tool_calls
    sent = window.chat.engine_messages()
    assert sent[1]["tool_calls"][0]["id"] == call.id and sent[2]["tool_call_id"] == call.id
    markdown = "".join(export_markdown(window.store, [window.chat.conversation_id]))
    assert "Tool calls: `add(" in markdown and "Result of `add(" in markdown


def test_deny_is_honoured_and_always_allow_skips_the_card(qtbot, with_tools: MainWindow) -> None:  # noqa: ANN001
    window = with_tools
    _only(window, "pid")
    _required_call(window)
    with qtbot.waitSignal(window.chat.tool_rounds.approval_needed, timeout=REPLY_TIMEOUT_MS):
        window.chat.send("What is the server's process id?")
    window.chat.set_params(GREEDY)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.tool_approval.deny.click()
    thread = load_thread(window.store, window.chat.conversation_id).messages
    assert thread[2].role == "tool" and thread[2].content == denied_sentence("pid")
    # Always allow: this call runs, and the next call of the tool in this chat runs without the card.
    _required_call(window)
    with qtbot.waitSignal(window.chat.tool_rounds.approval_needed, timeout=REPLY_TIMEOUT_MS):
        window.chat.send("And now?")
    window.chat.set_params(GREEDY)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        window.tool_approval.always.click()
    asked: list[object] = []
    window.chat.tool_rounds.approval_needed.connect(lambda *args: asked.append(args))
    _required_call(window)
    free_after_the_result = lambda *_: window.chat.set_params(GREEDY)  # noqa: E731
    window.chat.messages.rowsInserted.connect(free_after_the_result)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS * 2):
        window.chat.send("Once more?")
    window.chat.messages.rowsInserted.disconnect(free_after_the_result)
    results = [m for m in load_thread(window.store, window.chat.conversation_id).messages if m.role == "tool"]
    assert asked == [] and results[-1].content.isdigit()  # ran without asking: a pid


def test_a_reply_makes_at_most_eight_calls(qtbot, with_tools: MainWindow) -> None:  # noqa: ANN001
    window = with_tools
    _only(window, "add")
    _required_call(window)  # kept for every part of the reply: the model is made to call again and again
    with qtbot.waitSignal(window.chat.tool_rounds.approval_needed, timeout=REPLY_TIMEOUT_MS):
        window.chat.send("Add 1 and 1, again and again.")
    window.tool_approval.always.click()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=REPLY_TIMEOUT_MS * 4)
    results = [m for m in load_thread(window.store, window.chat.conversation_id).messages if m.role == "tool"]
    assert len(results) == 9 and all(r.content.isdigit() for r in results[:8])
    assert "the most one reply may make" in results[8].content  # the ninth is refused, and the reply ends
    assert "limit of 8" in window.status_line.text() or "the most one reply may make" in window.status_line.text()


def test_stop_while_a_call_waits_ends_the_turn(qtbot, with_tools: MainWindow) -> None:  # noqa: ANN001
    window = with_tools
    _only(window, "add")
    _required_call(window)
    with qtbot.waitSignal(window.chat.tool_rounds.approval_needed, timeout=REPLY_TIMEOUT_MS):
        window.chat.send("What is 2 plus 3?")
    with qtbot.waitSignal(window.chat.busy_changed, timeout=10_000) as idle:
        window.chat.stop()
    assert idle.args == [False] and not window.tool_approval.isVisible()
    roles = [m.role for m in load_thread(window.store, window.chat.conversation_id).messages]
    assert roles == ["user", "assistant"]  # the call is kept with the reply; nothing ran
