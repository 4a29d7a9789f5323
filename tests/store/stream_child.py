"""Child process for the kill -9 test: streams a reply into the store until it is killed.

Before appending each token it prints "INDEX MONOTONIC_TIME" (flushed), so the parent knows
exactly what was streamed and when. CLOCK_MONOTONIC is shared by all processes on the machine.

    python -m tests.store.stream_child DB_PATH TOKENS_PER_SECOND
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.store.conversations import create_conversation
from app.store.db import open_store
from app.store.messages import add_user_message
from app.store.replies import start_reply


def token(index: int) -> str:
    return f"w{index} "


def main() -> None:
    path, rate = Path(sys.argv[1]), float(sys.argv[2])
    store = open_store(path)
    conversation = create_conversation(store, model="test-model")
    user = add_user_message(store, conversation.id, "Count for me, slowly.")
    writer = start_reply(store, conversation.id, user.id, model="test-model")
    print(f"ready {writer.message_id}", flush=True)
    due = time.monotonic()
    index = 0
    while True:
        print(f"{index} {time.monotonic():.6f}", flush=True)
        writer.append(token(index))
        index += 1
        due += 1 / rate
        time.sleep(max(0.0, due - time.monotonic()))


if __name__ == "__main__":
    main()
