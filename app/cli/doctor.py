"""`parlour doctor`: what this machine offers Parlour (chip, memory, GPU, engine versions, window libraries)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli.exit_codes import EXIT_OK
from app.cli.terminal_text import json_text, say

if TYPE_CHECKING:
    from engines.hardware import HardwareReport


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from app.cli.qt_libraries import install_advice, missing_window_libraries
    from engines.hardware import probe

    report = probe(load_engines=True)
    missing = missing_window_libraries()
    if args.json:
        print(json_text({**report.to_dict(), "window_missing_libraries": missing}, indent=1))
        return EXIT_OK
    lines = report_lines(report)
    if missing:
        lines.append(f"Window:        {install_advice(missing)}")
    lines.extend(f"Note:          {note}" for note in report.notes)
    say("\n".join(lines), multiline=True)
    return EXIT_OK


def _memory(size: int | None) -> str:
    from engines.inspect import human_size

    return human_size(size) if size else "unknown"


def report_lines(report: HardwareReport) -> list[str]:
    """The report as aligned `Label: value` lines."""
    total, available = _memory(report.total_memory_bytes), _memory(report.available_memory_bytes)
    lines = [
        f"System:        {report.os} ({report.machine})",
        f"Chip:          {report.chip}, {report.cores} cores",
        f"Memory:        {total} total, {available} available",
        f"Apple Silicon: {'yes (unified memory, Metal)' if report.apple_silicon else 'no'}",
    ]
    for dev in report.cuda_devices:
        size, free = _memory(dev["total_memory_bytes"]), _memory(dev["free_memory_bytes"])
        lines.append(f"CUDA:          {dev['name']}, {size} ({free} free)")
    if not report.cuda_devices:
        lines.append("CUDA:          none")
    offload = {True: "GPU offload available", False: "CPU only", None: "not installed"}[report.llamacpp_gpu_offload]
    versions = report.versions
    lines.append(f"llama.cpp:     llama-cpp-python {versions.get('llama-cpp-python') or '-'} ({offload})")
    lines.append(
        f"MLX:           mlx {versions.get('mlx') or '-'}, mlx-lm {versions.get('mlx-lm') or '-'}"
        f" (device: {report.mlx_device or 'unavailable'})"
    )
    lines.append(f"Python:        {versions.get('python')}")
    return lines
