"""`parlour serve` against the engine called directly, and under 8 concurrent clients.

    .venv/bin/python benchmarks/server.py [--runs 5] [--tokens 128]

- server_tps vs direct_tps: the same greedy request on the starter model, streamed through the server
  with the openai client and straight through an EngineClient, alternating, median of --runs; both
  measured here, as the client sees them (tokens after the first / time from first to last token).
  server_ratio is their ratio (target >= 0.95). ttft_ms_server vs ttft_ms_direct likewise.
- 8 concurrent clients x 64 tokens: all_completed, aggregate_tps (all tokens / wall time),
  p95_ttft_ms, max_wait_ms (the longest any client waited for its first token) and starved (clients
  that got nothing).
- remote_ratio: a chat through Parlour's remote engine to llama-cpp-python's own server (started here on
  the starter model) against that server called directly with the openai client; tokens/s as the
  client sees them, alternating, median of --runs (target >= 0.95).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "benchmark-token"
MODEL = "SmolLM2 135M Instruct (starter)"
PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[str]:
    import httpx2 as httpx

    env = {**os.environ, "PARLOUR_HOME": tempfile.mkdtemp(prefix="parlour-bench-"), "PARLOUR_SERVER_TOKEN": TOKEN}
    parlour = str(Path(sys.executable).parent / "parlour")
    command = [parlour, "serve", "--port", str(port), "--model", MODEL, "--queue", "32"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server did not start: {process.stderr.read() if process.stderr else ''}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {TOKEN}"})
            if answer.status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in 3 minutes")


def through_server(client: Any, tokens: int) -> tuple[float, float, int]:
    """(ttft s, tokens/s after the first, tokens) of one streamed request, as the client sees it."""
    sent = time.perf_counter()
    first = last = None
    count = 0
    stream = client.chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=tokens,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
        if chunk.usage is not None:
            count = chunk.usage.completion_tokens
    assert first is not None and last is not None
    return first - sent, (count - 1) / (last - first) if last > first else 0.0, count


def direct(engine: Any, tokens: int) -> tuple[float, float, int]:
    from engines.base import Delta, Finished, GenerationParams

    params = GenerationParams(temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, max_tokens=tokens)
    sent = time.perf_counter()
    first = last = None
    count = 0
    for event in engine.generate(PROMPT, params):
        if isinstance(event, Delta) and event.text:
            last = time.perf_counter()
            first = first or last
        elif isinstance(event, Finished):
            count = event.stats.generated_tokens
    assert first is not None and last is not None
    return first - sent, (count - 1) / (last - first) if last > first else 0.0, count


def concurrent(client_factory: Any, clients: int, tokens: int) -> dict[str, Any]:
    results: list[tuple[float, int] | None] = [None] * clients

    def one(index: int) -> None:
        ttft, _tps, count = through_server(client_factory(), tokens)
        results[index] = (ttft, count)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    wall = time.perf_counter() - started
    done = [r for r in results if r is not None]
    ttfts = sorted(r[0] * 1000 for r in done)
    return {
        "clients": clients,
        "tokens_each": tokens,
        "all_completed": len(done) == clients and all(r[1] > 0 for r in done),
        "starved": clients - sum(1 for r in done if r[1] > 0),
        "aggregate_tps": round(sum(r[1] for r in done) / wall, 1),
        "p95_ttft_ms": round(ttfts[max(0, int(0.95 * len(ttfts)) - 1)], 1) if ttfts else None,
        "max_wait_ms": round(max(ttfts), 1) if ttfts else None,
        "wall_s": round(wall, 2),
    }


def remote(runs: int, tokens: int) -> dict[str, Any]:
    """Parlour's remote engine against the same llama-cpp-python server called directly."""
    import httpx2 as httpx
    import openai

    from app.library.starter import starter_model_path
    from engines.host_client import EngineClient
    from engines.remote_target import RemoteTarget

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(starter_model_path()), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/models").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("llama-cpp-python's server did not start")
            time.sleep(0.3)
        model = httpx.get(f"{url}/models").json()["data"][0]["id"]
        straight = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
        engine = EngineClient()
        engine.load(RemoteTarget("bench", url, model).ref())

        def directly(count: int) -> float:
            first = last = None
            pieces = 0
            stream = straight.chat.completions.create(
                model=model, messages=PROMPT, max_tokens=count, temperature=0, top_p=1.0, stream=True
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    last = time.perf_counter()
                    first = first or last
                    pieces += 1  # this server sends one token a chunk
            return (pieces - 1) / (last - first) if first and last and last > first else 0.0

        def through_parlour(count: int) -> float:
            _ttft, tps, _n = direct(engine, count)
            return tps

        directly(8)
        through_parlour(8)
        pairs = [(through_parlour(tokens), directly(tokens)) for _ in range(runs)]
        engine.close()
    finally:
        server.terminate()
        server.wait(30)
    remote_tps = statistics.median(p[0] for p in pairs)
    server_direct_tps = statistics.median(p[1] for p in pairs)
    return {
        "remote_tps": round(remote_tps, 1),
        "remote_direct_tps": round(server_direct_tps, 1),
        "remote_ratio": round(remote_tps / server_direct_tps, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    import openai

    from app.library.starter import starter_model_path
    from engines.host_client import EngineClient

    port = free_port()
    server = start_server(port)
    try:

        def client() -> Any:
            return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=TOKEN, max_retries=0, timeout=600)

        engine = EngineClient()
        engine.load(str(starter_model_path()), "llamacpp")
        served, straight = client(), []
        through: list[tuple[float, float, int]] = []
        through_server(served, 8)  # warm both paths
        direct(engine, 8)
        for _ in range(args.runs):
            through.append(through_server(served, args.tokens))
            straight.append(direct(engine, args.tokens))
        engine.close()
        server_tps = statistics.median(r[1] for r in through)
        direct_tps = statistics.median(r[1] for r in straight)
        report = {
            "runs": args.runs,
            "tokens": args.tokens,
            "server_tps": round(server_tps, 1),
            "direct_tps": round(direct_tps, 1),
            "server_ratio": round(server_tps / direct_tps, 3),
            "ttft_ms_server": round(statistics.median(r[0] for r in through) * 1000, 1),
            "ttft_ms_direct": round(statistics.median(r[0] for r in straight) * 1000, 1),
            "concurrent": concurrent(client, 8, 64),
            **remote(args.runs, args.tokens),
        }
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
