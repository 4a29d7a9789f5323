"""Engine speed and memory under the load settings, on the starter model.

Prints JSON per engine. So far (the load settings are built; prompt lookup, draft models and the prompt
cache across restarts are not yet):
- kv_q8_memory_ratio: the KV cache's bytes holding 8,000 tokens, q8_0 against f16, as llama.cpp's saved
  state counts them (the cells in use, less those of one token) (target <= 0.55);
- kv_q8_tps_ratio: decode tokens/s with a q8_0 KV cache against f16 (medians of --runs).

Run: .venv/bin/python benchmarks/engine_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model = str(starter_model_path())
    full = CONTEXT - 192
    state = {kv: kv_bytes(model, kv, full) - kv_bytes(model, kv, 1) for kv in ("f16", "q8_0")}
    speed = {kv: decode_speed(model, kv, args.runs) for kv in ("f16", "q8_0")}
    output: dict[str, Any] = {
        "model": Path(model).name,
        "llamacpp": {
            "kv_mb_at_8k": {kv: round(v / 1e6, 1) for kv, v in state.items()},
            "kv_q8_memory_ratio": round(state["q8_0"] / state["f16"], 3),
            "decode_tps": {kv: round(v, 1) for kv, v in speed.items()},
            "kv_q8_tps_ratio": round(speed["q8_0"] / speed["f16"], 3),
        },
        "not_built_yet": ["lookup_speedup", "draft_speedup", "draft_acceptance", "restart_ttft_ms", "cache_write_ms"],
    }
    print(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()
