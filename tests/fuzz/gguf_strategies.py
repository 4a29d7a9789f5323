"""Hypothesis strategies for GGUF headers: built field by field, then optionally damaged."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.fuzz.gguf_bytes import (
    ARRAY,
    BOOL,
    FLOAT32,
    FLOAT64,
    SCALAR_FORMATS,
    STRING,
    GGUFWriter,
    IntField,
    claimed_size,
)

EXTREMES = [
    0,
    1,
    2,
    7,
    8,
    31,
    32,
    63,
    64,
    65,
    255,
    2**16 - 1,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 2,
    2**64 - 1,
]
KNOWN_KEYS = [
    b"general.architecture",
    b"general.name",
    b"general.alignment",
    b"general.file_type",
    b"tokenizer.chat_template",
    b"llama.context_length",
    b"llama.embedding_length",
    b"llama.block_count",
    b"llama.attention.head_count",
    b"llama.attention.head_count_kv",
    b"llama.attention.key_length",
    b"tokenizer.ggml.tokens",
    b"tokenizer.ggml.merges",
]
GGML_TYPES = [0, 1, 2, 3, 6, 7, 8, 9, 10, 12, 14, 15, 16, 24, 28, 30, 39, 40, 41]
_INT_RANGES = {
    0: (0, 2**8 - 1),
    1: (-(2**7), 2**7 - 1),
    2: (0, 2**16 - 1),
    3: (-(2**15), 2**15 - 1),
    4: (0, 2**32 - 1),
    5: (-(2**31), 2**31 - 1),
    10: (0, 2**64 - 1),
    11: (-(2**63), 2**63 - 1),
}
MAX_DEPTH = 6  # one more than the reader should accept


def unsigned(bits: int = 64) -> st.SearchStrategy[int]:
    """Integers that matter at the edges, and some that do not."""
    top = 2**bits - 1
    return st.one_of(st.sampled_from([x for x in EXTREMES if x <= top]), st.integers(0, top), st.integers(0, 300))


def scalar(vtype: int) -> st.SearchStrategy[object]:
    if vtype == BOOL:
        return st.booleans()
    if vtype == FLOAT32:
        return st.floats(width=32)
    if vtype == FLOAT64:
        return st.floats()
    low, high = _INT_RANGES[vtype]
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, 1, -1 if low < 0 else 2]))


names = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.text(max_size=24).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=24),  # not UTF-8: the reader must still name it in a sentence
)
string_values = st.one_of(
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
    st.sampled_from([b"llama", b"{{ messages }}", b"\x00" * 8, b"\xff\xfe", "\u202e\u0644\U0001f600".encode()]),
)


@st.composite
def values(draw: st.DrawFn, depth: int = 0) -> tuple[int, object]:
    """(value type, value); an array's value is (item type, items)."""
    vtype = draw(st.sampled_from([*SCALAR_FORMATS, STRING, ARRAY, ARRAY]))
    if vtype == STRING:
        return vtype, draw(string_values)
    if vtype == ARRAY:
        return vtype, draw(array_bodies(depth))
    return vtype, draw(scalar(vtype))


@st.composite
def array_bodies(draw: st.DrawFn, depth: int = 0) -> tuple[int, list]:
    """(item type, items) of an array at nesting `depth`; arrays of arrays go MAX_DEPTH deep."""
    item_type = draw(st.sampled_from([*SCALAR_FORMATS, STRING] + ([ARRAY, ARRAY] if depth < MAX_DEPTH else [])))
    if item_type == ARRAY:
        return item_type, draw(st.lists(array_bodies(depth + 1), max_size=3))
    if item_type == STRING:
        return item_type, draw(st.lists(string_values, max_size=70 if depth == 0 else 3))
    return item_type, draw(st.lists(scalar(item_type), max_size=70 if depth == 0 else 4))


def key_value_for(key: bytes) -> st.SearchStrategy[tuple[int, object]]:
    """Mostly the type a reader expects for a known key, sometimes any other."""
    if key == b"general.alignment":
        usual = st.tuples(st.just(4), st.sampled_from([0, 1, 3, 8, 32, 64, 4096, 2**31, 2**32 - 1]))
    elif key in (b"general.architecture", b"general.name", b"tokenizer.chat_template"):
        usual = st.tuples(st.just(STRING), string_values)
    elif key in (b"tokenizer.ggml.tokens", b"tokenizer.ggml.merges"):
        usual = st.tuples(st.just(ARRAY), st.tuples(st.just(STRING), st.lists(string_values, max_size=80)))
    else:
        usual = st.tuples(st.sampled_from([4, 5, 10, 11]), unsigned(31))
    return st.one_of(usual, usual, values())


