"""Engine speed and memory under the load settings, on the starter model.

Prints JSON per engine:
- lookup_speedup: an editing task (a text of about 600 tokens to return with small changes), greedy,
  decode tokens/s with prompt lookup against without, and whether the output was the same
  (target >= 1.8 on llama.cpp; MLX on a CPU decodes a shorter reply, its batches being slow there);
- draft_speedup and draft_acceptance: the target (a float16 GGUF of the starter; the float16 MLX twin)
  with the starter (Q4_1; the 4-bit MLX twin) drafting, against the target alone (lookup off in both);
- kv_q8_memory_ratio: the KV cache's bytes holding 8,000 tokens, q8_0 against f16, as llama.cpp's saved
  state counts them (the cells in use, less those of one token) (target <= 0.55), and kv_q8_tps_ratio;
- restart_ttft_ms against cold_ttft_ms: the next message of a 3,000-token conversation in a new engine
  process, with the prompt cache on disk the last process wrote, and without it (target: 5x faster);
- cache_write_ms: from the reply's end to its state file written (and the model unloaded), and
  finish_ratio: the reply's time to its end with the disk cache against without (the write happens after
  the end is sent: about 1.0).

The derived test models come from tests/support/derived_models.py (cached outside the repository).
Run: .venv/bin/python benchmarks/engine_speed.py [--runs 3] [--only llamacpp|mlx]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import GenerationParams, LoadSettings  # noqa: E402
from engines.host_client import EngineClient  # noqa: E402

CONTEXT = 8192
DECODE = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=128)
STORY = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def kv_bytes(model: str, kv: str, tokens: int) -> int:
    """The KV cache's bytes holding `tokens` tokens, as llama.cpp saves it (its state: the cells in use)."""
    import llama_cpp

    types = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0}
    llm = llama_cpp.Llama(
        model, n_ctx=CONTEXT, type_k=types[kv], type_v=types[kv], flash_attn=kv != "f16", verbose=False
    )
    ids = [llm.token_bos()] + llm.tokenize(b" shelf" * tokens, add_bos=False)[: tokens - 1]
    llm.eval(ids)
    size = int(llama_cpp.llama_state_get_size(llm._ctx.ctx))
    llm.close()
    return size


def decode_speed(model: str, kv: str, runs: int) -> float:
    with EngineClient() as client:
        client.load(model, "llamacpp", LoadSettings(kv_cache_type=kv))
        client.generate(STORY, DECODE).text()  # warm up
        return statistics.median(client.generate(STORY, DECODE).text()[1].stats.generation_tps for _ in range(runs))


def editing_task() -> list[dict[str, str]]:
    sentences = [
        f"The {name} team met on day {day} to review the colour of the new signs and agreed to repaint them."
        for day, name in enumerate(["north", "south", "east", "west", "harbour", "river", "garden", "market"] * 3)
    ]
    text = " ".join(sentences)
    return [{"role": "user", "content": f"Return this text unchanged, except write 'color' for 'colour':\n\n{text}"}]


def timed_replies(model: str, engine: str, settings: LoadSettings, messages: list, params: GenerationParams, runs: int):
    """(median decode tokens/s, the reply's text, its last stats) over `runs` replies after a warm-up."""
    with EngineClient() as client:
        client.load(model, engine, settings)
        client.generate(messages, params).text()
        results = [client.generate(messages, params).text() for _ in range(runs)]
    speeds = [finished.stats.generation_tps for _, finished in results]
    return statistics.median(speeds), results[-1][0], results[-1][1].stats


def speculation(model: str, engine: str, draft: str | None, target: str | None, runs: int, tokens: int) -> dict:
    params = GenerationParams(temperature=0.0, repeat_penalty=1.0, max_tokens=tokens)
    task = editing_task()
    plain_tps, plain_text, _ = timed_replies(model, engine, LoadSettings(prompt_lookup=False), task, params, runs)
    lookup_tps, lookup_text, lookup = timed_replies(model, engine, LoadSettings(prompt_lookup=True), task, params, runs)
    result: dict[str, Any] = {
        "reply_tokens": tokens,
        "plain_tps": round(plain_tps, 1),
        "lookup_tps": round(lookup_tps, 1),
        "lookup_speedup": round(lookup_tps / plain_tps, 2),
        "lookup_same_output": lookup_text == plain_text,
        "lookup_acceptance": round(lookup.accepted_draft_tokens / max(1, lookup.draft_tokens), 3),
    }
    if draft and target:
        alone = LoadSettings(prompt_lookup=False)
        helped = LoadSettings(prompt_lookup=False, draft_model=draft)
        target_tps, target_text, _ = timed_replies(target, engine, alone, task, params, runs)
        drafted_tps, drafted_text, stats = timed_replies(target, engine, helped, task, params, runs)
        result |= {
            "target_tps": round(target_tps, 1),
            "drafted_tps": round(drafted_tps, 1),
            "draft_speedup": round(drafted_tps / target_tps, 2),
            "draft_acceptance": round(stats.accepted_draft_tokens / max(1, stats.draft_tokens), 3),
            "draft_same_output": drafted_text == target_text,
        }
    return result


