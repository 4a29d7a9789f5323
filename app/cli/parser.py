"""The `parlour` argument parser: every command named up front, each group's options added only when used.

`parlour --help` lists the commands from the table below without importing any command's
module; a command's own options (and its help page) come from its module the moment argparse
reaches that command. So the parser costs the same however many commands there are, and a
command group's module, and whatever it imports, loads only for the command that runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app import __version__


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # under app.cli; it defines add_arguments(parser, command)
    help: str


COMMANDS = (
    Command("chat", "chat", "talk with a model in the terminal, or stream a reply to one prompt"),
    Command("models", "models", "list the models on this machine; search, download, import, rm, unhide, settings"),
    Command("doctor", "doctor", "what this machine offers: memory, GPU, engine versions"),
    Command("export", "conversations", "export conversations as Markdown or JSON"),
    Command("import", "conversations", "import conversations from a JSON export"),
    Command("conversations", "conversations", "list or search conversations"),
    Command("templates", "templates", "chat templates: your library and per-model overrides"),
    Command("serve", "serve", "serve the local models over the OpenAI and Anthropic APIs"),
    Command("eval", "evals", "run an evaluation set over models and print the scoreboard"),
    Command("remotes", "remotes", "OpenAI-compatible servers elsewhere whose models Parlour can use"),
    Command("docs", "docs", "your documents, indexed here for chats to cite: add, list, search, update, rm"),
)


class CommandParser(argparse.ArgumentParser):
    """A command's parser that asks the command's module for its options the first time it is used."""

    def __init__(self, *args: Any, command: Command | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command = command

    def _add_command_arguments(self) -> None:
        command, self._command = self._command, None
        if command is not None:
            module = importlib.import_module(f"app.cli.{command.module}")
            module.add_arguments(self, command.name)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._add_command_arguments()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_command_arguments()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_command_arguments()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parlour",
        description="Private, offline chat with language models on your own computer. "
        "With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"parlour {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that Parlour works here: load the starter model, stream a reply, use a store, render a template",
    )
    parser.add_argument("--json", action="store_true", help="with --self-test: print one JSON object")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for command in COMMANDS:
        sub.add_parser(command.name, help=command.help, command=command)
    return parser