@dataclass(frozen=True)
class Tensor:
    name: bytes
    shape: tuple[int, ...]
    ggml_type: int
    offset: int


tensors = st.builds(
    Tensor,
    name=names,
    shape=st.one_of(
        st.lists(st.integers(1, 4096), min_size=1, max_size=2),  # a plausible weight
        st.lists(unsigned(), max_size=10),  # up to two more dimensions than the reader allows
    ).map(tuple),
    ggml_type=st.one_of(st.sampled_from(GGML_TYPES), unsigned(32)),
    offset=st.one_of(st.integers(0, 64).map(lambda k: k * 32), unsigned()),
)


@dataclass(frozen=True)
class Mutation:
    kind: str  # flip, int, insert, delete, truncate
    where: int  # a byte position, or the index of an integer field
    value: int = 0
    data: bytes = b""


mutations = st.one_of(
    st.builds(Mutation, kind=st.just("flip"), where=st.integers(0, 2**31), value=st.integers(0, 7)),
    st.builds(Mutation, kind=st.just("int"), where=st.integers(0, 2**31), value=unsigned()),
    st.builds(Mutation, kind=st.just("insert"), where=st.integers(0, 2**31), data=st.binary(min_size=1, max_size=16)),
    st.builds(Mutation, kind=st.just("delete"), where=st.integers(0, 2**31), value=st.integers(1, 16)),
    st.builds(Mutation, kind=st.just("truncate"), where=st.integers(0, 2**31)),
)


def mutate(data: bytes, fields: list[IntField], changes: list[Mutation]) -> bytes:
    """Apply the changes in order: byte positions wrap around the data, field indexes around the fields."""
    out = bytearray(data)
    for change in changes:
        if not out:
            break
        pos = change.where % len(out)
        if change.kind == "flip":
            out[pos] ^= 1 << change.value
        elif change.kind == "int" and fields:
            target = fields[change.where % len(fields)]
            if target.offset + target.width <= len(out):
                out[target.offset : target.offset + target.width] = (change.value % 2 ** (8 * target.width)).to_bytes(
                    target.width, "little"
                )
        elif change.kind == "insert":
            out[pos:pos] = change.data
        elif change.kind == "delete":
            del out[pos : pos + change.value]
        elif change.kind == "truncate":
            del out[pos:]
    return bytes(out)


@dataclass(frozen=True)
class Built:
    data: bytes
    fields: list[IntField]
    claimed: int  # the size the file claims to have (its tensor data included)


@st.composite
def gguf_headers(draw: st.DrawFn) -> Built:
    """A header that is well-formed except where the draw chose otherwise."""
    keys = draw(st.lists(names, max_size=8))
    entries = [(key, draw(key_value_for(key))) for key in keys]
    table = draw(st.lists(tensors, max_size=4))
    version = draw(st.sampled_from([3, 3, 3, 2, 1, 4, 2**32 - 1]))
    wrong_counts = draw(st.booleans()) and draw(st.booleans())
    writer = GGUFWriter()
    tensor_count = draw(unsigned()) if wrong_counts else len(table)
    kv_count = draw(unsigned()) if wrong_counts else len(entries)
    writer.header(version, tensor_count, kv_count)
    alignment = 32
    for key, (vtype, value) in entries:
        writer.key_value(key, vtype, value)
        if key == b"general.alignment" and vtype == 4 and value:
            alignment = value
    for tensor in table:
        writer.tensor(tensor.name, list(tensor.shape), tensor.ggml_type, tensor.offset)
    position = len(writer.data)
    data_offset = position + (-position % alignment)
    writer.data += bytes(min(data_offset - position, 4096))
    claimed = claimed_size(data_offset, [(list(t.shape), t.ggml_type, t.offset) for t in table])
    return Built(bytes(writer.data), writer.fields, claimed)


def u64(value: int) -> bytes:
    return struct.pack("<Q", value)
