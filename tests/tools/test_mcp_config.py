"""mcp.json: read bounded and checked with one sentence per mistake, written atomically and private,
secrets in the keyring (a real backend in a file, or the keyring package's own failing one), never in the file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from app.tools.errors import McpConfigError
from app.tools.mcp_config import (
    McpConfig,
    StdioServer,
    UrlServer,
    add_server,
    config_path,
    config_text,
    load_config,
    parse_config,
    remove_server,
    save_config,
    set_tool_enabled,
)
from app.tools.mcp_secrets import KEYRING_SERVICE, resolved_values

CLAUDE_DESKTOP = {
    "mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "search": {"command": "uvx", "args": ["search-server"], "env": {"SEARCH_KEY": "plain-value"}, "cwd": "/"},
        "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer plain"}, "type": "http"},
    },
    "globalShortcut": "Ctrl+Space",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "parlour"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_file_means_no_servers(home: Path) -> None:
    assert load_config() == McpConfig()
    assert config_path() == home / "mcp.json"


def test_a_claude_desktop_file_reads_and_writes_back_unchanged(home: Path) -> None:
    config = parse_config(json.dumps(CLAUDE_DESKTOP))
    assert [s.name for s in config.servers] == ["files", "search", "remote"]
    files, search, remote = config.servers
    assert files == StdioServer("files", "npx", ("-y", "@modelcontextprotocol/server-filesystem", "/tmp"))
    assert isinstance(search, StdioServer) and search.env == {"SEARCH_KEY": "plain-value"}
    assert search.extra == {"cwd": "/"}  # a key Parlour does not use is kept for the apps that do
    assert remote == UrlServer("remote", "https://example.com/mcp", {"Authorization": "Bearer plain"}, {"type": "http"})
    # Written back, it is the same file: no Parlour key is added while no tool is switched off.
    assert json.loads(config_text(config)) == CLAUDE_DESKTOP
    save_config(config)
    assert load_config() == config


def test_switched_off_tools_sit_under_parlour_and_leave_the_rest_alone(home: Path) -> None:
    write(home / "mcp.json", json.dumps(CLAUDE_DESKTOP))
    config = set_tool_enabled("files", "write_file", False)
    set_tool_enabled("files", "delete_file", False)
    assert not load_config().is_enabled("files", "write_file") and load_config().is_enabled("files", "read_file")
    raw = json.loads((home / "mcp.json").read_text())
    assert raw["parlour"] == {"disabledTools": {"files": ["delete_file", "write_file"]}}
    assert raw["mcpServers"] == CLAUDE_DESKTOP["mcpServers"] and raw["globalShortcut"] == "Ctrl+Space"
    assert config.disabled_tools == {"files": frozenset({"write_file"})}
    set_tool_enabled("files", "write_file", True)
    set_tool_enabled("files", "delete_file", True)
    assert json.loads((home / "mcp.json").read_text())["parlour"] == {"disabledTools": {}}
    with pytest.raises(McpConfigError, match="No tool server is called 'nobody'"):
        set_tool_enabled("nobody", "x", False)


def servers(**entries: object) -> str:
    return json.dumps({"mcpServers": entries})


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ('{"mcpServers": {"files": ', ["not valid JSON", "line 1"]),
        ("[1, 2]", ['"mcpServers"']),
        ('{"mcpServers": ["files"]}', ['"mcpServers"', "object"]),
        (servers(files="npx server"), ["'files'", "JSON object"]),
        (servers(files={"args": ["x"]}), ["'files'", '"command"', '"url"']),
        (servers(files={"command": "npx", "url": "https://x"}), ["'files'", "both"]),
        (servers(files={"command": 3}), ["'files'", '"command"']),
        (servers(files={"command": "  "}), ["'files'", '"command"']),
        (servers(files={"command": "npx", "args": "-y server"}), ["'files'", '"args"', "list of strings"]),
        (servers(files={"command": "npx", "env": ["KEY=1"]}), ["'files'", '"env"']),
        (servers(files={"command": "npx", "env": {"PORT": 8080}}), ["'files'", '"env"', "PORT", "quotes"]),
        (servers(web={"url": "ftp://example.com"}), ["'web'", '"url"', "http"]),
        (servers(web={"url": "https://x", "headers": {"Authorization": None}}), ["'web'", '"headers"']),
        (servers(**{"": {"command": "npx"}}), ["empty name"]),
        ('{"mcpServers": {}, "parlour": {"disabledTools": {"files": "write_file"}}}', ["'files'", "list"]),
        ('{"mcpServers": {}, "parlour": []}', ['"parlour"']),
        ("[" * 100_000, ["nested too deeply"]),
    ],
)
def test_each_mistake_is_one_sentence_naming_the_server_and_field(text: str, phrases: list[str]) -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_config(text)
    sentence = str(caught.value)
    for phrase in phrases:
        assert phrase in sentence
    assert sentence.endswith(".") and "\n" not in sentence and "Traceback" not in sentence


def test_a_fifo_a_folder_and_a_huge_file_are_refused_without_reading(home: Path) -> None:
    home.mkdir(parents=True)
    fifo = home / "fifo.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(McpConfigError, match="named pipe"):
        load_config(fifo)
    with pytest.raises(McpConfigError, match="folder"):
        load_config(home)
    huge = write(home / "huge.json", '{"mcpServers": {}, "pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    with pytest.raises(McpConfigError, match="larger than 1 MB"):
        load_config(huge)


def test_secrets_go_to_the_keyring_and_never_into_the_file(home: Path, test_keyring: None) -> None:
    add_server("search", command="uvx", args=["search-server"], env={"SEARCH_KEY": "s3cret-one", "DEBUG": "1"})
    add_server("remote", url="https://example.com/mcp", headers={"Authorization": "Bearer s3cret-two"})
    data = (home / "mcp.json").read_bytes()
    assert b"s3cret" not in data
    assert stat.S_IMODE(os.stat(home / "mcp.json").st_mode) == 0o600
    raw = json.loads(data)["mcpServers"]
    assert raw["search"]["env"] == {"SEARCH_KEY": "keyring:search/SEARCH_KEY", "DEBUG": "keyring:search/DEBUG"}
    assert raw["remote"]["headers"] == {"Authorization": "keyring:remote/Authorization"}
    assert keyring.get_password(KEYRING_SERVICE, "search/SEARCH_KEY") == "s3cret-one"
    # Starting a server reads them back.
    search, remote = load_config().servers
    assert isinstance(search, StdioServer) and isinstance(remote, UrlServer)
    assert resolved_values("search", "env", search.env) == {"SEARCH_KEY": "s3cret-one", "DEBUG": "1"}
    assert resolved_values("remote", "headers", remote.headers) == {"Authorization": "Bearer s3cret-two"}


def test_replacing_and_removing_a_server_forget_the_secrets_it_no_longer_uses(home: Path, test_keyring: None) -> None:
    add_server("search", command="uvx", env={"OLD_KEY": "old", "KEPT": "one"})
    add_server("search", command="uvx", env={"KEPT": "two"})
    assert keyring.get_password(KEYRING_SERVICE, "search/OLD_KEY") is None
    assert keyring.get_password(KEYRING_SERVICE, "search/KEPT") == "two"
    assert len(load_config().servers) == 1
    remove_server("search")
    assert keyring.get_password(KEYRING_SERVICE, "search/KEPT") is None
    assert load_config().servers == ()
    with pytest.raises(McpConfigError, match="No tool server is called 'search'"):
        remove_server("search")


def test_plain_values_in_a_hand_written_file_are_used_as_they_are(home: Path, test_keyring: None) -> None:
    write(home / "mcp.json", json.dumps(CLAUDE_DESKTOP))
    search = load_config().server("search")
    assert isinstance(search, StdioServer)
    assert resolved_values("search", "env", search.env) == {"SEARCH_KEY": "plain-value"}


def test_a_placeholder_with_no_secret_behind_it_is_a_sentence(home: Path, test_keyring: None) -> None:
    with pytest.raises(McpConfigError) as caught:
        resolved_values("search", "env", {"SEARCH_KEY": "keyring:search/SEARCH_KEY"})
    assert (
        "SEARCH_KEY" in str(caught.value)
        and "'search'" in str(caught.value)
        and "add the server again" in str(caught.value)
    )


def test_without_a_keyring_no_secret_is_written_anywhere(home: Path) -> None:
    original = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        with pytest.raises(McpConfigError, match="no system keyring"):
            add_server("search", command="uvx", env={"SEARCH_KEY": "s3cret"})
    finally:
        keyring.set_keyring(original)
    assert not (home / "mcp.json").exists()


def test_adding_checks_like_a_file_and_never_overwrites_a_damaged_one(home: Path, test_keyring: None) -> None:
    with pytest.raises(McpConfigError, match="without '/'"):
        add_server("a/b", command="uvx")
    with pytest.raises(McpConfigError, match="not both"):
        add_server("both", command="uvx", url="https://example.com")
    with pytest.raises(McpConfigError, match='"url"'):
        add_server("web", url="file:///etc/passwd", headers={"Authorization": "s3cret"})
    assert keyring.get_password(KEYRING_SERVICE, "web/Authorization") is None  # refused before it was kept
    damaged = write(home / "mcp.json", '{"mcpServers": {"files": ')
    with pytest.raises(McpConfigError, match="not valid JSON"):
        add_server("search", command="uvx")
    assert damaged.read_text() == '{"mcpServers": {"files": '


def test_a_hand_made_readable_file_becomes_private_when_written(home: Path) -> None:
    path = write(home / "mcp.json", json.dumps(CLAUDE_DESKTOP))
    path.chmod(0o644)
    set_tool_enabled("files", "write_file", False)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
