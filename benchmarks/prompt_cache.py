"""Time to first token across a long chat, with prompt-cache reuse and without, on both engines.

Each turn re-sends the whole conversation (as the app does). "reuse" keeps the
engine's prompt cache, "cold" loads the same model with reuse turned off, and
"alternating" runs two conversations turn by turn with reuse, so every turn is a
switch. Replies are greedy, so all three see identical conversations. TTFT is
measured at the client, from sending the request to the first text arriving.
Prints one JSON object.

    python benchmarks/prompt_cache.py [--skip-mlx] [--llama-turns 12] [--mlx-turns 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import Delta, Finished, GenerationParams, LoadSettings  # noqa: E402
from engines.host_client import EngineClient  # noqa: E402

SENTENCES = [
    "The harbour town wakes before dawn, when the fishing boats slip their moorings one by one.",
    "A baker on the quay sells bread still warm from ovens that have burned since the old war.",
    "Gulls argue over scraps while the lighthouse keeper climbs the spiral stair for the last time.",
    "Storm clouds gather over the western cliffs and the radio crackles with warnings from the coast guard.",
    "Children run along the sea wall, counting the waves that break against the granite blocks.",
    "In the library above the chandlery, an old map shows islands that no longer appear on charts.",
    "The ferry captain keeps a notebook of every passenger who has ever asked about the drowned village.",
    "At noon the church bell rings twelve times, though the clock on its tower stopped years ago.",
]


def user_turn(topic: str, index: int, words: int) -> str:
    """A deterministic user message of roughly `words` words, different for every turn and topic."""
    parts = [f"{topic} question {index}: read this and answer briefly."]
    i = index
    while sum(len(p.split()) for p in parts) < words:
        parts.append(SENTENCES[i % len(SENTENCES)])
        i += 3
    return " ".join(parts)


class Chat:
    def __init__(self, client: EngineClient, topic: str, words: int, reply_tokens: int) -> None:
        self.client = client
        self.topic = topic
        self.words = words
        self.params = GenerationParams(temperature=0.0, max_tokens=reply_tokens, repeat_penalty=1.0)
        self.messages: list[dict[str, str]] = [{"role": "system", "content": "You are a concise assistant."}]

    def turn(self, index: int) -> dict[str, float]:
        self.messages.append({"role": "user", "content": user_turn(self.topic, index, self.words)})
        start = time.perf_counter()
        first = 0.0
        parts: list[str] = []
        finished: Finished | None = None
        for event in self.client.generate(self.messages, self.params):
            if isinstance(event, Delta):
                first = first or time.perf_counter()
                parts.append(event.text)
            elif isinstance(event, Finished):
                finished = event
        assert finished is not None and finished.finish_reason != "error", finished
        self.messages.append({"role": "assistant", "content": "".join(parts)})
        ttft = (first - start) * 1000 if first else finished.stats.ttft_ms
        return {
            "ttft_ms": round(ttft, 1),
            "prompt_tokens": finished.stats.prompt_tokens,
            "cached_tokens": finished.stats.cached_tokens,
        }


def run_engine(path: Path, engine: str, turns: int, words: int, reply_tokens: int, context: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for mode, cache_bytes in (("reuse", 1 << 30), ("cold", 0)):
        with EngineClient() as client:
            client.load(str(path), engine, LoadSettings(context_length=context, prompt_cache_bytes=cache_bytes))
            chat = Chat(client, "Harbour", words, reply_tokens)
            rows = [chat.turn(i) for i in range(turns)]
        result[f"ttft_ms_{mode}"] = [r["ttft_ms"] for r in rows]
        result[f"prompt_tokens_{mode}"] = [r["prompt_tokens"] for r in rows]
        result[f"cached_tokens_{mode}"] = [r["cached_tokens"] for r in rows]
    with EngineClient() as client:
        client.load(str(path), engine, LoadSettings(context_length=context))
        first, second = Chat(client, "Harbour", words, reply_tokens), Chat(client, "Mountain", words, reply_tokens)
        rows_a, rows_b = [], []
        for i in range(turns):
            rows_a.append(first.turn(i))
            rows_b.append(second.turn(i))
    result["ttft_ms_alternating"] = [r["ttft_ms"] for r in rows_a]
    result["ttft_ms_alternating_other"] = [r["ttft_ms"] for r in rows_b]
    result["cached_tokens_alternating"] = [r["cached_tokens"] for r in rows_a]
    reuse, cold, alt = result["ttft_ms_reuse"], result["ttft_ms_cold"], result["ttft_ms_alternating"]
    result["last_turn_reuse_over_cold"] = round(reuse[-1] / cold[-1], 3)
    result["reuse_growth_turn2_to_last"] = round(reuse[-1] / reuse[1], 2)
    result["alternating_advantage_last_turn"] = round(cold[-1] / alt[-1], 1)
    result["targets_met"] = {
        "reuse_at_most_a_fifth_of_cold": reuse[-1] <= cold[-1] / 5,
        "reuse_grows_at_most_2x": reuse[-1] <= 2 * reuse[1],
        "alternating_at_least_3x_faster": cold[-1] >= 3 * alt[-1],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-turns", type=int, default=12)
    parser.add_argument("--mlx-turns", type=int, default=8)
    parser.add_argument("--skip-mlx", action="store_true")
    parser.add_argument("--skip-llamacpp", action="store_true")
    args = parser.parse_args()
    output: dict[str, Any] = {}
    if not args.skip_llamacpp:
        starter = starter_model_path()
        assert starter is not None
        output["llamacpp"] = run_engine(starter, "llamacpp", args.llama_turns, 110, 64, 8192)
    if not args.skip_mlx:
        from tests.support.mlx_from_gguf import cached_starter_mlx_dir

        output["mlx"] = run_engine(cached_starter_mlx_dir(), "mlx", args.mlx_turns, 22, 16, 4096)
    print(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()
