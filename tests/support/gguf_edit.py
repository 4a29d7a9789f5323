"""Copies of a real GGUF file with some metadata strings replaced or added, for hostile-model tests.

The tensor data is copied unchanged after the new header, padded to the file's
alignment; tensor offsets are relative to the data section, so they stay valid.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from engines.gguf_header import _STRING, DEFAULT_ALIGNMENT, GGUFHeader, _Reader


def _string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def with_string_metadata(source: Path, target: Path, strings: dict[str, str | bytes]) -> Path:
    """Write `target`: `source` with each key of `strings` set to that string value (added if missing)."""
    size = source.stat().st_size
    with open(source, "rb") as stream:
        reader = _Reader(stream, size)
        magic, version = reader.take(4), reader.scalar("<I")
        tensor_count, kv_count = reader.scalar("<Q"), reader.scalar("<Q")
        header = GGUFHeader(version=version, metadata={})
        entries: list[tuple[str, bytes]] = []
        for _ in range(kv_count):
            start = stream.tell()
            key = reader.string()
            vtype = reader.scalar("<I")
            reader.value(vtype, key, header)
            end = stream.tell()
            stream.seek(start)
            entries.append((key, stream.read(end - start)))
        tensors_start = stream.tell()
        for _ in range(tensor_count):
            reader.skip_string()
            n_dims = reader.scalar("<I")
            reader.skip(8 * n_dims + 4 + 8)
        tensors_end = stream.tell()
        stream.seek(tensors_start)
        tensor_table = stream.read(tensors_end - tensors_start)
        alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        data_start = tensors_end + (-tensors_end % alignment)

    replaced = {key: value.encode("utf-8") if isinstance(value, str) else value for key, value in strings.items()}
    out_entries = []
    for key, raw in entries:
        if key in replaced:
            raw = _string(key.encode()) + struct.pack("<I", _STRING) + _string(replaced.pop(key))
        out_entries.append(raw)
    for key, value in replaced.items():
        out_entries.append(_string(key.encode()) + struct.pack("<I", _STRING) + _string(value))

    head = magic + struct.pack("<I", version) + struct.pack("<QQ", tensor_count, len(out_entries))
    head += b"".join(out_entries) + tensor_table
    head += b"\0" * (-len(head) % alignment)
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.write(head)
        src.seek(data_start)
        shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
    return target
