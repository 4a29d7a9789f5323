"""`parlour chat --tools PROMPT`: one reply with the tools of the MCP servers in mcp.json.

Each call is shown on stderr with its arguments and asked about in the terminal (run, no, always for this
reply); with no terminal to ask, calls are denied unless --allow-tools says to run them. Results are shown
folded (their first line) and go back to the model; the reply's text goes to stdout as it streams.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli.exit_codes import EXIT_FAILED, EXIT_OK
from app.cli.terminal_text import fail, note

RESULT_PREVIEW = 200


def add_tool_options(chat: argparse.ArgumentParser) -> None:
    chat.add_argument("--tools", action="store_true", help="offer the tools of the MCP servers in mcp.json")
    chat.add_argument(
        "--tool-choice", choices=["auto", "required"], default="auto", help="with --tools: must the reply call a tool"
    )
    chat.add_argument("--allow-tools", action="store_true", help="with --tools: run calls without asking")


def tools_reply(args: argparse.Namespace, client: Any, setup: Any, messages: list[Any]) -> int:
    """The reply, with calls asked about and run; the exit status."""
    from app.tools.errors import McpConfigError
    from app.tools.mcp_client import ToolServers
    from app.tools.mcp_config import config_path, load_config
    from app.tools.tool_loop import tool_turn

    try:
        config = load_config()
    except McpConfigError as err:
        return fail(str(err))
    if not config.servers:
        return fail(
            f"No MCP servers are configured; add one in {config_path()} "
            "or in the window (Models → Tools (MCP servers)…)."
        )
    with ToolServers(config) as servers:
        servers.start()
        for server, problem in servers.problems().items():
            note(f"{server}: {problem}")
        if not servers.tools():
            return fail("None of the MCP servers offers a tool that is switched on.")
        approve = _terminal_approval(args.allow_tools)
        events = tool_turn(
            client,
            messages,
            setup.params,
            servers,
            approve,
            template=setup.template,
            require_call=args.tool_choice == "required",
        )
        return _show(events)


def _show(events: Any) -> int:
    from app.tools.tool_loop import CallAsked, CallDone, Notice, ReplyText, TurnEnded

    for event in events:
        if isinstance(event, ReplyText) and not event.reasoning:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, CallAsked):
            arguments = json.dumps(event.call.arguments, ensure_ascii=False)
            note(f"tool call: {event.server}/{event.call.name} {arguments}")
        elif isinstance(event, CallDone):
            first = event.result.strip().splitlines()[0] if event.result.strip() else "(empty)"
            more = " …" if len(event.result) > len(first) else ""
            note(("result: " if event.ran else "not run: ") + first[:RESULT_PREVIEW] + more)
        elif isinstance(event, Notice):
            note(event.text)
        elif isinstance(event, TurnEnded):
            sys.stdout.write("\n")
            finished = event.finished
            if finished.finish_reason == "error":
                return fail(finished.error or "The reply failed.", EXIT_FAILED)
    return EXIT_OK


def _terminal_approval(allow_all: bool) -> Any:
    from app.tools.approval import Answer

    always: set[str] = set()

    def approve(call: Any, server: str) -> Answer:
        if allow_all or f"{server}/{call.name}" in always:
            return Answer.RUN
        if not sys.stdin.isatty():
            note("No terminal to ask, so the call was denied (--allow-tools runs calls without asking).")
            return Answer.DENY
        answer = input(f"Run {server}/{call.name}? [y]es, [n]o, [a]lways in this reply: ").strip().lower()
        if answer.startswith("a"):
            always.add(f"{server}/{call.name}")
            return Answer.RUN
        return Answer.RUN if answer.startswith("y") else Answer.DENY

    return approve
