"""The approval policy and the bound on tool calls per reply: pure logic, tested as such."""

from __future__ import annotations

import pytest

from app.tools.approval import MAX_CALLS_PER_REPLY, Answer, ToolApprovals, ToolLoopBudget, denied_sentence
from app.tools.errors import ToolError


def test_every_call_is_asked_about_until_the_tool_is_always_allowed_in_that_chat() -> None:
    approvals = ToolApprovals()
    assert approvals.needs_asking("chat-1", "files", "read")
    assert approvals.answer("chat-1", "files", "read", Answer.RUN)  # this call runs...
    assert approvals.needs_asking("chat-1", "files", "read")  # ...and the next is asked about again
    assert not approvals.answer("chat-1", "files", "read", Answer.DENY)
    assert approvals.needs_asking("chat-1", "files", "read")
    assert approvals.answer("chat-1", "files", "read", Answer.ALWAYS)
    assert not approvals.needs_asking("chat-1", "files", "read")
    # Only that tool, of that server, in that chat.
    assert approvals.needs_asking("chat-1", "files", "write")
    assert approvals.needs_asking("chat-1", "web", "read")
    assert approvals.needs_asking("chat-2", "files", "read")
    assert approvals.allowed_tools("chat-1") == {("files", "read")}
    assert approvals.allowed_tools("chat-2") == frozenset()


def test_allowances_can_be_restored_revoked_and_forgotten() -> None:
    approvals = ToolApprovals()
    approvals.allow_all(7, [("files", "read"), ("web", "search")])
    assert not approvals.needs_asking(7, "web", "search")
    approvals.revoke(7, "web", "search")
    assert approvals.needs_asking(7, "web", "search") and not approvals.needs_asking(7, "files", "read")
    approvals.revoke(8, "web", "search")  # a chat with no allowances: nothing to do
    approvals.forget_chat(7)
    assert approvals.needs_asking(7, "files", "read") and approvals.allowed_tools(7) == frozenset()


def test_a_denied_call_tells_the_model_in_a_sentence() -> None:
    assert denied_sentence("delete_file") == "The person did not allow the tool 'delete_file' to run this time."


def test_a_reply_may_make_eight_calls_and_no_more() -> None:
    budget = ToolLoopBudget()
    assert MAX_CALLS_PER_REPLY == 8 and budget.remaining == 8
    for used in range(1, 9):
        budget.spend()
        assert budget.used == used and budget.remaining == 8 - used
    with pytest.raises(ToolError) as caught:
        budget.spend()
    assert caught.value.kind == "budget"
    assert str(caught.value) == (
        "This reply has already made 8 tool calls, the most one reply may make, so no more tools will run for it."
    )
    assert budget.used == 8 and budget.remaining == 0  # the refused call is not counted
    with pytest.raises(ToolError):
        budget.spend()  # and it stays refused


def test_a_smaller_budget() -> None:
    budget = ToolLoopBudget(max_calls=1)
    budget.spend()
    with pytest.raises(ToolError, match="already made 1 tool call,"):
        budget.spend()
