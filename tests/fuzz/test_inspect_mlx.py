"""Fuzzing inspect_model on MLX folders: config.json, safetensors headers, tokenizer files.

Whatever the folder holds, inspecting it ends in a ModelInfo or a ModelFileError with one sentence,
within a memory and time bound.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, example, given
from hypothesis import strategies as st

from engines.base import ModelFileError, ModelInfo
from engines.inspect import inspect_model
from tests.fuzz.bounds import MiB, assert_one_sentence, outcome
from tests.fuzz.json_strategies import Blob, json_values, nested_text, numbers, odd_text
from tests.fuzz.profiles import SEEDS, fuzz_settings

SEED_DIR = SEEDS / "mlx"
MEMORY = 256 * MiB
SOUND_CONFIG: dict[str, Any] = json.loads((SEED_DIR / "config.json").read_text(encoding="utf-8"))
SOUND_TENSORS: dict[str, Any] = json.loads((SEED_DIR / "safetensors-header.json").read_text(encoding="utf-8"))
SOUND_TOKENIZER_CONFIG: dict[str, Any] = json.loads((SEED_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
CONFIG_KEYS = [
    "model_type",
    "quantization",
    "quantization_config",
    "max_position_embeddings",
    "text_config",
    "torch_dtype",
    "dtype",
    "hidden_size",
    "num_attention_heads",
    "num_hidden_layers",
    "num_key_value_heads",
    "head_dim",
    "model_file",
    "auto_map",
    "vocab_size",
]
DTYPES = ["F32", "F16", "BF16", "U32", "I8", "U8", "F64", "", "f32", "\x00", "U32 ", "F8_E4M3"]


def inspect_folder(folder: Path) -> ModelInfo | ModelFileError:
    result = outcome(lambda: inspect_model(folder), ModelFileError, MEMORY)
    if currently_in_test_context():
        event(f"inspect_model: {str(result)[:60] if isinstance(result, ModelFileError) else 'ModelInfo'}")
    if isinstance(result, ModelFileError):
        assert_one_sentence(result)
    else:
        assert isinstance(result, ModelInfo) and result.format == "mlx"
        assert result.parameter_count is None or result.parameter_count >= 0
    return result


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def safetensors(header: Any, data_bytes: int | None = None, header_len: int | None = None) -> bytes:
    """A .safetensors file: 8-byte header length, the JSON header, then the tensor data (zeros)."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8", "surrogatepass")
    if data_bytes is None:
        data_bytes = _data_end(header)
    return struct.pack("<Q", len(text) if header_len is None else header_len) + text + bytes(data_bytes)


def _data_end(header: Any) -> int:
    end = 0
    if isinstance(header, dict):
        for entry in header.values():
            offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
            if isinstance(offsets, list) and len(offsets) == 2 and all(type(v) is int for v in offsets):
                end = max(end, offsets[1])
    return min(max(end, 0), 1 << 20)


def sound_files(config: dict | None = None, tensors: dict | None = None) -> dict[str, bytes]:
    return {
        "config.json": json.dumps(SOUND_CONFIG if config is None else config).encode(),
        "model.safetensors": safetensors(SOUND_TENSORS if tensors is None else tensors),
        "tokenizer.json": b"{}",
        "tokenizer_config.json": json.dumps(SOUND_TOKENIZER_CONFIG).encode(),
    }


# --- strategies --------------------------------------------------------------------------------------

plausible = {
    "model_type": st.sampled_from(
        [
            "llama",
            "mistral",
            "qwen2",
            "gemma4_unified",
            "Llama",
            "llama ",
            "../llama",
            "llama.py",
            "",
            "x" * 256,
            "lla\nma",
            "l\u0430ma",
        ]
    ),
    "quantization": st.one_of(
        st.fixed_dictionaries(
            {"bits": st.one_of(st.sampled_from([0, 1, 2, 4, 8, 16, 17, "0", "4", 4.0, True, None]), numbers)},
            optional={"group_size": st.one_of(st.sampled_from([0, 32, 64]), numbers)},
        ),
        st.sampled_from([[], "4bit", 4, True]),
    ),
    "max_position_embeddings": st.one_of(st.sampled_from([2048, "2048", 2048.0, 10**30, -1, 0, True]), numbers),
    "text_config": st.one_of(
        st.sampled_from([[], [SOUND_CONFIG], "llama"]),
        st.dictionaries(st.sampled_from(CONFIG_KEYS), json_values(4), max_size=4),
    ),
}


@st.composite
def configs(draw: st.DrawFn) -> bytes:
    return Blob(draw(_configs()))


