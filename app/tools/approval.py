"""Whether a tool call may run, and how many one reply may make. Pure logic: no Qt, no I/O, no clock.

A tool runs only when the person says so. Each call is asked about (Run, Deny, or Always allow this
tool in this chat) unless the tool was already always-allowed in that chat. Tools are named by
(server, tool name), not by the key the model saw, so an allowance survives keys changing when servers
are added or removed. Allowances live in memory here; keeping them across restarts is the caller's
choice (`allowed_tools` / `allow_all`). One reply may make at most 8 calls: a model looping on a tool
is stopped with a sentence rather than left running.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from enum import Enum

from app.tools.errors import ToolError

MAX_CALLS_PER_REPLY = 8

ToolRef = tuple[str, str]  # (server, tool name)


class Answer(Enum):
    """What the person answered when asked about one call."""

    RUN = "run"  # this call only
    DENY = "deny"
    ALWAYS = "always"  # this call, and every later call of this tool in this chat


class ToolApprovals:
    """The tools always allowed, per chat. Used from one thread (the window's)."""

    def __init__(self) -> None:
        self._allowed: dict[Hashable, set[ToolRef]] = {}

    def needs_asking(self, chat: Hashable, server: str, tool: str) -> bool:
        return (server, tool) not in self._allowed.get(chat, set())

    def answer(self, chat: Hashable, server: str, tool: str, answer: Answer) -> bool:
        """Record the person's answer; True when the call may run."""
        if answer is Answer.ALWAYS:
            self._allowed.setdefault(chat, set()).add((server, tool))
        return answer is not Answer.DENY

    def allowed_tools(self, chat: Hashable) -> frozenset[ToolRef]:
        return frozenset(self._allowed.get(chat, set()))

    def allow_all(self, chat: Hashable, tools: Iterable[ToolRef]) -> None:
        """Restore allowances kept elsewhere (say, with the chat in the store)."""
        self._allowed.setdefault(chat, set()).update(tools)

    def revoke(self, chat: Hashable, server: str, tool: str) -> None:
        self._allowed.get(chat, set()).discard((server, tool))

    def forget_chat(self, chat: Hashable) -> None:
        self._allowed.pop(chat, None)


def denied_sentence(tool: str) -> str:
    """What the model is told when the person denies a call, so it can answer without the tool."""
    return f"The person did not allow the tool '{tool}' to run this time."


class ToolLoopBudget:
    """The tool calls one reply may still make."""

    def __init__(self, max_calls: int = MAX_CALLS_PER_REPLY) -> None:
        self.max_calls = max_calls
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(self.max_calls - self.used, 0)

    def spend(self) -> None:
        """Count one call, or raise ToolError("budget") when the reply has used all of them."""
        if self.used >= self.max_calls:
            raise ToolError(
                f"This reply has already made {self.max_calls} tool call{'' if self.max_calls == 1 else 's'}, "
                "the most one reply may make, "
                "so no more tools will run for it.",
                "budget",
            )
        self.used += 1
