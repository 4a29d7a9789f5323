"""`parlour chat --tools` on the starter model with a real MCP server from mcp.json: a required call runs with
--allow-tools and its result reaches the reply; with no terminal to ask, the call is denied and the reply
goes on; no servers configured is one sentence with exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.helpers import one_sentence, run_in

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "support" / "mcp_test_server.py"
ASK = ("chat", "--tools", "--tool-choice", "required", "--temperature", "0", "--max-tokens", "48")
PROMPT = "What is 2 plus 3? Use the add tool."


def _configured(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    servers = {"mcpServers": {"test": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}}}
    (home / "mcp.json").write_text(json.dumps(servers))
    return home


def test_an_allowed_call_runs_and_its_result_reaches_the_reply(parlour_cmd: list[str], tmp_path: Path) -> None:
    home = _configured(tmp_path / "home")
    done = run_in(home, parlour_cmd, *ASK, "--allow-tools", PROMPT)
    assert done.returncode == 0, done.stderr
    call = next(line for line in done.stderr.splitlines() if "tool call: test/" in line)
    name, arguments = call.split("tool call: test/")[1].split(" ", 1)
    if name == "add":
        expected = str(sum(int(v) for v in json.loads(arguments).values()))
        assert f"result: {expected}" in done.stderr
    assert done.stdout.strip() and "<tool_call>" not in done.stdout


def test_with_no_terminal_to_ask_a_call_is_denied(parlour_cmd: list[str], tmp_path: Path) -> None:
    home = _configured(tmp_path / "home")
    done = run_in(home, parlour_cmd, *ASK, PROMPT)
    assert done.returncode == 0, done.stderr
    assert "No terminal to ask, so the call was denied" in done.stderr and "not run:" in done.stderr


def test_no_servers_is_one_sentence(parlour_cmd: list[str], tmp_path: Path) -> None:
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--tools", PROMPT))
    assert said.startswith("No MCP servers are configured")
    (tmp_path / "mcp.json").write_text("{not json")
    assert "mcp.json" in one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--tools", PROMPT))