@st.composite
def _configs(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["changed"] * 6 + ["any", "deep", "text"]))
    if kind == "deep":
        depth = draw(st.sampled_from([10, 900, 1000, 5000, 100_000]))
        return nested_text(depth, draw(st.sampled_from(["list", "dict"]))).encode()
    if kind == "text":
        return draw(st.binary(max_size=64))
    if kind == "any":
        return json.dumps(draw(json_values())).encode("utf-8", "surrogatepass")
    config = dict(SOUND_CONFIG)
    for key in draw(st.lists(st.sampled_from(CONFIG_KEYS), max_size=4, unique=True)):
        if draw(st.booleans()):
            config.pop(key, None)
            continue
        config[key] = draw(plausible.get(key, json_values(4)) if draw(st.booleans()) else json_values(6))
    return json.dumps(config).encode("utf-8", "surrogatepass")


shapes = st.one_of(
    st.lists(st.integers(0, 64), max_size=3),
    st.lists(st.one_of(numbers, st.sampled_from(["x", None, [2]])), max_size=4),
    st.sampled_from(["x", 4, None, {}, [2**70], [-1], [float("inf")], [2**31] * 8, [1] * 100]),
)
offsets = st.one_of(
    st.tuples(st.integers(0, 4096), st.integers(0, 4096)).map(sorted).map(list),
    st.lists(st.one_of(numbers, st.sampled_from(["16", None])), max_size=3),
    st.sampled_from(["sixteen", 16, None, [1], [float("inf")], [0, float("inf")], [-16, 0], [16, 0], [0, 2**64]]),
)
entries = st.one_of(
    st.fixed_dictionaries({"dtype": st.sampled_from(DTYPES), "shape": shapes, "data_offsets": offsets}),
    st.fixed_dictionaries(
        {},
        optional={
            "dtype": st.one_of(st.sampled_from(DTYPES), json_values(3)),
            "shape": shapes,
            "data_offsets": offsets,
        },
    ),
    json_values(4),
)
tensor_names = st.one_of(
    st.sampled_from(["model.embed_tokens.weight", "lm_head.scales", "lm_head.biases", "__metadata__", "", "\ud800"]),
    odd_text,
)


@st.composite
def weights(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["changed", "changed", "any", "deep", "raw", "length"]))
    if kind == "deep":
        header: Any = nested_text(draw(st.sampled_from([1000, 100_000])), "dict").encode()
    elif kind == "raw":
        header = draw(st.binary(max_size=64))
    elif kind == "any":
        header = draw(json_values())
    else:
        header = dict(SOUND_TENSORS)
        header.update(draw(st.dictionaries(tensor_names, entries, max_size=3)))
    data_bytes = draw(st.one_of(st.none(), st.integers(0, 1 << 16)))
    header_len = draw(st.sampled_from([0, 1, 7, 2**31, 2**63, 2**64 - 1])) if kind == "length" else None
    return Blob(safetensors(header, data_bytes, header_len))


