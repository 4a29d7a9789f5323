"""The bridge hands the host's events to the GUI thread, and lets go quietly once the window is gone."""

from __future__ import annotations

import shiboken6

from app.ui.engine_bridge import EngineBridge
from engines.protocol import Pong


def test_an_event_for_a_deleted_bridge_is_dropped_quietly(qtbot) -> None:
    bridge = EngineBridge()
    seen: list[tuple[str, object]] = []
    bridge.engine_event.connect(lambda request_id, event: seen.append((request_id, event)))
    deliver = bridge._listener("ui1")
    deliver(Pong(pid=1, loaded=False))
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0][0] == "ui1" and isinstance(seen[0][1], Pong)
    client = bridge.client
    shiboken6.delete(bridge)  # the window closed
    deliver(Pong(pid=1, loaded=False))  # the reader thread's late event: no exception reaches the reader
    client.close()
