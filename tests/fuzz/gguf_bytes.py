"""GGUF bytes for the fuzz tests, written and walked here, independently of engines/gguf_header.py.

`GGUFWriter` builds a header field by field and remembers where each integer field lies, so a
mutation can aim at the lengths, counts, types and offsets that a reader must distrust.
`header_layout` walks a real file's header the same way (it only needs to understand sound files).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
SCALAR_FORMATS = {
    UINT8: "<B",
    INT8: "<b",
    UINT16: "<H",
    INT16: "<h",
    UINT32: "<I",
    INT32: "<i",
    FLOAT32: "<f",
    BOOL: "<?",
    UINT64: "<Q",
    INT64: "<q",
    FLOAT64: "<d",
}
# ggml tensor type -> (elements per block, bytes per block), for the sizes a sound file claims.
BLOCK_SIZES = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 40),
    10: (256, 84),
    12: (256, 144),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    24: (1, 1),
    28: (1, 8),
    30: (1, 2),
    39: (32, 17),
    40: (64, 36),
    41: (128, 18),
}


@dataclass(frozen=True)
class IntField:
    """An integer in the header: where it is and how wide (4 or 8 bytes)."""

    offset: int
    width: int
    what: str  # "count", "length", "type", "dim", "offset", "version", "value"


@dataclass
class GGUFWriter:
    data: bytearray = field(default_factory=bytearray)
    fields: list[IntField] = field(default_factory=list)

    def u32(self, value: int, what: str) -> None:
        self.fields.append(IntField(len(self.data), 4, what))
        self.data += struct.pack("<I", value % 2**32)

    def u64(self, value: int, what: str) -> None:
        self.fields.append(IntField(len(self.data), 8, what))
        self.data += struct.pack("<Q", value % 2**64)

    def string(self, text: bytes) -> None:
        self.u64(len(text), "length")
        self.data += text

    def header(self, version: int, tensor_count: int, kv_count: int) -> None:
        self.data += MAGIC
        self.u32(version, "version")
        self.u64(tensor_count, "count")
        self.u64(kv_count, "count")

    def value(self, vtype: int, value: object) -> None:
        """A value of `vtype`; an array is (item_type, [items]), its items written with `value` too."""
        if vtype in SCALAR_FORMATS:
            fmt = SCALAR_FORMATS[vtype]
            if struct.calcsize(fmt) in (4, 8) and vtype not in (FLOAT32, FLOAT64):
                self.fields.append(IntField(len(self.data), struct.calcsize(fmt), "value"))
            self.data += struct.pack(fmt, value)
        elif vtype == STRING:
            self.string(value)  # type: ignore[arg-type]
        elif vtype == ARRAY:
            item_type, items = value  # type: ignore[misc]
            self.u32(item_type, "type")
            self.u64(len(items), "count")
            for item in items:
                self.value(item_type, item)
        else:
            raise ValueError(f"cannot write value type {vtype}")

    def key_value(self, key: bytes, vtype: int, value: object) -> None:
        self.string(key)
        self.u32(vtype, "type")
        self.value(vtype, value)

    def tensor(self, name: bytes, shape: list[int], ggml_type: int, offset: int) -> None:
        self.string(name)
        self.u32(len(shape), "count")
        for dim in shape:
            self.u64(dim, "dim")
        self.u32(ggml_type, "type")
        self.u64(offset, "offset")


def nested_arrays(depth: int) -> bytes:
    """A header with one key whose value is an array of one array of one array ... `depth` deep."""
    writer = GGUFWriter()
    writer.header(3, 0, 1)
    writer.string(b"nested")
    writer.u32(ARRAY, "type")
    # (item type ARRAY, count 1) repeated, then an empty array of uint8 at the bottom.
    writer.data += struct.pack("<IQ", ARRAY, 1) * depth + struct.pack("<IQ", UINT8, 0)
    return bytes(writer.data)


def claimed_size(data_offset: int, tensors: list[tuple[list[int], int, int]]) -> int:
    """The size a sound file with these tensors (shape, type, offset) must have."""
    end = data_offset
    for shape, ggml_type, offset in tensors:
        block, size = BLOCK_SIZES.get(ggml_type, (1, 4))
        elements = 1
        for dim in shape:
            elements *= dim
        end = max(end, data_offset + offset + elements // block * size)
    return end


@dataclass
class Layout:
    fields: list[IntField]
    table_start: int  # where the key-value pairs end and the tensor table begins
    header_end: int  # where the tensor table ends
    data_offset: int  # header_end rounded up to the alignment
    expected_size: int


def header_layout(data: bytes) -> Layout:
    """The integer fields and the end of a sound GGUF header (raises on anything unusual)."""
    fields: list[IntField] = []
    pos = 0

    def integer(width: int, what: str) -> int:
        nonlocal pos
        fields.append(IntField(pos, width, what))
        (number,) = struct.unpack_from("<I" if width == 4 else "<Q", data, pos)
        pos += width
        return number

    def string() -> bytes:
        nonlocal pos
        length = integer(8, "length")
        pos += length
        return data[pos - length : pos]

    def value(vtype: int) -> object:
        nonlocal pos
        if vtype in SCALAR_FORMATS:
            (number,) = struct.unpack_from(SCALAR_FORMATS[vtype], data, pos)
            width = struct.calcsize(SCALAR_FORMATS[vtype])
            if width in (4, 8) and vtype not in (FLOAT32, FLOAT64):
                fields.append(IntField(pos, width, "value"))
            pos += width
            return number
        if vtype == STRING:
            return string()
        if vtype == ARRAY:
            item_type = integer(4, "type")
            count = integer(8, "count")
            if item_type in SCALAR_FORMATS:  # skipped whole: its items are not fields worth aiming at
                pos += struct.calcsize(SCALAR_FORMATS[item_type]) * count
                return None
            return [value(item_type) for _ in range(count)]
        raise ValueError(f"value type {vtype}")

    if data[:4] != MAGIC:
        raise ValueError("not GGUF")
    pos = 4
    integer(4, "version")
    tensor_count = integer(8, "count")
    kv_count = integer(8, "count")
    alignment = DEFAULT_ALIGNMENT
    for _ in range(kv_count):
        key = string()
        found = value(integer(4, "type"))
        if key == b"general.alignment" and isinstance(found, int):
            alignment = found
    table_start = pos
    tensors = []
    for _ in range(tensor_count):
        string()
        shape = [integer(8, "dim") for _ in range(integer(4, "count"))]
        ggml_type = integer(4, "type")
        tensors.append((shape, ggml_type, integer(8, "offset")))
    if pos > len(data):
        raise ValueError("the header goes on past the data given")
    data_offset = pos + (-pos % alignment)
    return Layout(fields, table_start, pos, data_offset, claimed_size(data_offset, tensors))
