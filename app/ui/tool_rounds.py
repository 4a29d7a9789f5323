"""Tool calls in the window's chat: the calls in a streamed reply, the approval of each, running it off the GUI
thread, its result kept as a tool message under the reply, and the reply continued with the results.

The chat controller hands the reply's text through `feed` (calls never reach the screen as text) and, when
the reply ends, to `keep_calls` and `run_calls`: a reply that made calls keeps them with its message, then each
call is asked about (ToolApprovalBar, unless the tool is always allowed in this chat), run with a
timeout, and its result (or the sentence of why there is none) stored and shown; when all are done the
controller starts the next part of the reply under the last result. At most 8 calls per reply.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.store import messages
from app.store.errors import StoreError
from app.tools.approval import Answer, ToolLoopBudget, denied_sentence
from app.tools.errors import ToolError
from app.tools.tool_loop import Notice, offered_tools, sorted_events
from app.ui.background import run_in_background
from app.ui.message_rows import row_from_message
from app.ui.tool_session import ToolSession
from engines.tool_calls import (
    ToolCall,
    ToolCallFormat,
    ToolCallParser,
    detect_format,
    tool_calls_to_openai,
)

log = logging.getLogger(__name__)
CALL_TIMEOUT_S = 60.0


class ToolRounds(QObject):
    approval_needed = Signal(object, str)  # ToolCall, server
    status = Signal(str, bool)

    def __init__(self, controller: Any, tools: ToolSession) -> None:
        super().__init__(controller)
        self.controller = controller  # the ChatController: its store, session, messages, and continue_after_tools
        self.tools = tools
        self._parser: ToolCallParser | None = None
        self._calls: list[ToolCall] = []
        self._queue: list[ToolCall] = []
        self._waiting: ToolCall | None = None  # the call on the approval card
        self._parent: int | None = None  # the message the next result (or the continued reply) goes under
        self._budget = ToolLoopBudget()
        self._over_budget = False
        self.running = False  # between a reply's calls and the reply going on

    # --- the reply's text -----------------------------------------------------------------------------

    def variables(self) -> dict[str, Any]:
        """What the chat template is given: the tools, while they are on."""
        return {"tools": offered_tools(self.tools.servers)} if self.tools.usable else {}

    def begin_turn(self) -> None:
        """The person sent a message: a new reply, with a new budget of calls."""
        self._budget, self._over_budget = ToolLoopBudget(), False

    def begin_reply(self) -> None:
        self._calls = []
        self._parser = ToolCallParser(self._format()) if self.tools.usable else None

    def _format(self) -> ToolCallFormat:
        session = self.controller.session
        template = session.template_override or (session.info.chat_template if session.info else None)
        return detect_format(template, session.name) or ToolCallFormat.GENERIC

    def feed(self, text: str) -> str:
        """The part of `text` to show and keep as the reply's text (calls are taken out)."""
        return text if self._parser is None else self._sorted(self._parser.feed(text))

    def finish_text(self) -> str:
        return "" if self._parser is None else self._sorted(self._parser.finish())

    def _sorted(self, events: Any) -> str:
        shown: list[str] = []
        for event in sorted_events(events, shown, self._calls):
            if isinstance(event, Notice):
                self.status.emit(event.text, True)
        return "".join(shown)

    # --- the calls ------------------------------------------------------------------------------------

    def keep_calls(self, message_id: int | None, finish_reason: str) -> bool:
        """After a reply ended: keep the calls it made with it; True when there are calls to run."""
        calls, self._calls = self._calls, []
        if not calls or message_id is None or finish_reason in ("error", "cancelled"):
            return False
        try:
            messages.keep_tool_calls(self.controller.store, message_id, tool_calls_to_openai(calls))
        except StoreError as err:
            self.status.emit(str(err), True)
            return False
        self.running, self._queue, self._parent = True, calls, message_id
        return True

    def run_calls(self) -> None:
        """Ask about, run and answer the kept calls one by one (the chat stays busy meanwhile)."""
        self._next()

    def _next(self) -> None:
        if not self.running:
            return
        if not self._queue:
            self.running = False
            if self._budget.remaining == 0 and self._over_budget:
                # The ninth call was refused: the reply ends here rather than ask the model again.
                self.status.emit(f"This reply reached its limit of {self._budget.max_calls} tool calls.", True)
                self.controller.tools_stopped()
                return
            assert self._parent is not None
            self.controller.continue_after_tools(self._parent)
            return
        call = self._queue.pop(0)
        info = (
            next((tool for tool in self.tools.servers.tools() if tool.key == call.name), None)
            if self.tools.servers
            else None
        )
        if info is None:
            self._record(call, f"There is no tool called {call.name} now.")
            return
        try:
            self._budget.spend()
        except ToolError as err:
            self._queue, self._over_budget = [], True
            self._record(call, str(err))
            return
        chat = self.controller.conversation_id
        if self.tools.approvals.needs_asking(chat, info.server, info.name):
            self._waiting = call
            self.approval_needed.emit(call, info.server)
        else:
            self._run(call)

    def answer(self, answer: Answer) -> None:
        """The person's answer on the card."""
        call, self._waiting = self._waiting, None
        if call is None or not self.running:
            return
        info = (
            next((tool for tool in self.tools.servers.tools() if tool.key == call.name), None)
            if self.tools.servers
            else None
        )
        server, name = (info.server, info.name) if info else ("", call.name)
        if self.tools.approvals.answer(self.controller.conversation_id, server, name, answer):
            self._run(call)
        else:
            self._record(call, denied_sentence(call.name))

    def _run(self, call: ToolCall) -> None:
        servers = self.tools.servers
        self.status.emit(f"Running {call.name}…", False)
        run_in_background(
            self,
            lambda: servers.call(call.name, call.arguments, CALL_TIMEOUT_S),
            lambda result: self._record(call, str(result)),
            lambda error: self._record(
                call, str(error) if isinstance(error, ToolError) else f"The tool failed ({error})."
            ),
        )

    def _record(self, call: ToolCall, result: str) -> None:
        """Keep the result (or why there is none) as a tool message answering the call, and show it."""
        if not self.running:
            return
        try:
            kept = messages.add_message(
                self.controller.store,
                self.controller.conversation_id,
                "tool",
                result,
                self._parent,
                tool_calls=tool_calls_to_openai([call]),
            )
        except StoreError as err:
            self.status.emit(str(err), True)
            self.stop()
            return
        self.controller.messages.append_row(row_from_message(kept))
        self._parent = kept.id
        self._next()

    def stop(self) -> None:
        """Stop the calls still to come; the chat is no longer busy with them."""
        was_running = self.running
        self.running, self._queue, self._waiting = False, [], None
        if was_running:
            self.controller.tools_stopped()


def _failure(error: Exception) -> str:
    return str(error) if isinstance(error, ToolError) else f"The tool failed ({error.__class__.__name__})."
