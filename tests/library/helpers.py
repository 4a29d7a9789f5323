"""Helpers shared by the library tests."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_parlour(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`parlour ...` from this checkout, in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=env if env is not None else os.environ.copy(),
    )


def models_root() -> Path:
    from app.library.settings import models_folder

    return models_folder()


# --- other programs' model folders, laid out as those programs lay them out ----------------------------


def link(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, destination)  # the same bytes without copying 98 MB


def build_hf_cache(home: Path, starter: Path, mlx_dir: Path) -> None:
    """~/.cache/huggingface/hub as huggingface_hub leaves it: blobs, snapshots of symlinks, refs/main."""
    hub = home / ".cache" / "huggingface" / "hub"
    gguf_repo = hub / "models--bartowski--SmolLM2-135M-Instruct-GGUF"
    blob = gguf_repo / "blobs" / hashlib.sha256(b"starter").hexdigest()
    link(starter, blob)
    commit = "a" * 40
    snapshot = gguf_repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "SmolLM2-135M-Instruct-Q4_1.gguf").symlink_to(os.path.relpath(blob, snapshot))
    (gguf_repo / "refs").mkdir()
    (gguf_repo / "refs" / "main").write_text(commit)
    old = gguf_repo / "snapshots" / ("b" * 40)  # an older revision: not listed
    old.mkdir()
    (old / "SmolLM2-135M-Instruct-Q4_1.gguf").symlink_to(os.path.relpath(blob, old))

    mlx_repo = hub / "models--mlx-community--SmolLM2-135M-Instruct"
    snapshot = mlx_repo / "snapshots" / ("c" * 40)
    for file in mlx_dir.iterdir():
        target = mlx_repo / "blobs" / hashlib.sha256(file.name.encode()).hexdigest()
        link(file, target)
        snapshot.mkdir(parents=True, exist_ok=True)
        (snapshot / file.name).symlink_to(os.path.relpath(target, snapshot))
    (hub / "models--someone--half-downloaded" / "blobs").mkdir(parents=True)  # no snapshot yet


def build_lm_studio(home: Path, starter: Path) -> None:
    models = home / ".lmstudio" / "models"
    link(starter, models / "lmstudio-community" / "SmolLM2-135M-Instruct-GGUF" / "SmolLM2-135M-Instruct-Q4_1.gguf")
    link(starter, models / "lmstudio-community" / "SmolLM2-135M-Instruct-GGUF" / "mmproj-model-f16.gguf")


def build_ollama(home: Path, starter: Path) -> None:
    models = home / ".ollama" / "models"
    digest = hashlib.sha256(b"ollama blob").hexdigest()
    link(starter, models / "blobs" / f"sha256-{digest}")
    manifest = models / "manifests" / "registry.ollama.ai" / "library" / "smollm2" / "135m"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": 98362432},
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "0" * 64, "size": 10},
                ],
            }
        )
    )
    broken = models / "manifests" / "registry.ollama.ai" / "library" / "gone" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + "1" * 64}]})
    )
