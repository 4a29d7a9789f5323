"""Durability with real processes: a reply survives kill -9 up to its last second, and two
processes can write the same store at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.store.branches import load_thread
from app.store.conversations import create_conversation, list_recent
from app.store.db import open_store
from app.store.messages import get_message
from app.store.recovery import check_integrity
from app.store.replies import continue_reply, mark_interrupted_replies

from .conftest import REPO_ROOT
from .stream_child import token

TOKENS_PER_SECOND = 50
STREAM_SECONDS = 3.7


def _child(*arguments: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_9_mid_reply_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "parlour.db"
    child = _child("tests.store.stream_child", str(path), str(TOKENS_PER_SECOND))
    try:
        ready = child.stdout.readline().split()
        assert ready[0] == "ready", ready
        message_id = int(ready[1])
        progress: list[tuple[int, float]] = []
        while True:
            index, stamp = child.stdout.readline().split()
            progress.append((int(index), float(stamp)))
            if progress[-1][1] - progress[0][1] >= STREAM_SECONDS:
                break
        killed_at = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        # Tokens it announced after our last read, until it died.
        for line in child.stdout.read().splitlines():
            index, stamp = line.split()
            progress.append((int(index), float(stamp)))
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert [index for index, _ in progress] == list(range(len(progress)))

    streamed = "".join(token(index) for index, _ in progress)
    due = "".join(token(index) for index, stamp in progress if stamp <= killed_at - 1.0)
    assert len(due) > 40 * len(token(0))  # over a second's worth must be on disk, or the test proves nothing

    with open_store(path) as store:
        saved = get_message(store, message_id)
        assert streamed.startswith(saved.content)
        assert saved.content.startswith(due), (len(saved.content), len(due))
        assert saved.status == "streaming"
        assert mark_interrupted_replies(store) == 1
        assert get_message(store, message_id).status == "interrupted"
        assert check_integrity(store.connection) == []
        # And it can be continued where it stopped.
        writer = continue_reply(store, message_id)
        writer.append("and so on.")
        assert writer.finish()
        assert get_message(store, message_id).content == saved.content + "and so on."


def test_two_processes_write_the_same_store_at_once(tmp_path: Path) -> None:
    path = tmp_path / "parlour.db"
    with open_store(path) as store:
        shared = create_conversation(store, title="shared").id
    turns = 25
    start_at = time.monotonic() + 1.5
    children = [
        _child("tests.store.writer_child", str(path), str(shared), name, str(turns), str(start_at))
        for name in ("ada", "bob")
    ]
    for child in children:
        output, _ = child.communicate(timeout=120)
        assert child.returncode == 0 and output.strip() == "done"
    with open_store(path) as store:
        assert check_integrity(store.connection) == []
        titles = {c.title: c.id for c in list_recent(store)}
        for name in ("ada", "bob"):
            thread = load_thread(store, titles[f"{name}'s own"])
            assert [m.content for m in thread.messages[::2]] == [f"{name} asks {turn}" for turn in range(turns)]
            assert all(m.status == "done" for m in thread.messages)
            assert len(thread.messages) == 2 * turns
        shared_texts = {
            row[0] for row in store.read("SELECT content FROM messages WHERE conversation_id = ?", (shared,))
        }
        assert shared_texts == {f"{name} shared {turn}" for name in ("ada", "bob") for turn in range(turns)}
