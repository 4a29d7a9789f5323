"""One engine reply as an async stream: the host's events, handed from its reader thread to the event
loop, and the request cancelled the moment the stream is abandoned (its HTTP client went away), so
the engine stops within a token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from engines.base import (
    Delta,
    Finished,
    GenerationParams,
    GenerationStats,
    Message,
    PromptProgress,
    ReplyEvent,
    Started,
)
from engines.host_client import EngineClient
from engines.protocol import Event, Failure, ReplyRequest

log = logging.getLogger(__name__)
CANCEL_WAIT_S = 30.0  # a cancelled reply ends within a token; this is only a guard against a hung host


async def reply_events(
    client: EngineClient,
    messages: list[Message],
    params: GenerationParams,
    template_vars: dict[str, Any] | None = None,
    template: str | None = None,
) -> AsyncIterator[ReplyEvent]:
    """The reply's events, ending with Finished; leaving early cancels the reply in the engine."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Event] = asyncio.Queue()

    def deliver(event: Event) -> None:  # on the client's reader thread
        loop.call_soon_threadsafe(events.put_nowait, event)

    request = ReplyRequest(list(messages), params, template, dict(template_vars or {}))
    request_id = client.start_generate(request, deliver)
    finished = False
    try:
        while True:
            event = await events.get()
            if isinstance(event, Failure):
                event = Finished("error", GenerationStats(), event.message, event.code, event.detail)
            if isinstance(event, Finished):
                finished = True
                yield event
                return
            if isinstance(event, Started | PromptProgress | Delta):
                yield event
    finally:
        if not finished:
            log.info("reply %s cancelled: its client went away", request_id)
            client.cancel(request_id)
            # The engine still ends the reply (cancelled); wait for that, so the next request starts clean.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CANCEL_WAIT_S):
                    while not isinstance(await events.get(), Finished | Failure):
                        pass


async def whole_reply(
    client: EngineClient,
    messages: list[Message],
    params: GenerationParams,
    template_vars: dict[str, Any] | None = None,
    template: str | None = None,
) -> tuple[str, Finished]:
    """The reply's text (reasoning left out) and how it finished."""
    parts: list[str] = []
    async for event in reply_events(client, messages, params, template_vars, template):
        if isinstance(event, Delta) and not event.reasoning:
            parts.append(event.text)
        elif isinstance(event, Finished):
            return "".join(parts), event
    raise AssertionError("unreachable: a reply always ends with Finished")
