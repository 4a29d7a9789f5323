"""ToolServers against a real MCP server (tests/support/mcp_test_server.py), over stdio as child processes
and over streamable HTTP: listing, calling, secrets reaching the server, switched-off tools, and each way a
server fails (a missing command, an exit at start, a hang, a crash, a tool's own error) as a sentence."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import types

from app.tools.errors import ToolError
from app.tools.mcp_client import ToolServers
from app.tools.mcp_config import McpConfig, StdioServer, UrlServer, add_server, load_config
from app.tools.tool_keys import assign_keys
from app.tools.tool_results import result_text

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mcp_test_server.py"
TEST_TOOLS = {"add", "lookup", "sleep", "crash", "fail", "env", "header", "pid", "big", "picture"}


def server_entry(name: str = "test", **env: str) -> StdioServer:
    return StdioServer(name, sys.executable, (str(SERVER_SCRIPT),), env)


def is_gone(pid: int) -> bool:
    """True once the process has exited and been reaped: a zombie still answers signal 0."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolServers]:
    """One running test server shared by the tests that neither break nor restart it."""
    tools = ToolServers(McpConfig((server_entry(),)), max_result_chars=1000, log_folder=tmp_path_factory.mktemp("logs"))
    tools.start()
    yield tools
    tools.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "parlour"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


def test_the_tools_of_a_real_server_are_listed(servers: ToolServers) -> None:
    assert servers.problems() == {}
    tools = {tool.key: tool for tool in servers.tools()}
    assert set(tools) == TEST_TOOLS  # one server: each tool keeps its own name
    add = tools["add"]
    assert (add.server, add.name, add.enabled) == ("test", "add", True)
    assert add.description == "Add two whole numbers."
    assert add.input_schema["type"] == "object" and set(add.input_schema["properties"]) == {"a", "b"}
    assert add.input_schema["required"] == ["a", "b"]


def test_calls_return_the_text_of_the_result(servers: ToolServers) -> None:
    assert servers.call("add", {"a": 2, "b": 3}) == "5"
    assert servers.call("lookup", {"word": "parlour"}) == "a sitting room for receiving guests"


def test_calls_from_many_threads_at_once(servers: ToolServers) -> None:
    results: dict[int, str] = {}

    def add(n: int) -> None:
        results[n] = servers.call("add", {"a": n, "b": 100}, timeout_s=30)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: str(n + 100) for n in range(8)}


def test_an_image_is_named_not_passed_on(servers: ToolServers) -> None:
    text = servers.call("picture")
    assert text.startswith("a single pixel\n\n[image/png image, ") and text.endswith(" bytes, not shown]")
    assert "iVBOR" not in text  # no base64 in the model's context


def test_a_long_result_is_cut_with_a_note(servers: ToolServers) -> None:
    text = servers.call("big", {"chars": 5000})
    assert text.startswith("x" * 1000) and "x" * 1001 not in text
    assert text.endswith("[The result was cut to its first 1,000 of 5,000 characters.]")


def test_a_tools_own_error_is_a_sentence(servers: ToolServers) -> None:
    with pytest.raises(ToolError) as caught:
        servers.call("fail")
    assert caught.value.kind == "tool"
    assert str(caught.value).startswith("The tool 'fail' reported an error: ")
    assert "the fail tool always fails" in str(caught.value) and str(caught.value).endswith(".")
    with pytest.raises(ToolError) as caught:
        servers.call("add", {"a": "two"})  # the server refuses the arguments: an error the model can correct
    assert caught.value.kind == "tool" and "\n" not in str(caught.value)
    assert servers.call("add", {"a": 1, "b": 1}) == "2"


def test_an_unknown_tool_and_bad_arguments_are_sentences(servers: ToolServers) -> None:
    with pytest.raises(ToolError, match="No tool server offers a tool called 'subtract'") as caught:
        servers.call("subtract", {"a": 1})
    assert caught.value.kind == "unknown_tool"
    with pytest.raises(ToolError, match="must be a JSON object"):
        servers.call("add", [1, 2])  # type: ignore[arg-type]


def test_a_switched_off_tool_is_neither_listed_nor_called(servers: ToolServers) -> None:
    servers.set_disabled_tools({"test": ["lookup"]})
    try:
        assert "lookup" not in {tool.key for tool in servers.tools()}
        everything = {tool.key: tool for tool in servers.tools(include_disabled=True)}
        assert not everything["lookup"].enabled and everything["add"].enabled
        with pytest.raises(ToolError, match="switched off") as caught:
            servers.call("lookup", {"word": "tool"})
        assert caught.value.kind == "unknown_tool"
    finally:
        servers.set_disabled_tools({})
    assert servers.call("lookup", {"word": "tool"}) == "a thing used to do a job"


