"""A repository's files grouped into what a person chooses between: its variants.

A GGUF repository holds one file per quantization (Q4_K_M, Q8_0, ...), or several
shards of one (`-00001-of-00003.gguf`), which are one variant. An MLX repository is
one variant: the config, the weights and the tokenizer together, with its bits from
the config. Pure functions over file listings: no network, no Qt.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
QUANT = re.compile(
    r"(?:^|[-_.])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|FP16|F32|FP32|MXFP4(?:_MOE)?|TQ\d_0))(?=[-_.]|$)",
    re.IGNORECASE,
)
# Files an MLX folder needs besides its weights; anything else (code, pickles, images) stays on the Hub.
MLX_SIDE_FILES = ("*.json", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja", "LICENSE*", "README.md")
WEIGHT_SUFFIXES = (".gguf", ".safetensors")


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None = None  # LFS files: the content's sha256, from the Hub's metadata
    blob_id: str | None = None  # regular files: the git blob sha1

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def is_weights(self) -> bool:
        return self.path.lower().endswith(WEIGHT_SUFFIXES)


@dataclass(frozen=True)
class Variant:
    key: str  # stable id within the repository, e.g. "gguf:Q4_K_M" or "mlx"
    format: str  # "gguf" or "mlx"
    label: str  # what the user reads: "Q4_K_M", "Q8_0 (3 parts)", "MLX 4-bit"
    files: tuple[RemoteFile, ...]
    quantization: str | None = None
    bits: int | None = None  # MLX: from the config's quantization block

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def weights_size(self) -> int:
        return sum(f.size for f in self.files if f.is_weights)

    @property
    def first_weights_file(self) -> RemoteFile | None:
        """The file an engine opens (llama.cpp finds the other shards beside the first)."""
        weights = sorted((f for f in self.files if f.is_weights), key=lambda f: f.path)
        return weights[0] if weights else None


def files_from_siblings(siblings: list[Any] | None) -> list[RemoteFile]:
    """huggingface_hub RepoSibling entries (from model_info(files_metadata=True)) -> RemoteFile."""
    files = []
    for sibling in siblings or []:
        lfs = getattr(sibling, "lfs", None)
        size = getattr(sibling, "size", None)
        if size is None and lfs is not None:
            size = lfs.size
        files.append(
            RemoteFile(
                path=sibling.rfilename,
                size=int(size or 0),
                sha256=getattr(lfs, "sha256", None) if lfs is not None else None,
                blob_id=None if lfs is not None else getattr(sibling, "blob_id", None),
            )
        )
    return files


def quantization_from_name(name: str) -> str | None:
    stem = SHARD.sub("", PurePosixPath(name).name)
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    matches = QUANT.findall(stem)
    return matches[-1].upper() if matches else None


def group_variants(files: list[RemoteFile], mlx_config: dict[str, Any] | None = None) -> list[Variant]:
    """GGUF quantizations (shards joined) smallest first, then the MLX variant if the repository is one."""
    groups: dict[str, list[RemoteFile]] = {}
    for f in files:
        name = f.name.lower()
        if not name.endswith(".gguf") or name.startswith("mmproj"):
            continue  # vision projectors are companions, not models
        base = SHARD.sub("", f.path)
        groups.setdefault(base, []).append(f)
    variants = []
    for base, members in groups.items():
        members.sort(key=lambda f: f.path)
        quant = quantization_from_name(base)
        label = quant or PurePosixPath(base).name.removesuffix(".gguf")
        if len(members) > 1:
            label += f" ({len(members)} parts)"
        key = f"gguf:{quant or base}"
        variants.append(Variant(key, "gguf", label, tuple(members), quantization=quant))
    # Two files with the same quant name (different folders) keep distinct keys.
    seen: dict[str, int] = {}
    for index, variant in enumerate(variants):
        count = seen.get(variant.key, 0)
        seen[variant.key] = count + 1
        if count:
            variants[index] = Variant(
                f"{variant.key}#{count}", variant.format, variant.label, variant.files, variant.quantization
            )
    variants.sort(key=lambda v: v.size)
    mlx = mlx_variant(files, mlx_config)
    if mlx is not None:
        variants.append(mlx)
    return variants


def mlx_variant(files: list[RemoteFile], config: dict[str, Any] | None) -> Variant | None:
    root = [f for f in files if "/" not in f.path]
    if not any(f.path == "config.json" for f in root) or not any(f.path.endswith(".safetensors") for f in root):
        return None
    chosen = [f for f in root if f.path.endswith(".safetensors") or _matches(f.path, MLX_SIDE_FILES)]
    bits = _mlx_bits(config)
    label = f"MLX {bits}-bit" if bits else f"MLX {_dtype_label(config)}".rstrip()
    # config.json last: the library recognises an MLX folder by it, so it arrives when all else is in place.
    chosen.sort(key=lambda f: (f.path == "config.json", f.path))
    return Variant("mlx", "mlx", label, tuple(chosen), quantization=f"{bits}-bit" if bits else None, bits=bits)


def _mlx_bits(config: dict[str, Any] | None) -> int | None:
    quant = (config or {}).get("quantization") or (config or {}).get("quantization_config")
    bits = quant.get("bits") if isinstance(quant, dict) else None
    return int(bits) if isinstance(bits, (int, float)) else None


def _dtype_label(config: dict[str, Any] | None) -> str:
    dtype = (config or {}).get("torch_dtype") or (config or {}).get("dtype")
    return str(dtype) if dtype else ""


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


def select_files(files: list[RemoteFile], patterns: list[str]) -> list[RemoteFile]:
    """Files matching any glob (on the path or the bare name), like `--include` in Hugging Face's CLI."""
    chosen = []
    for f in files:
        if any(fnmatch.fnmatch(f.path, p) or fnmatch.fnmatch(f.name, p) for p in patterns):
            chosen.append(f)
    return chosen
