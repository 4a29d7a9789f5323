"""A small, defensive reader of a GGUF file's header.

llama.cpp can crash or allocate wildly on a malformed file, so Parlour reads the
header itself first: every length is checked against the file size, big arrays
are skipped rather than stored, and the tensor table tells how long the file must
be, which is how a truncated download is recognised before any native code runs.
"""

from __future__ import annotations

import io
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Arrays longer than this are skipped, not kept (vocabularies, merges, scores).
KEEP_ARRAY_MAX = 64
MAX_STRING_BYTES = 64 * 1024 * 1024  # a chat template is a few KiB; 64 MiB means a corrupt length
MAX_KEY_BYTES = 64 * 1024  # real keys and tensor names are under a hundred bytes
KEEP_STRINGS_BYTES = 64 * 1024 * 1024  # strings kept in memory for one header, all values together
MAX_TENSORS = 1_000_000
MAX_KEYS = 100_000
# llama.cpp itself reads no arrays of arrays; a few levels are allowed, more means a hostile file
# (100,000 levels would exhaust Python's recursion limit).
MAX_ARRAY_DEPTH = 4

# ggml tensor type -> (elements per block, bytes per block); from ggml's type traits.
GGML_BLOCK_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 40),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
    39: (32, 17),
    40: (64, 36),
    41: (128, 18),
}

GGML_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    6: "Q5_0",
    7: "Q5_1",
    8: "Q8_0",
    9: "Q8_1",
    10: "Q2_K",
    11: "Q3_K",
    12: "Q4_K",
    13: "Q5_K",
    14: "Q6_K",
    15: "Q8_K",
    16: "IQ2_XXS",
    17: "IQ2_XS",
    18: "IQ3_XXS",
    19: "IQ1_S",
    20: "IQ4_NL",
    21: "IQ3_S",
    22: "IQ2_S",
    23: "IQ4_XS",
    24: "I8",
    25: "I16",
    26: "I32",
    27: "I64",
    28: "F64",
    29: "IQ1_M",
    30: "BF16",
    34: "TQ1_0",
    35: "TQ2_0",
    39: "MXFP4",
    40: "NVFP4",
    41: "Q1_0",
}

# general.file_type -> the quantization name people know (llama.cpp's LLAMA_FTYPE_MOSTLY_*).
FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
}

# value type -> struct format for the fixed-size scalars
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def brief(name: str, limit: int = 40) -> str:
    """A key or tensor name from the file, quoted short and printable: it ends up in a sentence."""
    shown = "".join(char if char.isprintable() else "?" for char in name[:limit])
    return repr(shown + "…" if len(name) > limit else shown)


class GGUFFormatError(ValueError):
    """The bytes are not a well-formed GGUF header."""


class GGUFTruncatedError(GGUFFormatError):
    def __init__(self, actual: int, expected: int | None) -> None:
        self.actual = actual
        self.expected = expected
        super().__init__(f"truncated: {actual} bytes, expected {expected}")


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    def nbytes(self) -> int:
        block, size = GGML_BLOCK_SIZES.get(self.ggml_type, (0, 0))
        if block == 0:
            raise GGUFFormatError(f"tensor {brief(self.name)} has unknown type {self.ggml_type}")
        return self.elements // block * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    array_lengths: dict[str, int] = field(default_factory=dict)  # for the skipped arrays

    @property
    def expected_size(self) -> int:
        end = self.data_offset
        for tensor in self.tensors:
            end = max(end, self.data_offset + tensor.offset + tensor.nbytes())
        return end

    @property
    def parameter_count(self) -> int:
        return sum(t.elements for t in self.tensors)

    def dominant_type(self) -> str | None:
        by_bytes: dict[int, int] = {}
        for tensor in self.tensors:
            if len(tensor.shape) >= 2:
                by_bytes[tensor.ggml_type] = by_bytes.get(tensor.ggml_type, 0) + tensor.nbytes()
        if not by_bytes:
            return None
        return GGML_TYPE_NAMES.get(max(by_bytes, key=by_bytes.__getitem__))


