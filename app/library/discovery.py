"""Models other programs already put on this disk, found where they keep them and used in place.

- The Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub):
  models--org--name/snapshots/<commit>/..., the commit named by refs/main.
- LM Studio (~/.lmstudio/models, or where ~/.lmstudio-home-pointer says; the older
  ~/.cache/lm-studio/models): publisher/repository/files.
- Ollama (OLLAMA_MODELS, else ~/.ollama/models): manifests/<registry>/<namespace>/<model>/<tag>
  are JSON whose "application/vnd.ollama.image.model" layer names a GGUF blob in blobs/.

Nothing here opens a model; the catalog inspects what is found. Only file names and
small JSON files are read, so listing is quick even with a big cache.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HF_CACHE = "Hugging Face cache"
LM_STUDIO = "LM Studio"
OLLAMA = "Ollama"
MODELS_FOLDER = "models folder"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_LATER_SHARD = re.compile(r"-(\d{5})-of-\d{5}\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class FoundModel:
    path: Path
    name: str
    origin: str


# pathlib's is_dir/is_file raise PermissionError for a path under a folder we may not enter
# (Ollama's system-wide /usr/share/ollama is 0750): such a place simply has no models for us.
def _is_dir(path: Path) -> bool:
    return os.path.isdir(path)


def _is_file(path: Path) -> bool:
    return os.path.isfile(path)


def _read_small_text(path: Path, limit: int = 64 * 1024) -> str:
    """A small text file's content ('' if it is missing, unreadable, not a regular file or too big)."""
    from engines.bounded_files import FileRefusedError, read_bounded_text

    try:
        return read_bounded_text(path, limit, "The file")
    except FileRefusedError:
        return ""


def model_paths(folder: Path) -> Iterator[Path]:
    """GGUF files (first shards only, no vision projectors) and MLX folders under `folder`."""
    if not _is_dir(folder):
        return
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(root)
        if "config.json" in files and any(f.endswith(".safetensors") for f in files):
            yield here
            dirs[:] = []  # an MLX folder's subfolders are its own (GGUF files beside it are still models)
        for name in sorted(files):
            lowered = name.lower()
            if not lowered.endswith(".gguf") or lowered.startswith("mmproj"):
                continue
            shard = _LATER_SHARD.search(name)
            if shard and shard.group(1) != "00001":
                continue
            yield here / name


# --- the Hugging Face cache ----------------------------------------------------------------------------


def hf_cache_dir() -> Path:
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


def find_hf_cache(cache: Path | None = None) -> list[FoundModel]:
    cache = cache or hf_cache_dir()
    found: list[FoundModel] = []
    if not _is_dir(cache):
        return found
    try:
        repos = sorted(cache.glob("models--*"))
    except OSError:
        return found
    for repo in repos:
        snapshot = _current_snapshot(repo)
        if snapshot is None:
            continue
        repo_id = repo.name.removeprefix("models--").replace("--", "/", 1)
        paths = list(model_paths(snapshot))
        for path in paths:
            name = repo_id if len(paths) == 1 or path == snapshot else f"{repo_id} · {path.name}"
            found.append(FoundModel(path, name, HF_CACHE))
    return found


def _current_snapshot(repo: Path) -> Path | None:
    snapshots = repo / "snapshots"
    commit = _read_small_text(repo / "refs" / "main", 4096).strip()
    if commit and "/" not in commit and commit not in (".", "..") and _is_dir(snapshots / commit):
        return snapshots / commit
    try:
        candidates = [p for p in snapshots.iterdir() if _is_dir(p)] if _is_dir(snapshots) else []
        return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None
    except OSError:
        return None


# --- LM Studio -------------------------------------------------------------------------------------------


def lm_studio_dirs() -> list[Path]:
    home = Path.home()
    folders = []
    pointed = _read_small_text(home / ".lmstudio-home-pointer", 4096).strip()
    folders.append((Path(pointed).expanduser() if pointed else home / ".lmstudio") / "models")
    folders.append(home / ".cache" / "lm-studio" / "models")
    return folders


def find_lm_studio(folders: list[Path] | None = None) -> list[FoundModel]:
    found: list[FoundModel] = []
    seen: set[Path] = set()
    for folder in folders or lm_studio_dirs():
        for path in model_paths(folder):
            if path in seen:
                continue
            seen.add(path)
            relative = path.relative_to(folder)
            repo = "/".join(relative.parts[:2]) if len(relative.parts) >= 2 else relative.parts[0]
            name = repo if _is_dir(path) else f"{repo} · {path.name}"
            found.append(FoundModel(path, name, LM_STUDIO))
    return found


# --- Ollama --------------------------------------------------------------------------------------------


def ollama_dirs() -> list[Path]:
    explicit = os.environ.get("OLLAMA_MODELS")
    if explicit:
        return [Path(explicit).expanduser()]
    return [Path.home() / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]


def find_ollama(folders: list[Path] | None = None) -> list[FoundModel]:
    found: list[FoundModel] = []
    for folder in folders or ollama_dirs():
        manifests = folder / "manifests"
        if not _is_dir(manifests):
            continue
        try:
            listed = sorted(p for p in manifests.rglob("*") if _is_file(p))
        except OSError:
            continue
        for manifest in listed:
            blob = _ollama_model_blob(folder, manifest)
            if blob is not None:
                found.append(FoundModel(blob, _ollama_name(manifest.relative_to(manifests)), OLLAMA))
    return found


def _ollama_model_blob(folder: Path, manifest: Path) -> Path | None:
    try:
        data = json.loads(_read_small_text(manifest, 1024 * 1024))
    except ValueError:
        return None
    layers = data.get("layers") if isinstance(data, dict) else None
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict) and layer.get("mediaType") == OLLAMA_MODEL_LAYER:
            digest = str(layer.get("digest", ""))
            if re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
                blob = folder / "blobs" / digest.replace(":", "-")
                return blob if _is_file(blob) else None
    return None


def _ollama_name(relative: Path) -> str:
    """registry.ollama.ai/library/llama3.2/3b -> llama3.2:3b; other namespaces and registries stay visible."""
    parts = relative.parts
    if len(parts) < 3:
        return ":".join(parts)
    *prefix, model, tag = parts
    if prefix[:2] == ["registry.ollama.ai", "library"]:
        prefix = []
    elif prefix[:1] == ["registry.ollama.ai"]:
        prefix = prefix[1:]
    return "/".join([*prefix, model]) + f":{tag}"


def find_other_apps_models() -> list[FoundModel]:
    """Every model other programs keep on this machine, in origin order."""
    return [*find_hf_cache(), *find_lm_studio(), *find_ollama()]