def restart(model: str, engine: str, folder: Path, runs: int, notes_count: int = 150) -> dict[str, Any]:
    """TTFT of the next message of a chat (~3,000 tokens with 150 notes) in a new process, with and without
    the disk cache."""
    notes = " ".join(
        f"Note {i}: the meeting about item {i} moved to room {i % 7} on floor {i % 3}." for i in range(notes_count)
    )
    chat = [{"role": "user", "content": "My notes: " + notes}, {"role": "assistant", "content": "Noted."}]
    params = GenerationParams(temperature=0.0, max_tokens=16)

    def next_message(cache: Path | None, messages: list) -> Any:
        with EngineClient() as client:
            client.load(
                model, engine, LoadSettings(context_length=4096, prompt_cache_dir=str(cache) if cache else None)
            )
            started = time.perf_counter()
            _, finished = client.generate(messages, params).text()
            finished_s = time.perf_counter() - started
            writing = time.perf_counter()
            # Unloading waits for the state file being written: this is the whole write, after the reply's end.
            client.unload()
            return finished.stats, finished_s, time.perf_counter() - writing

    cold, restarted, finish_cold, finish_cached, writes = [], [], [], [], []
    for run in range(runs):
        ask = [*chat, {"role": "user", "content": f"Which room is item {run + 10} in?"}]
        shutil.rmtree(folder, ignore_errors=True)
        stats, finish_s, write_s = next_message(folder, ask)  # writes the state
        finish_cached.append(finish_s)
        writes.append(write_s)
        stats_cold, finish_s, _ = next_message(None, ask)
        finish_cold.append(finish_s)
        follow = [*ask, {"role": "assistant", "content": "Room 3."}, {"role": "user", "content": "And item 4?"}]
        cold.append(next_message(None, follow)[0].ttft_ms)
        warm = next_message(folder, follow)[0]
        restarted.append(warm.ttft_ms)
    file_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6 if folder.exists() else 0.0
    return {
        "conversation_tokens": stats.prompt_tokens,
        "cold_ttft_ms": round(statistics.median(cold), 1),
        "restart_ttft_ms": round(statistics.median(restarted), 1),
        "restart_speedup": round(statistics.median(cold) / statistics.median(restarted), 1),
        "restored_tokens": warm.disk_cached_tokens,
        "cache_write_ms": round(statistics.median(writes) * 1000, 1),
        "cache_mb": round(file_mb, 1),
        "finish_ratio": round(statistics.median(finish_cached) / statistics.median(finish_cold), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["llamacpp", "mlx"], help="measure one engine")
    args = parser.parse_args()
    from tests.support.derived_models import float16_starter_mlx_dir, quantized_starter_mlx_dir
    from tests.support.mlx_from_gguf import cached_starter_mlx_dir

    model = str(starter_model_path())
    output: dict[str, Any] = {"model": Path(model).name}
    if args.only != "mlx":
        output["llamacpp"] = llamacpp_figures(model, args.runs)
        print(json.dumps(output), file=sys.stderr, flush=True)  # what is done so far, should MLX fail
    if args.only != "llamacpp":
        twin = str(cached_starter_mlx_dir())
        draft, target = str(quantized_starter_mlx_dir(4)), str(float16_starter_mlx_dir())
        output["mlx"] = speculation(twin, "mlx", draft, target, 1, 48)
        with tempfile.TemporaryDirectory() as folder:
            # MLX reads only 5-10 prompt tokens a second on this kind of CPU: a shorter chat (~400 tokens).
            output["mlx"] |= restart(twin, "mlx", Path(folder) / "cache", 1, notes_count=16)
    print(json.dumps(output, indent=1))


def llamacpp_figures(model: str, runs: int) -> dict[str, Any]:
    from tests.support.derived_models import f16_starter_gguf

    full = CONTEXT - 192
    state = {kv: kv_bytes(model, kv, full) - kv_bytes(model, kv, 1) for kv in ("f16", "q8_0")}
    speed = {kv: decode_speed(model, kv, runs) for kv in ("f16", "q8_0")}
    llamacpp: dict[str, Any] = speculation(model, "llamacpp", model, str(f16_starter_gguf()), runs, 640)
    llamacpp |= {
        "kv_mb_at_8k": {kv: round(v / 1e6, 1) for kv, v in state.items()},
        "kv_q8_memory_ratio": round(state["q8_0"] / state["f16"], 3),
        "decode_tps": {kv: round(v, 1) for kv, v in speed.items()},
        "kv_q8_tps_ratio": round(speed["q8_0"] / speed["f16"], 3),
    }
    with tempfile.TemporaryDirectory() as folder:
        llamacpp |= restart(model, "llamacpp", Path(folder) / "cache", runs)
    return llamacpp


if __name__ == "__main__":
    main()