def test_tools_switched_off_in_mcp_json_start_switched_off(tmp_path: Path) -> None:
    config = McpConfig((server_entry(),), disabled_tools={"test": frozenset({"crash", "sleep"})})
    with ToolServers(config, log_folder=tmp_path) as tools:
        assert {tool.key for tool in tools.tools()} == TEST_TOOLS - {"crash", "sleep"}
        with pytest.raises(ToolError, match="switched off"):
            tools.call("crash")


def test_env_reaches_the_server_from_the_keyring_and_from_a_plain_file(home: Path, test_keyring: None) -> None:
    add_server("kept", command=sys.executable, args=[str(SERVER_SCRIPT)], env={"PARLOUR_MCP_SECRET": "open sesame"})
    raw = json.loads((home / "mcp.json").read_text())
    raw["mcpServers"]["plain"] = {"command": sys.executable, "args": [str(SERVER_SCRIPT)], "env": {"WORD": "as is"}}
    (home / "mcp.json").write_text(json.dumps(raw))
    assert b"open sesame" not in (home / "mcp.json").read_bytes()
    with ToolServers(load_config()) as tools:
        assert tools.problems() == {}
        keys = {tool.key for tool in tools.tools()}
        # Both servers offer every tool, so every key names its server.
        assert keys == {f"{server}__{tool}" for server in ("kept", "plain") for tool in TEST_TOOLS}
        assert tools.call("kept__env", {"name": "PARLOUR_MCP_SECRET"}) == "open sesame"
        assert tools.call("plain__env", {"name": "WORD"}) == "as is"
        assert tools.call("plain__env", {"name": "PARLOUR_MCP_SECRET"}) == "<unset>"  # one server's secret only


def test_a_missing_secret_and_a_missing_command_leave_the_others_working(home: Path, test_keyring: None) -> None:
    config = McpConfig(
        (
            StdioServer("missing", "parlour-no-such-command"),
            StdioServer("quits", sys.executable, ("-c", "import sys; sys.stderr.write('no way\\n'); sys.exit(3)")),
            server_entry("locked", KEY="keyring:locked/KEY"),
            server_entry(),
        )
    )
    with ToolServers(config, log_folder=home / "logs") as tools:
        problems = tools.problems()
        assert set(problems) == {"missing", "quits", "locked"}
        assert problems["missing"] == (
            "The tool server 'missing' could not start: the command 'parlour-no-such-command' was not found."
        )
        log = home / "logs" / "mcp-quits.log"
        assert problems["quits"] == f"The tool server 'quits' stopped while starting; its messages are in {log}."
        assert "no way" in log.read_text()
        assert "KEY" in problems["locked"] and "not in the system keyring" in problems["locked"]
        assert {tool.server for tool in tools.tools()} == {"test"}
        assert tools.call("add", {"a": 2, "b": 3}) == "5"


def test_a_hung_call_is_abandoned_and_the_server_restarted(tmp_path: Path) -> None:
    tools = ToolServers(McpConfig((server_entry(),)), log_folder=tmp_path)
    tools.start()
    try:
        first = int(tools.call("pid"))
        with pytest.raises(ToolError) as caught:
            tools.call("sleep", {"seconds": 30}, timeout_s=2)
        assert caught.value.kind == "timeout"
        assert str(caught.value) == (
            "The tool 'sleep' on the server 'test' did not finish within 2 seconds, "
            "so Parlour is starting the server again."
        )
        assert tools.call("add", {"a": 2, "b": 3}, timeout_s=30) == "5"
        second = int(tools.call("pid"))
        assert second != first
    finally:
        tools.close()
    assert is_gone(first) and is_gone(second)


def test_a_crash_restarts_the_server_until_it_fails_too_often(tmp_path: Path) -> None:
    tools = ToolServers(McpConfig((server_entry(),)), max_restarts=1, log_folder=tmp_path)
    tools.start()
    try:
        first = int(tools.call("pid"))
        with pytest.raises(ToolError) as caught:
            tools.call("crash")
        assert caught.value.kind == "stopped"
        assert str(caught.value) == (
            "The tool server 'test' stopped while running 'crash', so Parlour is starting the server again."
        )
        assert int(tools.call("pid", timeout_s=30)) != first  # a call that works: the count starts again
        with pytest.raises(ToolError, match="starting the server again"):
            tools.call("crash", timeout_s=30)
        with pytest.raises(ToolError, match="failed too often") as caught:
            tools.call("crash", timeout_s=30)  # a second failure in a row is one more than max_restarts
        assert caught.value.kind == "stopped"
        with pytest.raises(ToolError) as caught:
            tools.call("add", {"a": 1, "b": 1})
        assert caught.value.kind == "not_started"
        assert str(caught.value) == (
            "The tool server 'test' failed 2 times in a row, so Parlour stopped it until its tools are loaded again."
        )
        assert tools.tools() == [] and "test" in tools.problems()
    finally:
        tools.close()


