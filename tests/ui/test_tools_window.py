"""The Tool servers window on a real mcp.json in a temporary data folder, the real test MCP server
(tests/support/mcp_test_server.py) started as a stdio child process, and the test keyring: adding
through the form, the background listing, ticking tools, secrets kept out of the file, bad forms,
a server that cannot start, removing, and a damaged file."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from app.tools.errors import McpConfigError
from app.tools.mcp_config import add_server, load_config
from app.tools.mcp_secrets import KEYRING_SERVICE
from app.ui import tools_window
from app.ui.tools_server_form import KEYRING_NOTE, ServerForm, command_words, key_values
from app.ui.tools_window import ToolsWindow

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mcp_test_server.py"
TEST_TOOLS = {"add", "lookup", "sleep", "crash", "fail", "env", "header", "pid", "big", "picture"}
START_TIMEOUT_MS = 60_000  # a Python child that imports the MCP SDK, on a busy machine
MISSING = "parlour-no-such-command"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_keyring: None) -> Path:
    folder = tmp_path / "parlour"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


@pytest.fixture
def answers() -> list[bool]:
    """What the injected confirm answers, in turn; the questions it was asked go in `asked`."""
    return []


@pytest.fixture
def asked() -> list[str]:
    return []


@pytest.fixture
def open_window(qtbot, home: Path, answers: list[bool], asked: list[str]) -> Iterator[Callable[[], ToolsWindow]]:
    opened: list[ToolsWindow] = []

    def confirm(parent: object, question: str) -> bool:
        asked.append(question)
        return answers.pop(0)

    def make() -> ToolsWindow:
        window = ToolsWindow(confirm=confirm)
        qtbot.addWidget(window)
        window.show()
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.close()  # stops any check still running


def write_config(home: Path, servers: dict[str, object]) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def server_entry(**extra: object) -> dict[str, object]:
    return {"command": sys.executable, "args": [str(SERVER_SCRIPT)], **extra}


def wait_checked(qtbot, window: ToolsWindow) -> None:
    qtbot.waitUntil(lambda: not window.checks, timeout=START_TIMEOUT_MS)


def listed_tools(window: ToolsWindow, server: str) -> dict[str, Qt.CheckState]:
    item = server_item(window, server)
    rows = [item.child(row) for row in range(item.childCount())]
    return {row.text(0): row.checkState(0) for row in rows if row.data(0, tools_window.TOOL_ROLE) is not None}


def item_name(window: ToolsWindow, index: int) -> str:
    return window.tree.topLevelItem(index).text(0)


def server_item(window: ToolsWindow, server: str) -> QTreeWidgetItem:
    items = [window.tree.topLevelItem(i) for i in range(window.tree.topLevelItemCount())]
    return next(item for item in items if item.text(0) == server)


def notes(window: ToolsWindow, server: str) -> list[str]:
    """The rows under a server that are not tools: its problem, or that it is being started."""
    item = server_item(window, server)
    rows = [item.child(row) for row in range(item.childCount())]
    return [row.text(0) for row in rows if row.data(0, tools_window.TOOL_ROLE) is None]


def fill_form(window: ToolsWindow, name: str, command: str = "", url: str = "", variables: str = "") -> ServerForm:
    window.add_button.click()
    form = window.form
    assert isinstance(form, ServerForm) and form.isVisible()
    form.name.setText(name)
    form.command.setText(command)
    form.url.setText(url)
    form.variables.setPlainText(variables)
    return form


def test_a_server_added_in_the_form_lists_its_tools_and_an_unticked_tool_is_saved(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
) -> None:
    window = open_window()
    assert window.tree.topLevelItemCount() == 0 and window.status.text().startswith("No tool servers yet")
    assert window.path.text() == str(home / "mcp.json")
    command = shlex.join([sys.executable, str(SERVER_SCRIPT)])
    form = fill_form(window, "test", command=command)
    with qtbot.waitSignal(window.changed, timeout=10_000):
        form.add_button.click()
    assert not form.isVisible()
    assert [item_name(window, i) for i in range(window.tree.topLevelItemCount())] == ["test"]
    assert window.tree.topLevelItem(0).text(1) == command  # `command args…` as typed
    assert window.status.text() == "Checking servers…"
    assert notes(window, "test") == ["Starting it to list its tools…"]
    wait_checked(qtbot, window)
    tools = listed_tools(window, "test")
    assert set(tools) == TEST_TOOLS and set(tools.values()) == {Qt.CheckState.Checked}
    add = window.tool_item("test", "add")
    assert add is not None and add.toolTip(0) == "Add two whole numbers."
    assert bool(add.flags() & Qt.ItemFlag.ItemIsUserCheckable)
    assert window.status.text() == "1 server, 10 tools."
    with qtbot.waitSignal(window.changed, timeout=1000):
        add.setCheckState(0, Qt.CheckState.Unchecked)
    saved = json.loads((home / "mcp.json").read_text())
    assert saved["parlour"]["disabledTools"] == {"test": ["add"]}
    assert saved["mcpServers"]["test"] == {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}
    with qtbot.waitSignal(window.changed, timeout=1000):
        add.setCheckState(0, Qt.CheckState.Checked)
    assert load_config().is_enabled("test", "add")


def test_values_typed_in_the_form_go_to_the_keyring_not_to_mcp_json(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
) -> None:
    window = open_window()
    variables = "PARLOUR_MCP_SECRET=open sesame\n\nWORD = plain words "
    form = fill_form(window, "kept", command=shlex.join([sys.executable, str(SERVER_SCRIPT)]), variables=variables)
    assert KEYRING_NOTE in form.note.text()
    with qtbot.waitSignal(window.changed, timeout=10_000):
        form.add_button.click()
    data = (home / "mcp.json").read_bytes()
    assert b"open sesame" not in data and b"plain words" not in data
    env = json.loads(data)["mcpServers"]["kept"]["env"]
    assert env == {"PARLOUR_MCP_SECRET": "keyring:kept/PARLOUR_MCP_SECRET", "WORD": "keyring:kept/WORD"}
    assert keyring.get_password(KEYRING_SERVICE, "kept/PARLOUR_MCP_SECRET") == "open sesame"
    assert keyring.get_password(KEYRING_SERVICE, "kept/WORD") == "plain words"
    assert form.variables.toPlainText() == ""  # the secrets leave the screen once kept
    wait_checked(qtbot, window)
    assert set(listed_tools(window, "kept")) == TEST_TOOLS  # the server started with its secrets


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"name": "", "command": "python server.py"}, "Name the tool server in 1 to 64 characters, without '/'."),
        (
            {"name": "both", "command": "python server.py", "url": "https://example.com/mcp"},
            "Give a tool server either a command to run or a url to reach, not both.",
        ),
        (
            {"name": "bad", "command": "python server.py", "variables": "A=1\njust-a-secret\n"},
            "Line 2 of the variables has no '='; write each one as NAME=value.",
        ),
        ({"name": "quote", "command": "python 'server.py"}, "The command line has a quote that is not closed"),
        ({"name": "web", "url": "example.com/mcp"}, "must be a web address starting with http:// or https://"),
    ],
)
def test_a_bad_form_is_a_sentence_and_saves_nothing(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
    fields: dict[str, str],
    sentence: str,
) -> None:
    path = write_config(home, {"other": {"command": MISSING}})
    before = path.read_bytes()
    window = open_window()
    changes: list[None] = []
    window.changed.connect(lambda: changes.append(None))
    form = fill_form(window, **fields)
    form.add_button.click()
    qtbot.waitUntil(
        lambda: sentence in form.status.text(), timeout=10_000
    )  # some are said by add_server, off the GUI thread
    assert "just-a-secret" not in form.status.text()  # a line without '=' may be a secret
    assert "\n" not in form.status.text() and "Traceback" not in form.status.text()
    assert form.isVisible() and form.add_button.isEnabled()
    assert path.read_bytes() == before and changes == []
    assert keyring.get_password(KEYRING_SERVICE, "bad/A") is None


def test_a_server_that_cannot_start_shows_its_sentence_while_another_lists_its_tools(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
) -> None:
    write_config(home, {"missing": {"command": MISSING, "args": ["--flag", "two words"]}, "test": server_entry()})
    window = open_window()
    assert window.status.text() == "Checking servers…"
    assert window.tree.topLevelItem(0).text(1) == f"{MISSING} --flag 'two words'"
    wait_checked(qtbot, window)
    assert notes(window, "missing") == [
        f"The tool server 'missing' could not start: the command '{MISSING}' was not found."
    ]
    assert listed_tools(window, "missing") == {}
    assert set(listed_tools(window, "test")) == TEST_TOOLS and notes(window, "test") == []
    assert window.status.text() == "2 servers, 10 tools. 1 server could not start."


def test_remove_asks_then_deletes_the_server_and_its_secrets(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
    answers: list[bool],
    asked: list[str],
) -> None:
    add_server("gone", command=MISSING, env={"TOKEN": "s3cret"})
    add_server("kept", command=MISSING)
    window = open_window()
    wait_checked(qtbot, window)
    window.tree.setCurrentItem(window.tree.topLevelItem(0).child(0))  # its problem row chooses it too
    assert window.chosen_server() == "gone" and window.remove_button.isEnabled()
    answers.append(False)
    window.remove_button.click()
    assert asked == ["Remove the tool server 'gone' from mcp.json? Its secrets leave the system keyring too."]
    assert load_config().server("gone") is not None
    answers.append(True)
    with qtbot.waitSignal(window.changed, timeout=10_000):
        window.remove_button.click()
    assert [server.name for server in load_config().servers] == ["kept"]
    assert "gone" not in (home / "mcp.json").read_text()
    assert keyring.get_password(KEYRING_SERVICE, "gone/TOKEN") is None
    assert [item_name(window, i) for i in range(window.tree.topLevelItemCount())] == ["kept"]
    assert window.status.text() == "1 server, 0 tools. 1 server could not start."


def test_a_damaged_mcp_json_is_a_sentence_in_the_window(
    qtbot,
    home: Path,
    open_window: Callable[[], ToolsWindow],
) -> None:
    home.mkdir(parents=True)
    (home / "mcp.json").write_text('{"mcpServers": {"x": ')
    with pytest.raises(McpConfigError) as refused:
        load_config()
    window = open_window()
    assert window.status.text() == str(refused.value)
    assert window.status.text().startswith("mcp.json is not valid JSON")
    assert window.tree.topLevelItemCount() == 0 and not window.checks
    form = fill_form(window, "new", command="python server.py")
    form.add_button.click()
    qtbot.waitUntil(lambda: form.status.text() == str(refused.value), timeout=10_000)  # never overwritten
    assert (home / "mcp.json").read_text() == '{"mcpServers": {"x": '


def test_the_folder_button_opens_the_folder_of_mcp_json(
    home: Path, open_window: Callable[[], ToolsWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []
    monkeypatch.setattr(tools_window, "open_folder", opened.append)
    window = open_window()
    assert window.path.isReadOnly() and window.path.text() == str(home / "mcp.json")
    window.folder_button.click()
    assert opened == [home]


def test_the_form_reads_a_command_line_as_a_shell_would_and_variables_as_lines() -> None:
    home = str(Path.home())
    assert command_words("npx -y 'my server' ~/Documents") == ["npx", "-y", "my server", f"{home}/Documents"]
    assert command_words("   ") is None
    assert key_values("A=1\n\n B = two words \nC=x=y\n") == {"A": "1", "B": "two words", "C": "x=y"}
    with pytest.raises(McpConfigError, match="Line 1 of the variables has no name before its '='"):
        key_values("=value")
