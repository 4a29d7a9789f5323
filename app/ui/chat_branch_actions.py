"""The chat's actions on the message tree: regenerate a reply, edit a message, continue a cut-off reply,
delete a branch, switch between branches. Each changes the tree in the store first, then shows the
thread again and (for a new reply) starts it; all are refused while a reply is being written.

A part of ChatController (it is one of its bases): it uses the controller's store, session, the shown
thread's alternatives and its `_start`, `_reload_thread` and `_store_call`.
"""

from __future__ import annotations

from typing import Any

from app.store import branches, conversations, messages, replies


class BranchActions:
    store: Any
    session: Any
    busy: Any
    conversation_saved: Any
    _alternatives: dict[int, tuple[int, ...]]

    def _start(self, writer: Any, continue_final: bool = False) -> bool:
        raise NotImplementedError

    def _reload_thread(self) -> None:
        raise NotImplementedError

    def _store_call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def regenerate(self, message_id: int) -> None:
        if self.busy:
            return
        writer = self._store_call(replies.regenerate, self.store, message_id, model=self.session.name)
        if writer is not None:
            self._reload_thread()  # the new reply is a branch beside the old one
        self._start(writer)

    def edit(self, message_id: int, text: str) -> None:
        if self.busy or not text.strip():
            return
        edited = self._store_call(messages.edit_user_message, self.store, message_id, text.strip())
        if edited is None:
            return
        writer = self._store_call(
            replies.start_reply, self.store, edited.conversation_id, edited.id, model=self.session.name
        )
        self._reload_thread()
        saved = self._store_call(conversations.get_conversation, self.store, edited.conversation_id)
        if saved is not None:
            self.conversation_saved.emit(saved)  # editing the first message may retitle it
        self._start(writer)

    def continue_reply(self, message_id: int) -> None:
        if self.busy:
            return
        writer = self._store_call(replies.continue_reply, self.store, message_id)
        self._start(writer, continue_final=True)

    def delete(self, message_id: int) -> None:
        if self.busy:
            return
        self._store_call(branches.delete_branch, self.store, message_id)
        self._reload_thread()

    def switch_branch(self, message_id: int, step: int) -> None:
        """Show the previous (step -1) or next (+1) sibling of a message."""
        siblings = self._alternatives.get(message_id)
        if self.busy or not siblings or message_id not in siblings:
            return
        target = siblings[(siblings.index(message_id) + step) % len(siblings)]
        self._store_call(branches.switch_to, self.store, target)
        self._reload_thread()
