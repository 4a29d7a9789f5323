"""What structured output costs, on the starter model (and its MLX twin with --mlx).

Prints JSON, per engine:
- free_tps, constrained_tps and constrained_ratio: decode tokens/s of a greedy reply without and with a
  JSON Schema (one long string property, so both replies run to the same length); medians of --runs,
  the two kinds alternating so a change in the machine's load falls on both. Target ratio >= 0.85.
- free_tps_before and free_tps_after (llama.cpp): unconstrained decode through the engine host of the
  code at --before (a git ref, checked out into a temporary worktree) and of this tree, alternating.
  Target ratio >= 0.98: structured output must not slow a reply that does not use it.
- schema_compile_ms: checking and compiling a 50-property schema for the model's vocabulary (the
  vocabulary's token table built once per loaded model is reported apart, as tokenizer_ms).

Run: .venv/bin/python benchmarks/structured.py [--runs 5] [--before REF] [--mlx]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import GenerationParams  # noqa: E402
from engines.host_client import EngineClient  # noqa: E402

MAX_TOKENS = 128
ASK = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper, as JSON."}]
STORY = {"type": "object", "properties": {"story": {"type": "string"}}, "required": ["story"]}
FREE = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=MAX_TOKENS)
MEASURE_FREE = """
import json, sys
from engines.base import GenerationParams
from engines.host_client import EngineClient
params = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens={max_tokens})
with EngineClient() as client:
    client.load(sys.argv[1])
    client.generate({ask!r}, params).text()  # warm up
    speeds = [client.generate({ask!r}, params).text()[1].stats.generation_tps for _ in range(int(sys.argv[2]))]
print(json.dumps(speeds))
"""


def decode_speeds(client: EngineClient, runs: int) -> tuple[list[float], list[float]]:
    constrained = GenerationParams(
        **{**FREE.to_dict(), "stop": (), "response_format": {"type": "json_schema", "schema": STORY}}
    )
    client.generate(ASK, FREE).text()  # warm up both paths
    client.generate(ASK, constrained).text()
    free, bound = [], []
    for _ in range(runs):
        free.append(client.generate(ASK, FREE).text()[1].stats.generation_tps)
        text, finished = client.generate(ASK, constrained).text()
        assert finished.finish_reason != "error", finished.error
        bound.append(finished.stats.generation_tps)
    return free, bound


def engine_figures(path: str, runs: int) -> dict[str, Any]:
    with EngineClient() as client:
        client.load(path)
        free, bound = decode_speeds(client, runs)
    free_tps, constrained_tps = statistics.median(free), statistics.median(bound)
    return {
        "free_tps": round(free_tps, 1),
        "constrained_tps": round(constrained_tps, 1),
        "constrained_ratio": round(constrained_tps / free_tps, 3),
    }


def free_in(tree: Path, model: str, runs: int) -> list[float]:
    """Unconstrained decode speeds through the engine host of the code in `tree` (a process of its own)."""
    code = MEASURE_FREE.format(max_tokens=MAX_TOKENS, ask=ASK)
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, model, str(runs)], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def before_and_after(before: str, model: str, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), before], cwd=ROOT, check=True, capture_output=True
        )
        try:
            old, new = [], []
            for _ in range(runs):  # alternating, a few replies each
                old += free_in(tree, model, 2)
                new += free_in(ROOT, model, 2)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False, capture_output=True
            )
    old_tps, new_tps = statistics.median(old), statistics.median(new)
    return {
        "before": before,
        "free_tps_before": round(old_tps, 1),
        "free_tps_after": round(new_tps, 1),
        "free_ratio_after_before": round(new_tps / old_tps, 3),
    }


def compile_figures(model: str) -> dict[str, Any]:
    import llama_cpp
    from llguidance.llamacpp import lltokenizer_from_vocab

    from engines.constraints import TokenConstraint, checked_grammar

    llm = llama_cpp.Llama(model, vocab_only=True, verbose=False)
    started = time.perf_counter()
    tokenizer = lltokenizer_from_vocab(llm._model.vocab)
    tokenizer_ms = (time.perf_counter() - started) * 1000
    schema = {
        "type": "object",
        "properties": {
            f"field_{i}": [{"type": "string"}, {"type": "integer"}, {"enum": ["a", "b"]}][i % 3] for i in range(50)
        },
        "required": [f"field_{i}" for i in range(50)],
    }
    times = []
    for _ in range(5):
        started = time.perf_counter()
        grammar = checked_grammar({"type": "json_schema", "schema": schema}, tokenizer)
        constraint = TokenConstraint(tokenizer, grammar, llm.n_vocab())
        constraint.allowed()  # the first mask: compiling is lazy in part
        times.append((time.perf_counter() - started) * 1000)
    return {"tokenizer_ms": round(tokenizer_ms, 1), "schema_compile_ms": round(statistics.median(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", help="a git ref without structured output, to measure unconstrained decode against")
    parser.add_argument("--mlx", action="store_true", help="also the MLX twin (slow on a CPU)")
    args = parser.parse_args()
    model = str(starter_model_path())
    output: dict[str, Any] = {"model": Path(model).name, "runs": args.runs, "max_tokens": MAX_TOKENS}
    output["llamacpp"] = {**engine_figures(model, args.runs), **compile_figures(model)}
    if args.before:
        output["llamacpp"].update(before_and_after(args.before, model, args.runs))
    if args.mlx:
        from tests.support.mlx_from_gguf import cached_starter_mlx_dir

        output["mlx"] = engine_figures(str(cached_starter_mlx_dir()), max(2, args.runs // 2))
    print(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()
