"""What this machine has: chip, memory, Metal or CUDA, cores, and the engine versions.

Each probe is cheap and never fails: a missing tool or library just leaves its
field empty, so `parlour doctor` always prints something useful.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class HardwareReport:
    os: str
    machine: str
    chip: str
    cores: int
    total_memory_bytes: int | None
    available_memory_bytes: int | None
    apple_silicon: bool
    unified_memory: bool
    metal: bool
    cuda_devices: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    llamacpp_gpu_offload: bool | None = None
    mlx_device: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def _chip_name() -> str:
    if sys.platform == "darwin":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _run(cmd: list[str], timeout: float = 3.0) -> str | None:
    if not shutil.which(cmd[0]):
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def memory() -> tuple[int | None, int | None]:
    """(total, available) bytes of RAM."""
    try:
        import psutil

        mem = psutil.virtual_memory()
        return int(mem.total), int(mem.available)
    except Exception:
        pass
    try:
        pages, avail = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return pages * size, avail * size
    except (ValueError, OSError, AttributeError):
        return None, None


def apple_gpu_working_set_bytes(total_memory: int | None = None) -> int | None:
    """How much unified memory the GPU may use on Apple Silicon, without importing MLX.

    Metal's recommendedMaxWorkingSetSize is about 70-75% of RAM; `iogpu.wired_limit_mb`
    is the user's override of it when set (non-zero).
    """
    if not is_apple_silicon():
        return None
    limit_mb = _run(["sysctl", "-n", "iogpu.wired_limit_mb"])
    if limit_mb and limit_mb.isdigit() and int(limit_mb) > 0:
        return int(limit_mb) * 1024 * 1024
    total = total_memory if total_memory is not None else memory()[0]
    return int(total * 0.75) if total else None


def cuda_devices() -> list[dict[str, Any]]:
    out = _run(["nvidia-smi", "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"])
    devices = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            try:
                devices.append(
                    {
                        "name": parts[0],
                        "total_memory_bytes": int(float(parts[1]) * 1024 * 1024),
                        "free_memory_bytes": int(float(parts[2]) * 1024 * 1024),
                    }
                )
            except ValueError:
                continue
    return devices


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def llamacpp_gpu_offload() -> bool | None:
    """Whether this llama-cpp-python build can put layers on a GPU (Metal or CUDA)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        return None


def mlx_device() -> str | None:
    try:
        import mlx.core as mx

        return str(mx.default_device())
    except Exception:
        return None


def probe(load_engines: bool = True) -> HardwareReport:
    """Everything `parlour doctor` prints. load_engines=False skips importing mlx and llama_cpp."""
    total, available = memory()
    apple = is_apple_silicon()
    report = HardwareReport(
        os=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        chip=_chip_name(),
        cores=os.cpu_count() or 1,
        total_memory_bytes=total,
        available_memory_bytes=available,
        apple_silicon=apple,
        unified_memory=apple,
        metal=apple,
        cuda_devices=cuda_devices(),
        versions={
            "python": platform.python_version(),
            "mlx": package_version("mlx"),
            "mlx-metal": package_version("mlx-metal"),
            "mlx-cpu": package_version("mlx-cpu"),
            "mlx-lm": package_version("mlx-lm"),
            "llama-cpp-python": package_version("llama-cpp-python"),
        },
    )
    if load_engines:
        report.llamacpp_gpu_offload = llamacpp_gpu_offload()
        report.mlx_device = mlx_device()
    if not apple and report.versions.get("mlx"):
        report.notes.append("MLX runs here without Metal, on the CPU: it works but is about 10x slower than llama.cpp.")
    if report.cuda_devices and report.llamacpp_gpu_offload is False:
        report.notes.append(
            "An NVIDIA GPU is present but llama-cpp-python was built without CUDA; "
            "reinstall it with CMAKE_ARGS=-DGGML_CUDA=on."
        )
    return report