class _Reader:
    def __init__(self, stream: BinaryIO, size: int, prefix_only: bool = False) -> None:
        self.stream = stream
        self.size = size
        self.prefix_only = prefix_only  # `size` is where the bytes we have end, not the file's end
        self.kept_bytes = 0  # string values held so far; past KEEP_STRINGS_BYTES they are skipped

    def take(self, count: int) -> bytes:
        if count < 0 or self.stream.tell() + count > self.size:
            raise GGUFTruncatedError(self.size, None)
        data = self.stream.read(count)
        if len(data) != count:
            raise GGUFTruncatedError(self.size, None)
        return data

    def skip(self, count: int) -> None:
        if count < 0 or self.stream.tell() + count > self.size:
            raise GGUFTruncatedError(self.size, None)
        self.stream.seek(count, io.SEEK_CUR)

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self, limit: int = MAX_STRING_BYTES) -> str:
        length = self.scalar("<Q")
        if length > limit:
            raise GGUFFormatError(f"a string claims {length} bytes")
        return self.take(length).decode("utf-8", errors="replace")

    def name(self) -> str:
        """A key or tensor name."""
        return self.string(MAX_KEY_BYTES)

    def kept_string(self) -> str | None:
        """A string value, or None once the header's strings have passed KEEP_STRINGS_BYTES in all."""
        length = self.scalar("<Q")
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"a string claims {length} bytes")
        if self.kept_bytes + length > KEEP_STRINGS_BYTES:
            self.skip(length)
            return None
        self.kept_bytes += length
        return self.take(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.scalar("<Q")
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"a string claims {length} bytes")
        self.skip(length)

    def value(self, vtype: int, key: str, header: GGUFHeader) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.kept_string()
        if vtype == _ARRAY:
            item_type, count = self.array_head(key)
            # Arrays of arrays mean nothing to Parlour: skipped, so they cost no memory.
            if count > KEEP_ARRAY_MAX or item_type == _ARRAY:
                header.array_lengths[key] = count
                self.skip_array(item_type, count, key, depth=1)
                return None
            return [self.value(item_type, key, header) for _ in range(count)]
        raise GGUFFormatError(f"unknown value type {vtype} for {brief(key)}")

    def array_head(self, key: str) -> tuple[int, int]:
        item_type = self.scalar("<I")
        count = self.scalar("<Q")
        if count > self.size:  # each item takes at least one byte
            if self.prefix_only:
                raise GGUFTruncatedError(self.size, None)
            raise GGUFFormatError(f"array {brief(key)} claims {count} items")
        return item_type, count

    def skip_array(self, item_type: int, count: int, key: str, depth: int) -> None:
        if item_type in _SCALARS:
            self.skip(struct.calcsize(_SCALARS[item_type]) * count)
        elif item_type == _STRING:
            for _ in range(count):
                self.skip_string()
        elif item_type == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise GGUFFormatError(f"array {brief(key)} is nested more than {MAX_ARRAY_DEPTH} levels deep")
            for _ in range(count):
                inner_type, inner_count = self.array_head(key)
                self.skip_array(inner_type, inner_count, key, depth + 1)
        else:
            raise GGUFFormatError(f"unsupported array item type {item_type}")


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Parse the header and tensor table; raises GGUFFormatError or GGUFTruncatedError."""
    # Opened without blocking and checked on the descriptor: a FIFO or a device named *.gguf
    # must be refused, not waited on or read for ever.
    fd = os.open(Path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GGUFFormatError("not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb", buffering=1024 * 1024) as stream:
        return parse_gguf_header(stream, info.st_size)


def parse_gguf_prefix(data: bytes) -> GGUFHeader:
    """Parse the header from the first bytes of a GGUF file (a ranged download of its start).

    Raises GGUFTruncatedError with expected=None when the header goes on past `data`:
    fetch more and try again.
    """
    return parse_gguf_header(io.BytesIO(data), len(data), prefix_only=True)


def parse_gguf_header(stream: BinaryIO, size: int, prefix_only: bool = False) -> GGUFHeader:
    """Parse from a stream of `size` bytes; prefix_only skips the check that the tensor data is all there."""
    reader = _Reader(stream, size, prefix_only)
    if size < 24:
        raise GGUFFormatError("too small to be a GGUF file")
    if reader.take(4) != GGUF_MAGIC:
        raise GGUFFormatError("no GGUF magic")
    version = reader.scalar("<I")
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported GGUF version {version}")
    tensor_count = reader.scalar("<Q")
    kv_count = reader.scalar("<Q")
    if tensor_count > MAX_TENSORS or kv_count > MAX_KEYS:
        raise GGUFFormatError("implausible tensor or key count")
    header = GGUFHeader(version=version, metadata={})
    for _ in range(kv_count):
        key = reader.name()
        vtype = reader.scalar("<I")
        header.metadata[key] = reader.value(vtype, key, header)
    for _ in range(tensor_count):
        name = reader.name()
        n_dims = reader.scalar("<I")
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {brief(name)} claims {n_dims} dimensions")
        shape = tuple(reader.scalar("<Q") for _ in range(n_dims))
        ggml_type = reader.scalar("<I")
        offset = reader.scalar("<Q")
        header.tensors.append(TensorInfo(name, shape, ggml_type, offset))
    alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        raise GGUFFormatError("bad alignment")
    position = stream.tell()
    header.data_offset = position + (-position % alignment)
    expected = header.expected_size
    if size < expected and not prefix_only:
        raise GGUFTruncatedError(size, expected)
    return header
