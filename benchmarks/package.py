"""Parlour as a Linux download: sizes, cold start from the bundle against the venv, and the self-test.

    python benchmarks/package.py [--dist DIR] [--build] [--runs 5] [--cuts]

Uses the packages `make package` left in dist/ (building them there first when missing, or with
--build). Cold start is the wall time from starting `parlour` to its window shown (offscreen,
PARLOUR_MEASURE_STARTUP=1), each run in a data folder of its own, runs of the bundle and of the
venv's console script interleaved after one unmeasured run each (so both read from the page cache).
--cuts also builds the packages once without each cut (packaging/bundle_contents.py: ALL_CUTS) and
once without any, to show what each saves: several minutes.

Targets: cold start from the bundle at most 1.3x the venv's; the .tar.gz and the .deb under 400 MB.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "packaging" / "linux" / "build.py"
MB = 1_000_000
CUTS = ("qt", "transformers", "strip")


def build(dist: Path, work: Path, skip_cuts: str = "") -> dict[str, object]:
    env = {**os.environ, "PARLOUR_PACKAGE_SKIP_CUTS": skip_cuts}
    command = [sys.executable, str(BUILD), "--dist", str(dist), "--work", str(work), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the build failed:\n{(done.stdout + done.stderr)[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def packages_in(dist: Path) -> dict[str, object]:
    """The packages `make package` left in `dist`, found by name."""
    found: dict[str, object] = {"bundle": str(dist / "parlour"), "executable": str(dist / "parlour" / "parlour")}
    for key, pattern in (("tar_gz", "parlour-*-linux-*.tar.gz"), ("deb", "parlour_*.deb")):
        matches = sorted(dist.glob(pattern), key=lambda path: path.stat().st_mtime)
        if matches:
            found[key] = str(matches[-1])
    return found


def folder_bytes(folder: Path) -> int:
    return sum((Path(root) / name).lstat().st_size for root, _dirs, files in os.walk(folder) for name in files)


def sizes_mb(packages: dict[str, object]) -> dict[str, float | None]:
    def file_mb(key: str) -> float | None:
        return round(Path(str(packages[key])).stat().st_size / MB, 1) if key in packages else None

    return {
        "bundle_mb": round(folder_bytes(Path(str(packages["bundle"]))) / MB, 1),
        "tar_gz_mb": file_mb("tar_gz"),
        "deb_mb": file_mb("deb"),
    }


def window_shown_wall_s(command: list[str]) -> tuple[float | None, float | None, str]:
    """Seconds from starting `command` to its `window_shown_s=` line, and the line's own figure."""
    home = tempfile.mkdtemp(prefix="parlour-package-bench-")  # a data folder of its own, every run
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PARLOUR_MEASURE_STARTUP": "1", "PARLOUR_HOME": home}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    wall = inside = None
    for line in process.stdout:
        if line.startswith("window_shown_s="):
            wall = time.perf_counter() - started
            inside = float(line.split("=", 1)[1])
            break
    _out, err = process.communicate(timeout=120)
    note = "" if wall is not None else (err.strip().splitlines() or ["no window_shown_s line"])[-1]
    return wall, inside, note


def cold_starts(commands: dict[str, list[str]], runs: int) -> dict[str, object]:
    for command in commands.values():
        window_shown_wall_s(command)  # unmeasured: the page cache holds both afterwards
    walls: dict[str, list[float]] = {name: [] for name in commands}
    insides: dict[str, list[float]] = {name: [] for name in commands}
    notes: dict[str, str] = {}
    for _ in range(runs):
        for name, command in commands.items():
            wall, inside, note = window_shown_wall_s(command)
            if wall is not None and inside is not None:
                walls[name].append(round(wall, 3))
                insides[name].append(inside)
            elif note:
                notes[name] = note
    result: dict[str, object] = {}
    for name in commands:
        result[f"cold_start_s_{name}"] = round(statistics.median(walls[name]), 3) if walls[name] else None
        result[f"cold_start_runs_{name}"] = walls[name]
        # From run_app's first line to the window shown: without the interpreter's own start.
        result[f"window_shown_in_process_s_{name}"] = (
            round(statistics.median(insides[name]), 3) if insides[name] else None
        )
    bundle, venv = result.get("cold_start_s_bundle"), result.get("cold_start_s_venv")
    result["cold_start_ratio"] = round(bundle / venv, 2) if isinstance(bundle, float) and venv else None
    if notes:
        result["cold_start_problems"] = notes
    return result


def self_test_s(executable: str, runs: int = 3) -> tuple[float, dict[str, object]]:
    times, report = [], {}
    for _ in range(runs):
        home = tempfile.mkdtemp(prefix="parlour-package-self-test-")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "PARLOUR_HOME": home}
        started = time.perf_counter()
        done = subprocess.run([executable, "--self-test", "--json"], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        report = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {"ok": False}
    return round(statistics.median(times), 2), report


def largest(bundle: Path, count: int = 15) -> dict[str, dict[str, float]]:
    """The biggest entries right inside _internal (a package folder counts whole), and the biggest files."""
    internal = bundle / "_internal"
    parts = []
    for entry in internal.iterdir():
        size = folder_bytes(entry) if entry.is_dir() and not entry.is_symlink() else entry.lstat().st_size
        parts.append((entry.name + ("/" if entry.is_dir() else ""), size))
    parts.append(("parlour (the executable, with the Python modules' archive)", (bundle / "parlour").stat().st_size))
    files = [
        (str((Path(root) / name).relative_to(internal)), (Path(root) / name).lstat().st_size)
        for root, _dirs, names in os.walk(internal)
        for name in names
    ]

    def top(items: list[tuple[str, int]]) -> dict[str, float]:
        return {name: round(size / MB, 1) for name, size in sorted(items, key=lambda item: -item[1])[:count]}

    return {"largest_parts_mb": top(parts), "largest_files_mb": top(files)}


def cut_savings() -> dict[str, dict[str, float | None]]:
    """Sizes with every cut, without each one, and without any."""
    variants = {"all cuts": "", **{f"without {cut}": cut for cut in CUTS}, "no cuts": ",".join(CUTS)}
    found = {}
    for label, skip in variants.items():
        with tempfile.TemporaryDirectory(prefix="parlour-package-cuts-") as scratch:
            packages = build(Path(scratch) / "dist", Path(scratch) / "work", skip)
            found[label] = sizes_mb(packages)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dist", type=Path, default=REPO / "dist")
    parser.add_argument("--build", action="store_true", help="build the packages even if dist/ has them")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cuts", action="store_true", help="also measure what each cut saves (several builds)")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        raise SystemExit("This benchmark measures the Linux packages.")
    dist = args.dist.resolve()
    build_s = None
    if args.build or not (dist / "parlour" / "parlour").is_file():
        started = time.perf_counter()
        packages = build(dist, REPO / "build" / "pyinstaller")
        build_s = round(time.perf_counter() - started, 1)
    else:
        packages = packages_in(dist)
    executable = str(packages["executable"])
    venv_script = str(Path(sys.executable).parent / "parlour")

    result: dict[str, object] = {**sizes_mb(packages)}
    result.update(cold_starts({"bundle": [executable], "venv": [venv_script]}, args.runs))
    seconds, report = self_test_s(executable)
    result["self_test_s"] = seconds
    result["self_test_ok"] = report.get("ok")
    result["self_test_tokens_per_s"] = report.get("tokens_per_s")
    result["build_s"] = build_s
    result["runs"] = args.runs
    result.update(largest(Path(str(packages["bundle"]))))
    if args.cuts:
        result["sizes_by_cut_mb"] = cut_savings()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
