"""Download speed of Parlour's downloader against curl, from the local Hub stand-in, and bytes re-sent after a drop.

The stand-in runs in its own process and serves the starter GGUF (98 MB). Three measurements:

- throttled to a realistic 100 MB/s link: Parlour (model info request, ranged GET, sha256 as it
  arrives, fsync, rename) against `curl -L -o` of the same file in the same run. Target: at least 0.9.
- unthrottled on loopback: Parlour's MB/s (curl's for reference; loopback is not a network).
- a connection dropped once half way: bytes the server sent beyond the file's size.

Prints one JSON object.   python benchmarks/download.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
CURL = shutil.which("curl") or "/usr/bin/curl"


class StandIn:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_hub", "--starter"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.endpoint = json.loads(self.process.stdout.readline())["endpoint"]

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stats(self) -> dict:
        self.send("stats")
        assert self.process.stdout is not None
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


def curl_seconds(url: str, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run([CURL, "-s", "-f", "-L", "-o", str(target), url], check=True)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def parlour_seconds(models: Path) -> tuple[float, int]:
    from app.library.downloads import JobState, plan_download

    started = time.perf_counter()
    job = plan_download(REPO, [FILE], models_root=models)
    state = job.run()
    elapsed = time.perf_counter() - started
    if state != JobState.DONE:
        raise SystemExit(f"download failed: {job.error}")
    size = (models / REPO / FILE).stat().st_size
    shutil.rmtree(models / "HuggingFaceTB")
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--link-mb-s", type=float, default=100.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parlour-bench-download-"))
    stand_in = StandIn()
    os.environ.update(
        HF_ENDPOINT=stand_in.endpoint, HF_HUB_OFFLINE="0", PARLOUR_HOME=str(work / "home"), HF_HOME=str(work / "hf")
    )
    sys.path.insert(0, str(ROOT))
    from app.library.hub_connection import file_url

    url = file_url(REPO, FILE, "main")
    models = work / "models"
    try:
        results: dict[str, object] = {}
        for label, rate in (("throttled", args.link_mb_s), ("unthrottled", 0)):
            stand_in.send(f"throttle {rate}")
            curl, ours = [], []
            size = 0
            for _ in range(args.runs):  # interleaved, so both see the same machine
                curl.append(curl_seconds(url, work / "curl.bin"))
                seconds, size = parlour_seconds(models)
                ours.append(seconds)
            results[f"{label}_parlour_mb_per_s"] = round(size / statistics.median(ours) / 1e6, 1)
            results[f"{label}_curl_mb_per_s"] = round(size / statistics.median(curl) / 1e6, 1)
            results["file_bytes"] = size
        stand_in.send("throttle 0")
        stand_in.send("clear")
        size = int(results["file_bytes"])  # type: ignore[call-overload]
        stand_in.send(f"drop {size // 2}")
        parlour_seconds(models)
        sent = stand_in.stats()["body_bytes_sent"][FILE]
        report = {
            "throughput_ratio_vs_curl": round(
                results["throttled_parlour_mb_per_s"] / results["throttled_curl_mb_per_s"],
                3,  # type: ignore[operator]
            ),
            "link_mb_per_s": args.link_mb_s,
            "throttled_parlour_mb_per_s": results["throttled_parlour_mb_per_s"],
            "throttled_curl_mb_per_s": results["throttled_curl_mb_per_s"],
            "unthrottled_mb_per_s": results["unthrottled_parlour_mb_per_s"],
            "unthrottled_curl_mb_per_s": results["unthrottled_curl_mb_per_s"],
            "resent_bytes_after_drop": sent - size,
            "resent_fraction_after_drop": round((sent - size) / size, 5),
            "file_bytes": size,
            "runs": args.runs,
        }
        print(json.dumps(report, indent=1))
    finally:
        stand_in.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
