"""What Parlour's engine host costs: decode speed through the host versus the raw library.

Runs alternate (raw, Parlour, raw, Parlour, ...) so machine noise hits both alike,
and each pair uses a prompt neither side has seen, so prompt caches do not flatter
time to first token. Parlour is timed at the client, so the JSON-lines hop counts.

llama.cpp is measured twice: on a quiet machine, and "contended", with one bounded
CPU burner (another process spinning on one core) running throughout. Raw
llama-cpp-python runs with 1 thread and with all physical cores, and Parlour is
compared with the better of the two in each case. Prints one JSON object.

    python benchmarks/engine_overhead.py [--runs 5] [--llama-tokens 256] [--mlx-tokens 48] [--skip-mlx]
                                         [--skip-contended]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import Delta, Finished, GenerationParams  # noqa: E402
from engines.host_client import EngineClient  # noqa: E402
from engines.template_choice import builtin_template  # noqa: E402
from engines.templates import render_chat  # noqa: E402

PROMPT = "Story {i}: write a long, detailed story about a lighthouse keeper and a storm."


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPT.format(i=i)}]


def timed_parlour(client: EngineClient, i: int, max_tokens: int) -> dict[str, float]:
    params = GenerationParams(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0)
    start = time.perf_counter()
    first = last = 0.0
    finished: Finished | None = None
    for event in client.generate(messages(i), params):
        now = time.perf_counter()
        if isinstance(event, Delta):
            first = first or now
            last = now
        elif isinstance(event, Finished):
            finished = event
    assert finished is not None and finished.finish_reason != "error", finished
    tokens = finished.stats.generated_tokens
    return {"tokens": tokens, "tps": (tokens - 1) / (last - first), "ttft_ms": (first - start) * 1000}


# --- llama.cpp ----------------------------------------------------------------------------------------


def raw_llamacpp(llm: Any, template: str, i: int, max_tokens: int) -> dict[str, float]:
    prompt = render_chat(template or builtin_template("chatml"), messages(i))
    start = time.perf_counter()
    ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    first = last = 0.0
    tokens = 0
    for chunk in llm.create_completion(
        prompt=ids, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0, stream=True
    ):
        if chunk["choices"][0]["finish_reason"] is not None:
            break  # the closing chunk carries no token
        now = time.perf_counter()
        first = first or now
        last = now
        tokens += 1
    return {"tokens": tokens, "tps": (tokens - 1) / (last - first), "ttft_ms": (first - start) * 1000}


BURNER = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def start_burner(seconds: float) -> subprocess.Popen[bytes]:
    """Another program keeping one core busy, for at most `seconds` (killed sooner when done)."""
    return subprocess.Popen([sys.executable, "-c", BURNER, str(seconds)])


Runs = dict[str, list[dict[str, float]]]  # "raw_1", "raw_all", "parlour" -> one dict per reply


class InterleavedLlama:
    """Raw llama-cpp-python (with 1 thread and with all cores) and Parlour, measured in turn."""

    def __init__(self, client: EngineClient, max_tokens: int) -> None:
        import llama_cpp

        from engines.inspect import inspect_model
        from engines.llamacpp_native import route_native_logs
        from engines.thread_choice import usable_cores

        path = starter_model_path()
        assert path is not None
        self.template = inspect_model(path).chat_template or ""
        route_native_logs()
        self.cores = usable_cores()
        self.llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=8192,
            n_batch=512,
            n_threads=self.cores,
            n_threads_batch=self.cores,
            n_gpu_layers=0,
            verbose=False,
        )
        self.client = client
        self.max_tokens = max_tokens
        client.load(str(path), "llamacpp")
        raw_llamacpp(self.llm, self.template, 10_000, 8)  # warm both
        timed_parlour(client, 10_000, 8)

    def raw_with(self, threads: int, i: int) -> dict[str, float]:
        import llama_cpp

        llama_cpp.llama_set_n_threads(self.llm._ctx.ctx, threads, threads)
        return raw_llamacpp(self.llm, self.template, i, self.max_tokens)

    def measure(self, runs: int, offset: int) -> Runs:
        measured: Runs = {"raw_1": [], "raw_all": [], "parlour": []}
        for i in range(runs):
            measured["raw_1"].append(self.raw_with(1, offset + 3 * i))
            measured["parlour"].append(timed_parlour(self.client, offset + 3 * i + 1, self.max_tokens))
            measured["raw_all"].append(self.raw_with(self.cores, offset + 3 * i + 2))
        return measured


def bench_llamacpp(runs: int, max_tokens: int, contended: bool) -> dict[str, Any]:
    with EngineClient() as client:
        bench = InterleavedLlama(client, max_tokens)
        quiet = bench.measure(runs, 0)
        result: dict[str, Any] = {"cores": bench.cores}
        result.update(_compare(quiet["raw_all"], quiet["parlour"]))  # the figures earlier runs reported
        best_quiet = max(_median_tps(quiet["raw_1"]), _median_tps(quiet["raw_all"]))
        result["quiet_raw_1_thread_tps"] = round(_median_tps(quiet["raw_1"]), 2)
        result["quiet_raw_best_tps"] = round(best_quiet, 2)
        result["quiet_ratio_vs_best_raw"] = round(_median_tps(quiet["parlour"]) / best_quiet, 3)
        if contended:
            burner = start_burner(600)
            try:
                time.sleep(0.5)  # let the burner take its core
                result.update(_contended_figures(bench.measure(runs, 1_000)))
            finally:
                burner.kill()
                burner.wait()
        result["host_rss_bytes"] = client.ping().rss_bytes
        bench.llm.close()
    return result


def _contended_figures(busy: Runs) -> dict[str, Any]:
    best_busy = max(_median_tps(busy["raw_1"]), _median_tps(busy["raw_all"]))
    return {
        "contended_parlour_tps": round(_median_tps(busy["parlour"]), 2),
        "contended_raw_1_thread_tps": round(_median_tps(busy["raw_1"]), 2),
        "contended_raw_all_cores_tps": round(_median_tps(busy["raw_all"]), 2),
        "contended_raw_best_tps": round(best_busy, 2),
        "contended_ratio": round(_median_tps(busy["parlour"]) / best_busy, 3),
        "contended_parlour_tps_runs": [round(r["tps"], 1) for r in busy["parlour"]],
        "contended_raw_1_thread_tps_runs": [round(r["tps"], 1) for r in busy["raw_1"]],
        "contended_raw_all_cores_tps_runs": [round(r["tps"], 1) for r in busy["raw_all"]],
    }


def _median_tps(runs: list[dict[str, float]]) -> float:
    return statistics.median(r["tps"] for r in runs)


# --- MLX ----------------------------------------------------------------------------------------------


def raw_mlx(model: Any, tokenizer: Any, template: str, i: int, max_tokens: int) -> dict[str, float]:
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    prompt = render_chat(template or builtin_template("chatml"), messages(i))
    start = time.perf_counter()
    ids = tokenizer.encode(prompt, add_special_tokens=False)
    first = last = 0.0
    tokens = 0
    for _response in stream_generate(model, tokenizer, ids, max_tokens=max_tokens, sampler=make_sampler(temp=0.0)):
        now = time.perf_counter()
        first = first or now
        last = now
        tokens += 1
    return {"tokens": tokens, "tps": (tokens - 1) / (last - first), "ttft_ms": (first - start) * 1000}


def bench_mlx(runs: int, max_tokens: int) -> dict[str, Any]:
    from mlx_lm import load

    from engines.inspect import inspect_model
    from tests.support.mlx_from_gguf import cached_starter_mlx_dir

    folder = cached_starter_mlx_dir()
    info = inspect_model(folder)
    model, tokenizer = load(str(folder))
    raw, ours = [], []
    with EngineClient() as client:
        client.load(str(folder), "mlx")
        raw_mlx(model, tokenizer, info.chat_template or "", 1000, 4)
        timed_parlour(client, 1000, 4)
        for i in range(runs):
            raw.append(raw_mlx(model, tokenizer, info.chat_template or "", i, max_tokens))
            ours.append(timed_parlour(client, i, max_tokens))
        host_rss = client.ping().rss_bytes
    return summarize(raw, ours, host_rss)


def summarize(raw: list[dict[str, float]], ours: list[dict[str, float]], host_rss: int | None) -> dict[str, Any]:
    return {**_compare(raw, ours), "host_rss_bytes": host_rss}


def _compare(raw: list[dict[str, float]], ours: list[dict[str, float]]) -> dict[str, Any]:
    raw_tps = statistics.median(r["tps"] for r in raw)
    our_tps = statistics.median(r["tps"] for r in ours)
    return {
        "parlour_tps": round(our_tps, 2),
        "raw_tps": round(raw_tps, 2),
        "ratio": round(our_tps / raw_tps, 3),
        "ttft_ms": round(statistics.median(r["ttft_ms"] for r in ours), 1),
        "raw_ttft_ms": round(statistics.median(r["ttft_ms"] for r in raw), 1),
        "parlour_tps_runs": [round(r["tps"], 1) for r in ours],
        "raw_tps_runs": [round(r["tps"], 1) for r in raw],
        "tokens_per_reply": [int(r["tokens"]) for r in ours],
        "raw_tokens_per_reply": [int(r["tokens"]) for r in raw],
        "runs": len(ours),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--llama-tokens", type=int, default=256)
    parser.add_argument("--mlx-tokens", type=int, default=48)
    parser.add_argument("--mlx-runs", type=int, default=5)
    parser.add_argument("--skip-mlx", action="store_true")
    parser.add_argument("--skip-contended", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"llamacpp": bench_llamacpp(args.runs, args.llama_tokens, not args.skip_contended)}
    if not args.skip_mlx:
        result["mlx"] = bench_mlx(args.mlx_runs, args.mlx_tokens)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
