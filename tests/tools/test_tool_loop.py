"""A reply with tools, on the starter model and a real MCP server (the SDK's server, over stdio): with the call
required the model writes a valid call on llama.cpp and on MLX; the server runs it only after the approval;
the result goes back and the reply continues; Deny is honoured; a server that exits or sleeps past the
timeout is a sentence and the reply goes on; the 8-call bound holds."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.tools.approval import Answer, denied_sentence
from app.tools.mcp_client import ToolServers
from app.tools.mcp_config import McpConfig, StdioServer
from app.tools.tool_loop import CallAsked, CallDone, Notice, ReplyText, TurnEnded, tool_turn
from engines.base import GenerationParams
from engines.host_client import EngineClient
from engines.tool_calls import ToolCall

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mcp_test_server.py"
GREEDY = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=48)
ADD = [{"role": "user", "content": "What is 2 plus 3? Use the add tool."}]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolServers]:
    entry = StdioServer("test", sys.executable, (str(SERVER_SCRIPT),), {})
    tools = ToolServers(McpConfig((entry,)), log_folder=tmp_path_factory.mktemp("logs"))
    tools.start()
    yield tools
    tools.close()


class Offered:
    """The servers with only some of their tools offered to the model (the others stay callable here)."""

    def __init__(self, servers: ToolServers, *keys: str) -> None:
        self.servers, self.keys = servers, keys

    def tools(self) -> list[Any]:
        return [info for info in self.servers.tools() if info.key in self.keys]

    def call(self, tool_key: str, arguments: dict[str, Any] | None = None, timeout_s: float = 60.0) -> str:
        return self.servers.call(tool_key, arguments, timeout_s)


def _turn(client: EngineClient, servers: Any, answer: Answer, **options: Any) -> tuple[list[Any], list[str]]:
    asked: list[str] = []

    def approve(call: ToolCall, server: str) -> Answer:
        asked.append(f"{server}/{call.name}")
        return answer

    events = list(tool_turn(client, ADD, GREEDY, servers, approve, require_call=True, **options))
    return events, asked


def _check_an_approved_call(client: EngineClient, servers: ToolServers) -> None:
    events, asked = _turn(client, Offered(servers, "add", "lookup"), Answer.RUN)
    kinds = [type(event).__name__ for event in events]
    assert kinds.index("CallAsked") < kinds.index("CallDone") < len(kinds) - 1 and isinstance(events[-1], TurnEnded)
    asked_call = next(e for e in events if isinstance(e, CallAsked))
    done = next(e for e in events if isinstance(e, CallDone))
    assert asked == [f"test/{asked_call.call.name}"] and asked_call.server == "test"
    assert done.ran and done.error is None
    if done.call.name == "add":  # the server did the sum it was sent
        assert done.result == str(int(done.call.arguments["a"]) + int(done.call.arguments["b"]))
    messages = events[-1].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["tool_calls"][0]["function"]["name"] == done.call.name
    assert messages[2] == {"role": "tool", "tool_call_id": done.call.id, "name": done.call.name, "content": done.result}
    assert events[-1].finished.finish_reason in ("stop", "length")  # the reply went on after the result


def test_a_required_call_runs_after_approval_and_the_reply_continues_on_llamacpp(
    llama_client: EngineClient, servers: ToolServers
) -> None:
    _check_an_approved_call(llama_client, servers)


@pytest.mark.mlx
def test_a_required_call_runs_after_approval_and_the_reply_continues_on_mlx(
    mlx_client: EngineClient, servers: ToolServers
) -> None:
    _check_an_approved_call(mlx_client, servers)


def test_deny_is_honoured(llama_client: EngineClient, servers: ToolServers) -> None:
    before = servers.call("pid")
    events, asked = _turn(llama_client, Offered(servers, "crash"), Answer.DENY)
    done = next(e for e in events if isinstance(e, CallDone))
    assert asked == ["test/crash"] and not done.ran and done.result == denied_sentence("crash")
    assert servers.call("pid") == before  # had it run, the server would have died and been started again
    assert events[-1].messages[2]["content"] == denied_sentence("crash")  # the model is told, and goes on


def test_a_server_that_sleeps_past_the_timeout_or_exits_is_a_sentence(
    llama_client: EngineClient, servers: ToolServers
) -> None:
    events, _ = _turn(llama_client, Offered(servers, "sleep"), Answer.RUN, call_timeout_s=2.0)
    done = next(e for e in events if isinstance(e, CallDone))
    if done.call.arguments.get("seconds", 0) > 2:  # the model chose how long; only a long sleep times out
        assert not done.ran and done.error and "Traceback" not in done.error
    assert isinstance(events[-1], TurnEnded) and events[-1].finished.finish_reason != "error"
    events, _ = _turn(llama_client, Offered(servers, "crash"), Answer.RUN)
    done = next(e for e in events if isinstance(e, CallDone))
    assert not done.ran and done.error and done.result == done.error and "Traceback" not in done.error
    assert isinstance(events[-1], TurnEnded) and events[-1].finished.finish_reason != "error"
    assert servers.call("add", {"a": 1, "b": 1}) == "2"  # and the server is back for the next call


def test_a_reply_makes_at_most_eight_calls(llama_client: EngineClient, servers: ToolServers) -> None:
    events, asked = _turn(llama_client, Offered(servers, "add"), Answer.RUN, required_rounds=20)
    done = [e for e in events if isinstance(e, CallDone)]
    assert len(asked) == 8 and len([d for d in done if d.ran]) == 8
    assert any(isinstance(e, Notice) and "limit of 8 tool calls" in e.text for e in events)
    assert isinstance(events[-1], TurnEnded) and not any(
        isinstance(e, ReplyText) and "<tool_call>" in e.text for e in events
    )
