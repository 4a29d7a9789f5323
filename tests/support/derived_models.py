"""Models derived from the starter GGUF for tests that need more than one model.

Parlour can only count on one model offline: SmolLM2-135M-Instruct as a Q4_1 GGUF.
Some features need a second model that relates to it in a known way, so this module
derives them from the starter rather than downloading anything:

- an F16 GGUF of the same model (a higher-precision target for the Q4_1 file to draft for),
- a GGUF whose vocabulary differs in a few token texts (pairing it must be refused),
- the MLX folder quantized to a few bits, and the MLX folder in float16 (the MLX pair).

Each result is cached beside the MLX folder of `mlx_from_gguf` ($PARLOUR_TEST_CACHE or
~/.cache/parlour-test), never in the repository. A folder is built under a temporary
name, gets its marker file last and is then renamed in, so a crash or a parallel run
never leaves a half-written result that looks finished; a marker that does not match
(older recipe, changed source) makes it be rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engines.gguf_header import DEFAULT_ALIGNMENT
from tests.support import mlx_from_gguf

# Bump when an output changes, so cached results from an older recipe are rebuilt.
RECIPE_VERSION = 1
MARKER = mlx_from_gguf.MARKER

F16_GGUF_NAME = "SmolLM2-135M-Instruct.F16.gguf"
FOREIGN_GGUF_NAME = "SmolLM2-135M-Instruct.foreign-vocab.Q4_1.gguf"
# Ordinary (not control) tokens renamed in the foreign copy: a handful of rare whole words,
# none a single byte, so llama.cpp's byte fallback and its special-token lookups are untouched.
FOREIGN_TOKEN_IDS = range(40000, 40008)
# Files that make up the MLX folders' tokenizer: copied byte for byte into every MLX derivative.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json")

_GGML_F32, _GGML_F16 = 0, 1
_GGUF_UINT32, _GGUF_STRING, _GGUF_ARRAY = 4, 8, 9
_FTYPE_MOSTLY_F16 = 1


def cache_root() -> Path:
    """The folder all derived test models live in (the same one `cached_starter_mlx_dir` uses)."""
    return Path(os.environ.get("PARLOUR_TEST_CACHE") or Path.home() / ".cache" / "parlour-test")


# --- caching -------------------------------------------------------------------------------------


def _marker(kind: str, source: str, **extra: Any) -> str:
    return json.dumps({"kind": kind, "source": source, "recipe": RECIPE_VERSION, **extra}, sort_keys=True) + "\n"


def _is_complete(out_dir: Path, marker: str) -> bool:
    try:
        return (out_dir / MARKER).read_text(encoding="utf-8") == marker
    except OSError:
        return False


def _derive(out_dir: Path, marker: str, build: Callable[[Path], None]) -> Path:
    """Run `build(folder)` into a temporary folder and rename it to `out_dir`, unless already done."""
    if _is_complete(out_dir, marker):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the finished folder is an ordinary cache
    try:
        build(tmp)
        (tmp / MARKER).write_text(marker, encoding="utf-8")
        if out_dir.exists():
            if _is_complete(out_dir, marker):  # another process finished first
                return out_dir
            shutil.rmtree(out_dir)  # stale: older recipe, changed source, or a leftover
        try:
            os.replace(tmp, out_dir)
        except OSError:
            # Lost a race to a concurrent run that has just renamed its copy in.
            if not _is_complete(out_dir, marker):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _starter_source() -> tuple[Path, str]:
    """The starter GGUF and a string that changes whenever that file does."""
    path = mlx_from_gguf.starter_gguf_path()
    return path, mlx_from_gguf._marker_text(path)


def _mlx_source() -> tuple[Path, str]:
    """The starter's MLX folder and its marker (which already names the GGUF and its recipe)."""
    path = mlx_from_gguf.cached_starter_mlx_dir()
    return path, (path / MARKER).read_text(encoding="utf-8")


# --- GGUF writing --------------------------------------------------------------------------------

# One tensor of the output: name, dims as GGUF lists them (fastest first), ggml type, byte count,
# and a function giving its bytes, called only when the tensor is written so memory stays small.
_Tensor = tuple[str, tuple[int, ...], int, int, Callable[[], bytes]]


def _gguf_string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def _raw_entry(field: Any) -> bytes:
    """A KV entry exactly as it is in the file: key, value type and value (gguf's reader keeps every part)."""
    return b"".join(bytes(part) for part in field.parts)


