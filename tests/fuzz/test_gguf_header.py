"""Fuzzing the GGUF header reader and the GGUF side of inspect_model.

Whatever the bytes, reading a header ends in a header or GGUFFormatError, and inspecting the file
in a ModelInfo or ModelFileError with one sentence: never RecursionError, MemoryError, struct.error
or any other exception, and never more memory than the file could justify.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import struct
from pathlib import Path

import pytest
from hypothesis import currently_in_test_context, event, example, given
from hypothesis import strategies as st

from engines.base import ModelFileError, ModelInfo
from engines.gguf_header import GGUFFormatError, GGUFHeader, parse_gguf_header, parse_gguf_prefix, read_gguf_header
from engines.inspect import inspect_model
from tests.fuzz.bounds import MiB, assert_one_sentence, outcome
from tests.fuzz.gguf_bytes import (
    ARRAY,
    FLOAT32,
    FLOAT64,
    STRING,
    UINT8,
    UINT32,
    GGUFWriter,
    IntField,
    claimed_size,
    header_layout,
    nested_arrays,
)
from tests.fuzz.gguf_strategies import GGML_TYPES, Built, Mutation, gguf_headers, mutate, mutations, scalar
from tests.fuzz.profiles import SEEDS, fuzz_settings

# Named *.gguf.bin: the repository ignores *.gguf (model weights are never committed).
SEED_FILES = sorted((SEEDS / "gguf").glob("*.gguf.bin"))
STARTER_HEAD_BYTES = 2 * MiB
SPARSE_MAX = 2**34  # larger claimed sizes are written as they are (some file systems refuse them)
SIZES = st.sampled_from(["exact", "claimed", "claimed", "short", "long"])


def memory_bound(size: int) -> int:
    """What reading a header may add: a few MiB of bookkeeping, and every kept string at most
    three times (bytes, text, a copy in flight), each capped by the reader at 64 MiB."""
    return 64 * MiB + 3 * min(size, 64 * MiB)


def place(path: Path, data: bytes, claimed: int, how: str) -> int:
    """Write `data` to `path`, then make the file as long as `how` says (sparse); returns the size."""
    path.write_bytes(data)
    target = {"exact": len(data), "claimed": claimed, "short": claimed - 1, "long": claimed + 4096}[how]
    if len(data) < target <= SPARSE_MAX:
        with contextlib.suppress(OSError):
            os.truncate(path, target)
    return path.stat().st_size


def check_all_readers(path: Path, data: bytes) -> GGUFHeader | None:
    """Every public entry point on these bytes: each ends in a result or its own error."""
    size = path.stat().st_size
    bound = memory_bound(size)
    prefix = outcome(lambda: parse_gguf_prefix(data), GGUFFormatError, memory_bound(len(data)))
    assert isinstance(prefix, GGUFHeader | GGUFFormatError)
    streamed = outcome(lambda: parse_gguf_header(io.BytesIO(data), len(data)), GGUFFormatError, memory_bound(len(data)))
    assert isinstance(streamed, GGUFHeader | GGUFFormatError)
    header = outcome(lambda: read_gguf_header(path), GGUFFormatError, bound)
    if isinstance(header, GGUFHeader):
        # A header the reader accepts as a whole file claims no more bytes than the file has.
        assert header.expected_size <= size
        if size == len(data):  # the same bytes through the other entry points read the same
            for other in (streamed, prefix):
                assert isinstance(other, GGUFHeader), f"read from the file, but {other!r} from the bytes"
                assert _summary(other) == _summary(header)
    info = outcome(lambda: inspect_model(path), ModelFileError, bound)
    if currently_in_test_context():
        event(f"read_gguf_header: {type(header).__name__}; inspect_model: {type(info).__name__}")
    if isinstance(info, ModelFileError):
        assert_one_sentence(info)
    else:
        assert isinstance(info, ModelInfo) and info.format == "gguf"
        assert isinstance(header, GGUFHeader), "inspect_model accepted a file the reader refused"
    return header if isinstance(header, GGUFHeader) else None


def _summary(header: GGUFHeader) -> tuple:
    return (header.version, repr(header.metadata), header.tensors, header.data_offset, header.array_lengths)


# --- generated headers ------------------------------------------------------------------------------


@fuzz_settings(examples=400)
@given(built=gguf_headers(), changes=st.lists(mutations, max_size=4), how=SIZES)
def test_generated_headers_are_read_or_refused(fuzz_dir: Path, built: Built, changes: list[Mutation], how: str) -> None:
    data = mutate(built.data, built.fields, changes)
    path = fuzz_dir / "generated.gguf"
    place(path, data, built.claimed, how)
    check_all_readers(path, data)


TEXT_KEYS = st.text(min_size=1, max_size=20).filter(lambda key: key != "general.alignment")


def sound_value(vtype: int) -> st.SearchStrategy:
    if vtype == STRING:
        return st.text(max_size=30)
    if vtype == FLOAT32:
        return st.floats(width=32, allow_nan=False)
    if vtype == FLOAT64:
        return st.floats(allow_nan=False)
    return scalar(vtype)


@st.composite
def sound_entries(draw: st.DrawFn) -> tuple[int, object]:
    vtype = draw(st.sampled_from([*range(8), *range(10, 13), STRING, ARRAY]))
    if vtype != ARRAY:
        return vtype, draw(sound_value(vtype))
    item_type = draw(st.sampled_from([*range(8), *range(10, 13), STRING]))
    return vtype, (item_type, draw(st.lists(sound_value(item_type), max_size=70)))


def _encoded(vtype: int, value: object) -> object:
    if vtype == STRING:
        return value.encode()  # type: ignore[union-attr]
    if vtype == ARRAY:
        item_type, items = value  # type: ignore[misc]
        return item_type, [_encoded(item_type, item) for item in items]
    return value


def _as_read(vtype: int, value: object) -> object:
    """What a faithful reader returns: floats at their stored width, long arrays left out."""
    if vtype == FLOAT32:
        return struct.unpack("<f", struct.pack("<f", value))[0]  # type: ignore[arg-type]
    if vtype == ARRAY:
        item_type, items = value  # type: ignore[misc]
        return None if len(items) > 64 else [_as_read(item_type, item) for item in items]
    return value


@fuzz_settings(examples=150)
@given(
    entries=st.dictionaries(TEXT_KEYS, sound_entries(), max_size=6),
    alignment=st.sampled_from([None, 1, 8, 32, 64, 256]),
    shapes=st.lists(
        st.tuples(st.lists(st.integers(1, 64), min_size=1, max_size=4), st.sampled_from(GGML_TYPES)), max_size=4
    ),
)
def test_sound_headers_read_back_as_written(fuzz_dir: Path, entries: dict, alignment: int | None, shapes: list) -> None:
    """The differential half: a well-formed header reads back exactly as it was written."""
    writer = GGUFWriter()
    writer.header(3, len(shapes), len(entries) + (alignment is not None))
    for key, (vtype, value) in entries.items():
        writer.key_value(key.encode(), vtype, _encoded(vtype, value))
    if alignment is not None:
        writer.key_value(b"general.alignment", UINT32, alignment)
    tensors, offset = [], 0
    for index, (shape, ggml_type) in enumerate(shapes):
        tensors.append((shape, ggml_type, offset))
        writer.tensor(f"blk.{index}.weight".encode(), shape, ggml_type, offset)
        offset += 4096 * 64  # room for the largest tensor drawn here
    position = len(writer.data)
    data_offset = position + (-position % (alignment or 32))
    path = fuzz_dir / "sound.gguf"
    path.write_bytes(bytes(writer.data))
    os.truncate(path, claimed_size(data_offset, tensors))

    header = read_gguf_header(path)
    assert header.version == 3 and header.data_offset == data_offset
    expected = {key: _as_read(vtype, value) for key, (vtype, value) in entries.items()}
    if alignment is not None:
        expected["general.alignment"] = alignment
    assert _comparable(header.metadata) == _comparable(expected)
    skipped = {key: len(value[1]) for key, (vtype, value) in entries.items() if vtype == ARRAY and len(value[1]) > 64}
    assert header.array_lengths == skipped
    assert [(t.name, list(t.shape), t.ggml_type, t.offset) for t in header.tensors] == [
        (f"blk.{index}.weight", shape, ggml_type, offset) for index, (shape, ggml_type, offset) in enumerate(tensors)
    ]


def _comparable(value: object) -> object:
    """Floats by their bits, so that -0.0 and 0.0 differ and the comparison is exact."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value)) if not math.isnan(value) else ("nan",)
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


