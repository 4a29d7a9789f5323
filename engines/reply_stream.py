"""One reply as an iterator: the events of a generate request, queued by the client's reader thread and
taken by whoever iterates (the CLI, tests, the evaluation runner). A failure the host reports instead
of finishing still ends the reply with a Finished("error")."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Protocol

from engines.base import Delta, Finished, GenerationStats, ReplyEvent
from engines.protocol import Event, Failure


class ReplySource(Protocol):
    """What a reply needs of its client (engines.host_client.EngineClient)."""

    def wait_on(self, events: queue.Queue[Event]) -> Event: ...

    def cancel(self, request_id: str) -> None: ...


class Reply:
    """One generate request: iterate it for events; cancel() stops it within a token."""

    def __init__(self, client: ReplySource) -> None:
        self._client = client
        self.id = ""  # set as soon as the request is sent; events queue up until iterated
        self._events: queue.Queue[Event] = queue.Queue()

    def _deliver(self, event: Event) -> None:
        self._events.put(event)

    def cancel(self) -> None:
        self._client.cancel(self.id)

    def __iter__(self) -> Iterator[ReplyEvent]:
        while True:
            event = self._client.wait_on(self._events)
            if isinstance(event, Failure):  # a generate request always ends with Finished; be safe
                event = Finished("error", GenerationStats(), event.message, event.code, event.detail)
            if not isinstance(event, ReplyEvent):
                continue
            yield event
            if isinstance(event, Finished):
                return

    def text(self) -> tuple[str, Finished]:
        """Wait for the whole reply."""
        parts: list[str] = []
        for event in self:
            if isinstance(event, Finished):
                return "".join(parts), event
            if isinstance(event, Delta) and event.text:
                parts.append(event.text)
        raise AssertionError("unreachable: a reply always ends with Finished")