def _kv_entries(reader: Any) -> Iterator[tuple[str, bytes]]:
    for key, field in reader.fields.items():
        if not key.startswith("GGUF."):  # the reader's own entries for the file's version and counts
            yield key, _raw_entry(field)


def _write_gguf(target: Path, version: int, entries: list[bytes], tensors: list[_Tensor], alignment: int) -> None:
    """Write a GGUF file: header, tensor table with fresh offsets, then each tensor padded to `alignment`."""
    table = b""
    offset = 0
    for name, dims, ggml_type, nbytes, _ in tensors:
        encoded = name.encode("utf-8")
        table += _gguf_string(encoded) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        table += struct.pack("<IQ", ggml_type, offset)
        offset += nbytes + (-nbytes % alignment)
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(entries)) + b"".join(entries) + table
    head += b"\0" * (-len(head) % alignment)
    with open(target, "wb") as out:
        out.write(head)
        for name, _, _, nbytes, data in tensors:
            chunk = data()
            if len(chunk) != nbytes:
                raise ValueError(f"tensor {name}: {len(chunk)} bytes, expected {nbytes}")
            out.write(chunk)
            out.write(b"\0" * (-nbytes % alignment))


def _alignment(reader: Any) -> int:
    field = reader.fields.get("general.alignment")
    return DEFAULT_ALIGNMENT if field is None else int(field.contents())


def _raw_tensor(tensor: Any) -> _Tensor:
    """A tensor copied unchanged (its type and bytes as in the source)."""
    dims = tuple(int(d) for d in tensor.shape)
    return tensor.name, dims, int(tensor.tensor_type), int(tensor.n_bytes), lambda: tensor.data.tobytes()


def _f16_tensor(tensor: Any) -> _Tensor:
    """A tensor as F16, or as F32 when it already is (the norms, which llama.cpp keeps in F32)."""
    dims = tuple(int(d) for d in tensor.shape)
    count = int(np.prod(dims))
    if int(tensor.tensor_type) in (_GGML_F32, _GGML_F16):
        return _raw_tensor(tensor)

    def data() -> bytes:
        from gguf.quants import dequantize

        values = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        half = values.astype(np.float16)
        if not np.isfinite(half).all():
            raise ValueError(f"tensor {tensor.name} does not fit in float16")
        return half.tobytes()

    return tensor.name, dims, _GGML_F16, 2 * count, data


def _uint32_entry(key: str, value: int) -> bytes:
    return _gguf_string(key.encode()) + struct.pack("<II", _GGUF_UINT32, value)


def _string_array_entry(key: str, items: list[bytes]) -> bytes:
    head = _gguf_string(key.encode()) + struct.pack("<IIQ", _GGUF_ARRAY, _GGUF_STRING, len(items))
    return head + b"".join(_gguf_string(item) for item in items)


def _write_f16(source: Path, target: Path) -> None:
    from gguf import GGUFReader

    reader = GGUFReader(source)
    entries = []
    for key, raw in _kv_entries(reader):
        field = reader.fields[key]
        if key == "general.file_type" and field.types == [_GGUF_UINT32]:
            raw = _uint32_entry(key, _FTYPE_MOSTLY_F16)
        entries.append(raw)
    version = int(reader.fields["GGUF.version"].contents())
    _write_gguf(target, version, entries, [_f16_tensor(t) for t in reader.tensors], _alignment(reader))


def _write_foreign(source: Path, target: Path) -> None:
    from gguf import GGUFReader

    reader = GGUFReader(source)
    entries = []
    for key, raw in _kv_entries(reader):
        if key == "tokenizer.ggml.tokens":
            field = reader.fields[key]
            tokens = [bytes(field.parts[i]) for i in field.data]
            for number, token_id in enumerate(FOREIGN_TOKEN_IDS):
                tokens[token_id] = f"parlour_foreign_{number}".encode()
            raw = _string_array_entry(key, tokens)
        entries.append(raw)
    version = int(reader.fields["GGUF.version"].contents())
    _write_gguf(target, version, entries, [_raw_tensor(t) for t in reader.tensors], _alignment(reader))


