"""The one error the tool layer raises, so the engine and the window can catch one type."""

from __future__ import annotations

from typing import Literal

# What went wrong, for code that reacts differently (a tool's own error can go back to the model so it
# can correct itself; a broken server is worth showing to the person).
ToolErrorKind = Literal[
    "not_started",  # the server could not start, or has been given up on
    "stopped",  # the server exited or crashed during the call
    "timeout",  # the call ran past its timeout
    "tool",  # the tool ran and reported an error
    "refused",  # the server answered with a protocol error, or an answer Parlour cannot read
    "unknown_tool",  # no server offers it, or it is switched off
    "budget",  # the reply has used all its tool calls
    "closed",  # the tool servers were closed
]


class ToolError(Exception):
    """A tool call that did not give a result. str() is one plain sentence for the person."""

    def __init__(self, sentence: str, kind: ToolErrorKind) -> None:
        super().__init__(sentence)
        self.kind: ToolErrorKind = kind


def one_line(text: str, limit: int = 300) -> str:
    """Text from a server (an error, a description) squeezed onto one line of bounded length."""
    squeezed = " ".join(text.split())
    if len(squeezed) > limit:
        squeezed = squeezed[: limit - 1].rstrip() + "…"
    return squeezed


def sentence_end(text: str) -> str:
    """`text` ending as a sentence does."""
    return text if text.endswith((".", "!", "?", "…")) else text + "."


class McpConfigError(Exception):
    """mcp.json cannot be read, is not valid, or a secret it names cannot be found. str() is one sentence."""