# --- the starter model's real header, damaged -------------------------------------------------------


class StarterHead:
    """The start of the starter GGUF; a short repr, as a failing example prints its arguments."""

    def __init__(self, data: bytes, fields: list[IntField], size: int, table_start: int) -> None:
        self.data = data  # the first 2 MiB
        self.fields = fields  # the integer fields worth aiming at
        self.size = size  # the whole file's
        self.table_start = table_start

    def __repr__(self) -> str:
        return "starter_head"


@pytest.fixture(scope="module")
def starter_head(starter_gguf: Path) -> StarterHead:
    """The first 2 MiB of the starter GGUF, where its whole header lies."""
    with open(starter_gguf, "rb") as stream:
        head = stream.read(STARTER_HEAD_BYTES)
    layout = header_layout(head)
    assert layout.header_end < STARTER_HEAD_BYTES, "the starter's header no longer fits in 2 MiB"
    assert layout.expected_size == starter_gguf.stat().st_size
    lengths = [f for f in layout.fields if f.what == "length"]
    # Not all 98,000 token and merge lengths: the keys', a sample of the tokens', the tensor names'.
    aimed = [f for f in layout.fields if f.what != "length"] + lengths[:64] + lengths[::997] + lengths[-300:]
    return StarterHead(head, aimed, layout.expected_size, layout.table_start)


