"""Start-up cost of the `parlour` command: `--version` and `--help` wall time, and what importing
the CLI pulls in. Target: each under 0.3 s, and no mlx, llama_cpp, transformers or huggingface_hub
imported. Prints one JSON object.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("mlx", "mlx_lm", "llama_cpp", "transformers", "huggingface_hub", "PySide6", "numpy", "jinja2")


def wall_times(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = str(Path(sys.executable).parent / "parlour")
    version = wall_times([script, "--version"], args.runs)
    helptext = wall_times([script, "--help"], args.runs)
    probe = (
        "import sys, app.cli; app.cli.build_parser().format_help(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    print(
        json.dumps(
            {
                "version_s_median": round(statistics.median(version), 4),
                "version_s_max": round(max(version), 4),
                "help_s_median": round(statistics.median(helptext), 4),
                "help_s_max": round(max(helptext), 4),
                "heavy_modules_imported_by_cli": [m for m in imported.stdout.strip().split(",") if m],
                "runs": args.runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