@st.composite
def tokenizer_files(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    names = ["tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer.json", "tokenizer.json"]
    for name in draw(st.lists(st.sampled_from(names), min_size=1 if draw(st.integers(0, 9)) else 0, max_size=2)):
        files[name] = draw(st.sampled_from([b"{}", b"", b"\xff\xfe"]))
    kind = draw(st.sampled_from(["sound", "sound", "changed", "changed", "any", "deep", "absent"]))
    if kind == "sound":
        files["tokenizer_config.json"] = json.dumps(SOUND_TOKENIZER_CONFIG).encode()
    elif kind == "changed":
        changed = dict(SOUND_TOKENIZER_CONFIG)
        for key in draw(st.lists(st.sampled_from(["chat_template", "bos_token", "eos_token"]), max_size=3)):
            changed[key] = draw(json_values(4))
        files["tokenizer_config.json"] = json.dumps(changed).encode("utf-8", "surrogatepass")
    elif kind == "any":
        files["tokenizer_config.json"] = json.dumps(draw(json_values())).encode("utf-8", "surrogatepass")
    elif kind == "deep":
        files["tokenizer_config.json"] = nested_text(100_000).encode()
    if draw(st.booleans()):
        files["chat_template.jinja"] = draw(st.sampled_from([b"{{ messages }}", b"\xff\xfe{{", b""]))
    return {name: Blob(data) for name, data in files.items()}


# --- properties --------------------------------------------------------------------------------------


@fuzz_settings(examples=300)
@given(
    config=configs(),
    weight_files=st.lists(weights(), min_size=1, max_size=2),
    tokenizer=tokenizer_files(),
    extra=st.sampled_from([None, None, None, "modeling.py", "pytorch_model.bin", "model.gguf"]),
)
def test_mlx_folders_are_inspected_or_refused(
    fuzz_dir: Path, config: bytes, weight_files: list[bytes], tokenizer: dict[str, bytes], extra: str | None
) -> None:
    files = {"config.json": config, **tokenizer}
    for index, data in enumerate(weight_files):
        files[f"model-{index:05d}.safetensors"] = data
    if extra:
        files[extra] = b"GGUF" if extra.endswith(".gguf") else b"\x80\x04"
    inspect_folder(write_folder(fuzz_dir / "model", files))


@fuzz_settings(examples=200)
@given(
    tensors=st.dictionaries(tensor_names, entries, min_size=1, max_size=3),
    bits=st.sampled_from([None, None, None, 4, 8, "0", 0, "x"]),
)
@example(tensors={"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": "sixteen"}}, bits=None)
@example(tensors={"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [1]}}, bits=None)
@example(tensors={"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, float("inf")]}}, bits=None)
@example(tensors={"w": {"dtype": "F32", "shape": [float("inf")], "data_offsets": [0, 16]}}, bits=None)
@example(tensors={"w": {"dtype": "U32", "shape": [2, 2], "data_offsets": [0, 16]}}, bits="0")
@example(tensors={"w": {"dtype": "U32", "shape": [2, 2], "data_offsets": [0, 16]}}, bits=0)
def test_safetensors_headers_with_odd_entries(fuzz_dir: Path, tensors: dict, bits: Any) -> None:
    """The sound folder, with only its weights' header changed (and the bits it is read with)."""
    config = dict(SOUND_CONFIG)
    if bits is not None:
        config["quantization"] = {"bits": bits, "group_size": 64}
    inspect_folder(write_folder(fuzz_dir / "model", sound_files(config, {**SOUND_TENSORS, **tensors})))


# --- seeds and reported reproducers -----------------------------------------------------------------


def test_the_sound_seed_folder_is_inspected(fuzz_dir: Path) -> None:
    info = inspect_folder(write_folder(fuzz_dir / "model", sound_files()))
    assert isinstance(info, ModelInfo), info
    assert info.architecture == "llama" and info.parameter_count == 2 * 64 + 64 * 64


REPORTED: dict[str, tuple[dict | None, dict | None, dict[str, bytes]]] = {
    "config nested 100,000 deep": (None, None, {"config.json": nested_text(100_000).encode()}),
    "config dict nested 100,000 deep": (None, None, {"config.json": nested_text(100_000, "dict").encode()}),
    "tokenizer_config nested 100,000 deep": (None, None, {"tokenizer_config.json": nested_text(100_000).encode()}),
    "data_offsets sixteen": (None, {"w": {"dtype": "F32", "shape": [2], "data_offsets": "sixteen"}}, {}),
    "data_offsets [1]": (None, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [1]}}, {}),
    "data_offsets [Infinity]": (None, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [float("inf")]}}, {}),
    "data_offsets negative": (None, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, {}),
    "shape [Infinity]": (None, {"w": {"dtype": "F32", "shape": [float("inf")], "data_offsets": [0, 8]}}, {}),
    "shape [-1]": (None, {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}}, {}),
    "shape [2**70]": (None, {"w": {"dtype": "F32", "shape": [2**70], "data_offsets": [0, 8]}}, {}),
    "shape x": (None, {"w": {"dtype": "F32", "shape": "x", "data_offsets": [0, 8]}}, {}),
    "dtype odd": (None, {"w": {"dtype": ["U32"], "shape": [2], "data_offsets": [0, 8]}}, {}),
    "entry not an object": (None, {"w": [1, 2]}, {}),
    "bits '0'": ({**SOUND_CONFIG, "quantization": {"bits": "0", "group_size": 64}}, None, {}),
    "bits 0": ({**SOUND_CONFIG, "quantization": {"bits": 0, "group_size": 64}}, None, {}),
    "bits 'x' in quantization_config": ({**SOUND_CONFIG, "quantization_config": {"bits": "x"}}, None, {}),
    "max_position_embeddings as text": ({**SOUND_CONFIG, "max_position_embeddings": "2048"}, None, {}),
    "max_position_embeddings as float": ({**SOUND_CONFIG, "max_position_embeddings": 2048.5}, None, {}),
    "max_position_embeddings huge": ({**SOUND_CONFIG, "max_position_embeddings": 10**300}, None, {}),
    "text_config a list": ({**SOUND_CONFIG, "text_config": [SOUND_CONFIG]}, None, {}),
    "model_type a list": ({**SOUND_CONFIG, "model_type": ["llama"]}, None, {}),
    "model_type with a line break": ({**SOUND_CONFIG, "model_type": "lla\nma"}, None, {}),
    "model_type longer than a file name": ({**SOUND_CONFIG, "model_type": "x" * 256}, None, {}),
    "heads zero": ({**SOUND_CONFIG, "num_attention_heads": 0, "head_dim": None}, None, {}),
    "bos_token an object without content": (None, None, {"tokenizer_config.json": b'{"bos_token": {"x": 1}}'}),
    "tokenizer_config a list": (None, None, {"tokenizer_config.json": b"[1, 2]"}),
}


@pytest.mark.parametrize("case", REPORTED, ids=list(REPORTED))
def test_reported_mlx_folders_are_refused_or_inspected(fuzz_dir: Path, case: str) -> None:
    config, tensors, replaced = REPORTED[case]
    files = sound_files(config, None if tensors is None else {**SOUND_TENSORS, **tensors})
    files.update(replaced)
    inspect_folder(write_folder(fuzz_dir / "model", files))
