"""Benchmark of the conversation store; prints one JSON object.

Builds a store of N conversations x 100 messages (about 500 characters each)
in a temporary folder, then measures what a person waits for: opening the
store and listing the recent conversations, loading a 1,000-message
conversation, searching for a rare and a common word, and one streaming
checkpoint. The build goes through the real schema (triggers keep the search
index) in one transaction with executemany; its time is reported, not judged.

    python benchmarks/store.py                      # 10,000 conversations, 1,000,000 messages
    python benchmarks/store.py --conversations 200  # a quick run
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store.branches import load_thread  # noqa: E402
from app.store.conversations import create_conversation, list_recent  # noqa: E402
from app.store.db import open_store  # noqa: E402
from app.store.messages import add_user_message  # noqa: E402
from app.store.replies import start_reply  # noqa: E402
from app.store.search import search  # noqa: E402
from app.store.timestamps import to_text  # noqa: E402

RARE_WORD = "quixotically"
RARE_WORD_MESSAGES = 3
LONG_CONVERSATION_MESSAGES = 1000
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["qu", "th", "sh", "ch"]


def vocabulary(rng: random.Random, size: int = 30000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    # Sorted, then shuffled with the seed: the same words on every run, ranks unrelated to length.
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


def text_pool(rng: random.Random, words: list[str], count: int, mean_words: int) -> list[str]:
    """Texts whose word frequencies follow Zipf's law, like real prose."""
    weights = list(itertools.accumulate(1.0 / rank for rank in range(1, len(words) + 1)))
    pool = []
    for _ in range(count):
        length = max(3, int(rng.expovariate(1 / mean_words)))
        pool.append(" ".join(rng.choices(words, cum_weights=weights, k=length)) + ".")
    return pool


MESSAGE_COLUMNS = (
    "INSERT INTO messages (id, conversation_id, parent_id, role, created_at, model, prompt_tokens, "
    "generated_tokens, finish_reason, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SyntheticChats:
    """Conversations of made-up messages with word frequencies like real text, written straight into SQLite."""

    def __init__(self, conversations: int, per_conversation: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.user_texts = text_pool(self.rng, self.words, 4000, mean_words=22)
        self.reply_texts = text_pool(self.rng, self.words, 8000, mean_words=125)
        self.rare_at = set(self.rng.sample(range(conversations * per_conversation), RARE_WORD_MESSAGES))
        self.message_id = 0
        self.total_chars = 0

    def messages(self, conversation_id: int, first_index: int, count: int, moment: datetime):  # noqa: ANN201
        """Rows for `count` messages of one conversation, alternating user and assistant."""
        parent = None
        for index in range(count):
            self.message_id += 1
            user = index % 2 == 0
            text = self.rng.choice(self.user_texts if user else self.reply_texts)
            if first_index + index in self.rare_at:
                text = f"{text} {RARE_WORD}"
            self.total_chars += len(text)
            stamp = to_text(moment + timedelta(seconds=index))
            role, model = ("user", None) if user else ("assistant", "bench-model")
            prompt_tokens, generated, reason = (None, None, None) if user else (120, 230, "stop")
            yield (self.message_id, conversation_id, parent, role, stamp, model, prompt_tokens, generated, reason, text)
            parent = self.message_id

    def add_conversation(
        self, connection: Any, conversation_id: int, title: str, moment: datetime, count: int, first_index: int
    ) -> None:
        connection.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, model, engine) VALUES (?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                title,
                to_text(moment),
                to_text(moment + timedelta(seconds=count)),
                "bench-model",
                "llama.cpp",
            ),
        )
        connection.executemany(MESSAGE_COLUMNS, self.messages(conversation_id, first_index, count, moment))
        connection.execute(
            "UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (self.message_id, conversation_id)
        )