def test_close_stops_every_child_process(tmp_path: Path) -> None:
    tools = ToolServers(McpConfig((server_entry("one"), server_entry("two"))), log_folder=tmp_path)
    tools.start()
    pids = [int(tools.call("one__pid")), int(tools.call("two__pid"))]
    assert not any(is_gone(pid) for pid in pids)
    tools.close()
    assert all(is_gone(pid) for pid in pids)  # exited and reaped: no zombie left
    with pytest.raises(ToolError, match="closed") as caught:
        tools.call("one__add", {"a": 1, "b": 1})
    assert caught.value.kind == "closed"
    tools.close()  # twice is fine


@pytest.fixture
def http_server() -> Iterator[str]:
    """The test server over streamable HTTP, on a socket this process listens on before it starts."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    command = [sys.executable, str(SERVER_SCRIPT), "--http-fd", str(listening.fileno())]
    process = subprocess.Popen(command, pass_fds=[listening.fileno()], stderr=subprocess.DEVNULL)
    listening.close()
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(30)


def test_a_url_server_with_a_header_from_the_keyring(home: Path, test_keyring: None, http_server: str) -> None:
    add_server("web", url=http_server, headers={"X-Api-Key": "s3cret-header"})
    assert b"s3cret-header" not in (home / "mcp.json").read_bytes()
    # A port that is bound but not listening: nothing answers there, and nothing else can take it.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/mcp"
    config = load_config()
    config = McpConfig((*config.servers, UrlServer("nowhere", nowhere)))
    try:
        with ToolServers(config, log_folder=home / "logs") as tools:
            assert tools.call("header", {"name": "X-Api-Key"}) == "s3cret-header"
            assert tools.call("add", {"a": 2, "b": 3}) == "5"
            problem = tools.problems()["nowhere"]
            assert problem.startswith(f"The tool server 'nowhere' could not be reached at {nowhere} (")
    finally:
        closed.close()


# The parts underneath: naming tools, and turning results into text


def test_tool_keys_stay_unique_and_usable_as_function_names() -> None:
    offers = [("files", "read"), ("files", "search"), ("web", "search"), ("web", "fetch.page"), ("maps", "route")]
    assert assign_keys(offers) == {
        ("files", "read"): "read",
        ("files", "search"): "files__search",
        ("web", "search"): "web__search",
        ("web", "fetch.page"): "fetch_page",
        ("maps", "route"): "route",
    }
    # Names that only meet once cleaned up, and names past 64 characters.
    clash = [("a", "fetch.page"), ("a", "fetch_page"), ("b", "x" * 80), ("b", "x" * 81)]
    keys = assign_keys(clash)
    assert keys[("a", "fetch.page")] == "fetch_page" and keys[("a", "fetch_page")] == "fetch_page_2"
    assert keys[("b", "x" * 80)] == "x" * 64 and keys[("b", "x" * 81)] == "x" * 62 + "_2"
    assert assign_keys(clash) == keys  # the same offers, the same keys


def test_result_text_of_every_kind_of_content() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(text="first"),
            types.AudioContent(data="AAAA" * 512, mime_type="audio/wav"),
            types.ResourceLink(name="notes", uri="file:///notes.txt"),
            types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="inside")),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(uri="file:///a.bin", blob="AAAA", mime_type="application/zip")
            ),
        ]
    )
    assert result_text(result).split("\n\n") == [
        "first",
        "[audio/wav audio, 1 KB, not shown]",
        "[resource: notes at file:///notes.txt]",
        "inside",
        "[application/zip resource at file:///a.bin, 3 bytes, not shown]",
    ]
    structured = types.CallToolResult(content=[], structured_content={"temperature": 21})
    assert result_text(structured) == '{"temperature": 21}'
    assert result_text(types.CallToolResult(content=[types.TextContent(text="abcdef")]), limit=3) == (
        "abc\n\n[The result was cut to its first 3 of 6 characters.]"
    )


def test_closing_while_a_server_hangs_at_start_leaves_no_process(tmp_path: Path) -> None:
    # The server says it is up through a FIFO (the test waits on that, not on a clock), then never answers.
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    script = (
        f"import os, threading; os.write(os.open({str(fifo)!r}, os.O_WRONLY), str(os.getpid()).encode()); "
        "threading.Event().wait()"
    )
    hangs = StdioServer("hangs", sys.executable, ("-c", script), {})
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open before the writer: its open then succeeds
    tools = ToolServers(McpConfig((hangs,)), log_folder=tmp_path)
    starting = threading.Thread(target=tools.start)
    starting.start()
    try:
        ready, _, _ = select.select([reader], [], [], 60)  # a bound on a hang, not a measure of speed
        assert ready, "the server never started"
        pid = int(os.read(reader, 32))
    finally:
        os.close(reader)
    tools.close()
    starting.join(timeout=60)
    assert not starting.is_alive()  # start() returns once closed, without an error
    assert is_gone(pid)  # stopped and reaped by close(), as a running server is