def f16_starter_gguf() -> Path:
    """The starter model as an F16 GGUF: a higher-precision twin of the Q4_1 file.

    Same metadata (every KV entry copied byte for byte, so the same tokenizer and chat
    template) except `general.file_type`, which says MOSTLY_F16. Every quantized tensor
    is dequantized to F16; the F32 norms stay F32. Its weights are the Q4_1 file's,
    only stored wider, so the two models agree closely and share one vocabulary: the
    pair a draft model and its target make.
    """
    source, marker = _starter_source()
    out_dir = _derive(
        cache_root() / "smollm2-135m-f16-gguf",
        _marker("f16-gguf", marker),
        lambda folder: _write_f16(source, folder / F16_GGUF_NAME),
    )
    return out_dir / F16_GGUF_NAME


def foreign_vocab_gguf() -> Path:
    """The starter GGUF with a few ordinary tokens renamed: loads and runs, but its vocabulary differs.

    Everything else (weights, token count, special tokens, chat template) is the
    starter's, so the only reason to refuse pairing the two is the vocabulary itself.
    The tokens at FOREIGN_TOKEN_IDS become "parlour_foreign_N".
    """
    source, marker = _starter_source()
    out_dir = _derive(
        cache_root() / "smollm2-135m-foreign-vocab-gguf",
        _marker("foreign-vocab-gguf", marker, renamed=list(FOREIGN_TOKEN_IDS)),
        lambda folder: _write_foreign(source, folder / FOREIGN_GGUF_NAME),
    )
    return out_dir / FOREIGN_GGUF_NAME


# --- MLX -----------------------------------------------------------------------------------------


def _copy_tokenizer(source: Path, dest: Path) -> None:
    """Make `dest`'s tokenizer files byte-identical to `source`'s, dropping any others a save wrote."""
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, dest / name)
    # transformers' save_pretrained may also write the chat template or a vocabulary on its own;
    # left there it would take precedence over tokenizer_config.json's copy.
    for extra in ("chat_template.jinja", "chat_template.json", "vocab.json", "merges.txt", "added_tokens.json"):
        if (dest / extra).exists() and not (source / extra).exists():
            (dest / extra).unlink()


def _write_quantized(source: Path, dest: Path, bits: int, group_size: int) -> None:
    # mlx_lm loads a local folder without the Hub, but transformers may still ask it about a
    # tokenizer; offline, it only ever reads the folder.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from mlx_lm import convert

    converted = dest / "converted"  # convert refuses a folder that already exists
    convert(hf_path=str(source), mlx_path=str(converted), quantize=True, q_bits=bits, q_group_size=group_size)
    for item in converted.iterdir():
        os.replace(item, dest / item.name)
    converted.rmdir()
    _copy_tokenizer(source, dest)


def quantized_starter_mlx_dir(bits: int = 4, group_size: int = 32) -> Path:
    """The starter's MLX folder quantized by mlx-lm to `bits` (affine, groups of `group_size`).

    The low-precision twin of `float16_starter_mlx_dir`: the same network and the
    same tokenizer files (copied byte for byte, not re-saved), so the two can be
    paired as draft and target. Groups of 32 (mlx-lm's default is 64) because this
    model is tiny: at 4 bits in groups of 64 it no longer knows the capital of France,
    in groups of 32 (the Q4_1 file's block size) it still does. Unquantized
    parameters (norms) and the quantization scales keep the source's dtype, float32.
    """
    source, marker = _mlx_source()
    return _derive(
        cache_root() / f"smollm2-135m-mlx-{bits}bit-g{group_size}",
        _marker("mlx-quantized", marker, bits=bits, group_size=group_size),
        lambda folder: _write_quantized(source, folder, bits, group_size),
    )


def _write_float16(source: Path, dest: Path) -> None:
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(source / "model.safetensors"))
    half = {
        name: value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
        for name, value in weights.items()
    }
    save_file(half, str(dest / "model.safetensors"), metadata={"format": "np"})
    (dest / "model.safetensors").chmod(0o644)  # safetensors writes it owner-only
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["torch_dtype"] = "float16"
    (dest / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _copy_tokenizer(source, dest)


def float16_starter_mlx_dir() -> Path:
    """The starter's MLX folder in float16: the higher-precision target its quantized twin drafts for.

    `cached_starter_mlx_dir()` is float32 (so MLX matches llama.cpp token for token), so
    this is a cast copy in its own cache folder, with the tokenizer files copied byte for
    byte. If the source folder is already float16 or bfloat16, it is returned as it is.
    """
    source, marker = _mlx_source()
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    if config.get("torch_dtype") in ("float16", "bfloat16"):
        return source
    return _derive(
        cache_root() / "smollm2-135m-mlx-f16",
        _marker("mlx-float16", marker),
        lambda folder: _write_float16(source, folder),
    )