def build(path: Path, conversations: int, per_conversation: int, seed: int = 7) -> dict:
    chats = SyntheticChats(conversations, per_conversation, seed)
    store = open_store(path)
    connection = store.connection
    start = time.perf_counter()
    base = datetime(2024, 1, 1, tzinfo=UTC)
    connection.execute("BEGIN")
    for number in range(conversations):
        title = f"Conversation {number}: {chats.rng.choice(chats.user_texts)[:40]}"
        chats.add_conversation(
            connection, number + 1, title, base + timedelta(minutes=number), per_conversation, number * per_conversation
        )
    # One long conversation, as old as the rest, so it is not at the top of the list.
    long_id = conversations + 1
    chats.add_conversation(connection, long_id, "A very long conversation", base, LONG_CONVERSATION_MESSAGES, -(10**9))
    connection.execute("COMMIT")
    build_s = time.perf_counter() - start
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {
        "build_s": round(build_s, 1),
        "messages": chats.message_id,
        "average_message_chars": round(chats.total_chars / chats.message_id),
        "long_conversation_id": long_id,
        "common_word": chats.words[9],  # the tenth most frequent word: in about half the messages
    }


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def measure_reads(path: Path, built: dict, repeats: int) -> dict[str, list[float] | int]:
    """Listing, opening a long conversation and searching, each `repeats` times."""

    def open_and_list():  # noqa: ANN202
        store = open_store(path)
        try:
            return list_recent(store, 50)
        finally:
            store.close()

    times: dict[str, list[float] | int] = {"list": [timed(open_and_list)[0] for _ in range(repeats)]}
    assert len(open_and_list()) == 50
    store = open_store(path)
    times.update(load=[], rare=[], common=[])
    for _ in range(repeats):
        elapsed, thread = timed(lambda: load_thread(store, built["long_conversation_id"]))
        times["load"].append(elapsed)  # type: ignore[union-attr]
        assert len(thread.messages) == LONG_CONVERSATION_MESSAGES
        elapsed, hits = timed(lambda: search(store, RARE_WORD))
        times["rare"].append(elapsed)  # type: ignore[union-attr]
        assert len(hits) == RARE_WORD_MESSAGES, hits
        elapsed, hits = timed(lambda: search(store, built["common_word"]))
        times["common"].append(elapsed)  # type: ignore[union-attr]
        assert len(hits) == 20
    query = "SELECT count(*) FROM message_search WHERE message_search MATCH ?"
    times["common_matches"] = store.read(query, (f'"{built["common_word"]}"',))[0][0]
    store.close()
    return times


def measure_streaming(path: Path) -> tuple[list[float], list[float]]:
    """Three two-minute replies at 50 tokens/s, checkpointed twice a second: 720 checkpoints, 3 finishes."""
    store = open_store(path)
    conversation = create_conversation(store, title="Checkpoint benchmark")
    checkpoint_times, finish_times = [], []
    chunk = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labor"
    for _ in range(3):
        user = add_user_message(store, conversation.id, "Tell me a long story.")
        writer = start_reply(store, conversation.id, user.id, interval_s=3600)
        for _ in range(240):
            writer.append(chunk)
            elapsed, saved = timed(writer.flush)
            assert saved
            checkpoint_times.append(elapsed)
        finish_times.append(timed(writer.finish)[0])
        store.wait_for_log_checkpoint()
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return checkpoint_times, finish_times


def measure(path: Path, built: dict, repeats: int) -> dict:
    reads = measure_reads(path, built, repeats)
    checkpoint_times, finish_times = measure_streaming(path)
    size = path.stat().st_size
    figures: dict[str, Any] = {}
    for name, key in (
        ("list_recent", "list"),
        ("load_conversation", "load"),
        ("search_rare", "rare"),
        ("search_common", "common"),
    ):
        runs = reads[key]
        assert isinstance(runs, list)
        figures[f"{name}_ms"] = round(statistics.median(runs), 2)
        figures[f"{name}_first_ms"] = round(runs[0], 2)
    return {
        **figures,
        "search_common_matches": reads["common_matches"],
        "checkpoint_p50_ms": round(statistics.median(checkpoint_times), 3),
        "checkpoint_p99_ms": round(statistics.quantiles(checkpoint_times, n=100)[98], 3),
        "checkpoint_max_ms": round(max(checkpoint_times), 3),
        "reply_finish_ms": round(statistics.median(finish_times), 3),
        "database_mb": round(size / 2**20, 1),
        "bytes_per_message": round(size / built["messages"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument("--messages-per-conversation", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; medians are reported")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep the store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parlour-bench-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "parlour.db"
        if path.exists():
            raise SystemExit(f"{path} already exists; choose an empty folder.")
        built = build(path, args.conversations, args.messages_per_conversation)
        result = {"conversations": args.conversations, **built, **measure(path, built, args.repeats)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