@fuzz_settings(examples=60, long_examples=5_000)
@given(changes=st.lists(mutations, min_size=1, max_size=4), how=SIZES)
@example(changes=[Mutation("insert", where=94, data=b"\x00")], how="exact")  # the error quoted 9,000 characters
def test_damaged_starter_headers_are_read_or_refused(
    fuzz_dir: Path, starter_head: StarterHead, changes: list[Mutation], how: str
) -> None:
    data = mutate(starter_head.data, starter_head.fields, changes)
    path = fuzz_dir / "starter.gguf"
    place(path, data, starter_head.size, how)
    check_all_readers(path, data)


# --- seeds and reported reproducers -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEED_FILES, ids=[p.name for p in SEED_FILES])
@pytest.mark.parametrize("how", ["exact", "claimed", "short"])
def test_seed_files_are_read_or_refused(fuzz_dir: Path, seed: Path, how: str) -> None:
    data = seed.read_bytes()
    try:
        claimed = header_layout(data).expected_size
    except (ValueError, struct.error):
        claimed = len(data)
    path = fuzz_dir / seed.name.removesuffix(".bin")
    place(path, data, claimed, how)
    check_all_readers(path, data)


@fuzz_settings(examples=150)
@given(seed=st.sampled_from(SEED_FILES), changes=st.lists(mutations, min_size=1, max_size=6), how=SIZES)
@example(
    seed=SEEDS / "gguf" / "starter-trimmed-header.gguf.bin", changes=[Mutation("insert", 57, data=b"\0")], how="exact"
)
def test_damaged_seed_files_are_read_or_refused(fuzz_dir: Path, seed: Path, changes: list[Mutation], how: str) -> None:
    data = seed.read_bytes()
    layout = header_layout(data) if not seed.name.startswith("nested-arrays") else None
    fields = layout.fields if layout else []
    mutated = mutate(data, fields, changes)
    place(fuzz_dir / "seed.gguf", mutated, layout.expected_size if layout else len(data), how)
    check_all_readers(fuzz_dir / "seed.gguf", mutated)


@pytest.mark.parametrize("depth", [1, 3, 4, 5, 1000, 100_000])
def test_nested_arrays_never_exhaust_the_stack(fuzz_dir: Path, depth: int) -> None:
    """Reported: 100,000 arrays each holding the next (about 1.2 MB) raised RecursionError."""
    data = nested_arrays(depth)
    path = fuzz_dir / "nested.gguf"
    path.write_bytes(data)
    check_all_readers(path, data)


@pytest.mark.parametrize("count", [65, 1000])
def test_a_long_array_of_arrays_is_read_or_refused(fuzz_dir: Path, count: int) -> None:
    """Past the length kept in memory, an array of arrays takes the skipping path."""
    writer = GGUFWriter()
    writer.header(3, 0, 1)
    writer.key_value(b"grid", ARRAY, (ARRAY, [(UINT8, [1, 2, 3])] * count))
    path = fuzz_dir / "grid.gguf"
    path.write_bytes(bytes(writer.data))
    check_all_readers(path, bytes(writer.data))


@fuzz_settings(examples=4, long_examples=200)
@given(depth=st.integers(1, 12), width=st.integers(1, 3))
@example(depth=100, width=1)
def test_deep_arrays_inside_a_real_header(fuzz_dir: Path, starter_head: StarterHead, depth: int, width: int) -> None:
    """The starter's header with a nested array appended as one more key."""
    head, size = starter_head.data, starter_head.size
    body: tuple[int, list] = (UINT8, [7])
    for _ in range(depth):
        body = (ARRAY, [body] * width)
    extra = GGUFWriter()
    extra.key_value(b"fuzz.nested", ARRAY, body)
    kv_count = struct.unpack_from("<Q", head, 16)[0]
    table = starter_head.table_start  # the new key goes after the last key-value pair
    data = head[:16] + struct.pack("<Q", kv_count + 1) + head[24:table] + bytes(extra.data) + head[table:]
    path = fuzz_dir / "deep.gguf"
    place(path, data, size + len(extra.data), "claimed")
    check_all_readers(path, data)


def _long_name_headers() -> dict[str, bytes]:
    name = b"blk.0." + b"x" * 5000
    dims = GGUFWriter()
    dims.header(3, 1, 0)
    dims.string(name)
    dims.u32(2**30, "count")  # far more dimensions than a tensor has
    items = GGUFWriter()
    items.header(3, 0, 1)
    items.string(name)
    items.u32(ARRAY, "type")
    items.u32(UINT8, "type")
    items.u64(2**40, "count")  # far more items than the file has bytes
    kind = GGUFWriter()
    kind.header(3, 0, 1)
    kind.string(name)
    kind.u32(99, "type")  # no such value type
    return {
        "too many dimensions": bytes(dims.data),
        "too many items": bytes(items.data),
        "unknown value type": bytes(kind.data),
    }


LONG_NAMES = _long_name_headers()


@pytest.mark.parametrize("case", LONG_NAMES, ids=list(LONG_NAMES))
def test_errors_quote_names_briefly(fuzz_dir: Path, case: str) -> None:
    """Found by fuzzing: a 5,000-byte key or tensor name was quoted whole in the one-sentence error."""
    data = LONG_NAMES[case] + bytes(64)
    path = fuzz_dir / "long-name.gguf"
    path.write_bytes(data)
    check_all_readers(path, data)
