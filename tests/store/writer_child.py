"""Child process for the two-writers test: adds turns to a shared conversation and its own.

    python -m tests.store.writer_child DB_PATH SHARED_CONVERSATION_ID NAME TURNS START_AT

START_AT is a time.monotonic() value; both children wait for it so their writes overlap.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.store.conversations import create_conversation
from app.store.db import open_store
from app.store.messages import add_message
from app.store.replies import start_reply


def main() -> None:
    path, shared, name, turns, start_at = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    store = open_store(Path(path))
    own = create_conversation(store, title=f"{name}'s own").id
    time.sleep(max(0.0, start_at - time.monotonic()))
    parent = None
    for turn in range(turns):
        # Shared: every message a new root, so the two writers never depend on each other's IDs.
        add_message(store, shared, "user", f"{name} shared {turn}", None)
        user = add_message(store, own, "user", f"{name} asks {turn}", parent)
        writer = start_reply(store, own, user.id, interval_s=0)
        for word in range(5):
            writer.append(f"{name}-{turn}-{word} ")
        writer.finish()
        parent = writer.message_id
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
