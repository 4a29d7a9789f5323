"""One reply streamed to the terminal, and Ctrl+C that stops the reply instead of the program.

While a reply streams, Ctrl+C asks the engine to cancel (it stops within a token) and the
text so far is kept; the engine then ends the reply as "cancelled". A second Ctrl+C gives up
waiting and interrupts the program as usual.

On a terminal Ctrl+C reaches every process in the foreground group, the engine host too, which
would die of it and take the model with it. So the host is started with SIGINT ignored, which a
child inherits and Python keeps: only this process hears Ctrl+C, and turns it into a cancel.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.cli.terminal_text import note

if TYPE_CHECKING:
    from engines.base import Delta, Finished
    from engines.reply_stream import Reply

log = logging.getLogger(__name__)


@dataclass
class StreamedReply:
    finished: Finished
    printed: bool  # whether any text reached the terminal
    interrupted: bool  # whether the person pressed Ctrl+C while it streamed


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """SIGINT ignored for the duration: an engine host started meanwhile inherits that (see above)."""
    if not _in_main_thread():  # only the main thread may set handlers; nothing to shield then
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def cancel_on_interrupt(reply: Reply) -> Iterator[threading.Event]:
    """Ctrl+C cancels `reply` (the event is set); a second Ctrl+C raises KeyboardInterrupt."""
    interrupted = threading.Event()
    if not _in_main_thread():
        yield interrupted
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        # From a thread of its own: the handler may run while this thread is inside the client.
        threading.Thread(target=reply.cancel, name="cancel-reply", daemon=True).start()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def stream_reply(
    reply: Reply,
    *,
    as_json: bool = False,
    show_notice: bool = True,
    on_delta: Callable[[Delta], None] | None = None,
) -> StreamedReply:
    """Print the reply's text as it comes (thinking on stderr), until the engine finishes it."""
    from engines.base import Delta, EngineError, Finished, Started

    printed = False
    with cancel_on_interrupt(reply) as interrupted:
        for event in reply:
            if isinstance(event, Finished):
                if event.detail:
                    log.warning("reply ended with %s: %s (%s)", event.finish_reason, event.error, event.detail)
                return StreamedReply(event, printed, interrupted.is_set())
            if isinstance(event, Delta) and not interrupted.is_set():  # what comes after Ctrl+C is dropped
                print_delta(event, as_json)
                printed = True
                if on_delta is not None:
                    on_delta(event)
            elif isinstance(event, Started) and event.notice and show_notice:
                note(event.notice)
    raise EngineError("The engine stopped without finishing the reply; details are in the log.")


def print_delta(delta: Delta, as_json: bool) -> None:
    if as_json:
        record = {"delta": delta.text, "reasoning": True} if delta.reasoning else {"delta": delta.text}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif delta.reasoning:
        sys.stderr.write(delta.text)  # thinking goes beside the answer, not into it
        sys.stderr.flush()
        return
    else:
        sys.stdout.write(delta.text)
    sys.stdout.flush()
