"""Hostile model files, as a user or an attacker hands them to `parlour chat` and the library.

Each one ends in one plain sentence with exit 2, within a generous time (a hang fails the
test, a slow machine does not), with the engine host under 500 MB above the model's own
size, nothing created outside the data folder, and the store unchanged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engines.base import GenerationParams
from engines.host_client import EngineClient
from engines.templates import TOO_BIG_MESSAGE, TOO_SLOW_MESSAGE
from tests.support.gguf_edit import with_string_metadata

GENEROUS_S = 120
HOST_HEADROOM = 500 * 1024 * 1024
# Folded by Jinja's compiler at compile time: 800 MB the moment anything compiles it unsandboxed.
COMPILE_BOMB = "{{ 'a' * 800000000 }}"
TEMPLATE_KEYS = (
    "tokenizer.chat_template",
    "tokenizer.chat_template.tool_use",
    "tokenizer.chat_template.rag",
    "tokenizer.chat_template.custom",
)
DOUBLING_COMPARISON = (
    "{% set ns = namespace(x=[1], y=[1]) %}{% for i in range(48) %}{% set ns.x = [ns.x, ns.x] %}"
    "{% set ns.y = [ns.y, ns.y] %}{% endfor %}{{ ns.x == ns.y }}"
)


class Sandbox:
    """A home of its own for one `parlour` run: a data folder, a working folder, and the inputs."""

    def __init__(self, root: Path, parlour: list[str]) -> None:
        self.root = root
        self.home = root / "home"
        self.data = self.home / "data"
        self.work = root / "work"
        self.inputs = root / "inputs"
        for folder in (self.home, self.work, self.inputs):
            folder.mkdir(parents=True)
        self.parlour = parlour
        self.env = dict(os.environ, HOME=str(self.home), PARLOUR_HOME=str(self.data), HF_HUB_CACHE=str(root / "hf"))

    def run(self, *args: str, timeout: float = GENEROUS_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.parlour, *args], capture_output=True, text=True, timeout=timeout, env=self.env, cwd=self.work
        )

    def files_outside_data(self) -> set[Path]:
        found = set()
        for path in self.root.rglob("*"):
            if (
                path.is_relative_to(self.data)
                or path.is_relative_to(self.inputs)
                or path.is_relative_to(self.root / "hf")
            ):
                continue
            found.add(path.relative_to(self.root))
        return found

    def store_rows(self) -> tuple[int, int]:
        with sqlite3.connect(self.data / "parlour.db") as db:
            return (
                db.execute("SELECT count(*) FROM conversations").fetchone()[0],
                db.execute("SELECT count(*) FROM messages").fetchone()[0],
            )


@pytest.fixture
def sandbox(tmp_path: Path, parlour_cmd: list[str]) -> Sandbox:
    box = Sandbox(tmp_path, parlour_cmd)
    assert box.run("conversations").returncode == 0  # the store exists, so "unchanged" means something
    return box


def assert_refused(box: Sandbox, result: subprocess.CompletedProcess[str], phrase: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert phrase in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def refused_chat(box: Sandbox, model: Path, phrase: str, *extra: str) -> str:
    before = box.store_rows()
    outside = box.files_outside_data()
    started = time.monotonic()
    result = box.run("chat", "--model", str(model), *extra, "hi")
    assert time.monotonic() - started < GENEROUS_S
    sentence = assert_refused(box, result, phrase)
    assert box.store_rows() == before
    assert box.files_outside_data() == outside
    return sentence


# --- model files that are not files ------------------------------------------------------------------


def test_a_fifo_named_like_a_model_is_refused_without_waiting(sandbox: Sandbox) -> None:
    fifo = sandbox.inputs / "model.gguf"
    os.mkfifo(fifo)
    refused_chat(sandbox, fifo, "is a named pipe (FIFO), not a model file")


def test_a_device_named_like_a_model_is_refused(sandbox: Sandbox) -> None:
    link = sandbox.inputs / "zero.gguf"
    link.symlink_to("/dev/zero")
    refused_chat(sandbox, link, "is a device, not a model file")


# --- GGUF metadata --------------------------------------------------------------------------------------


def nested_array_gguf(path: Path, depth: int = 100_000) -> Path:
    """A GGUF whose one metadata value is an array of an array of ... (1.2 MB for 100,000 levels)."""
    key = b"general.nested"
    body = struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
    body += struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 0, 0)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body)
    return path


def test_deeply_nested_metadata_arrays_are_a_sentence(sandbox: Sandbox) -> None:
    model = nested_array_gguf(sandbox.inputs / "nested.gguf")
    refused_chat(sandbox, model, "is a damaged GGUF file")


def test_one_bad_file_in_the_hub_cache_does_not_empty_the_library(sandbox: Sandbox) -> None:
    repo = Path(sandbox.env["HF_HUB_CACHE"]) / "models--evil--nested-GGUF"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    nested_array_gguf(snapshot / "nested.gguf")
    listing = sandbox.run("models", "--json")
    assert listing.returncode == 0, listing.stderr
    assert "Traceback" not in listing.stderr
    models = json.loads(listing.stdout)
    assert any(m["origin"] == "starter" and m.get("engine") == "llamacpp" for m in models)
    chat = sandbox.run("chat", "--max-tokens", "3", "--temperature", "0", "hi")
    assert chat.returncode == 0, chat.stderr


@pytest.fixture(scope="module")
def hostile_template_gguf(starter_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("hostile") / "compile-bomb.gguf"
    return with_string_metadata(starter_gguf, target, dict.fromkeys(TEMPLATE_KEYS, COMPILE_BOMB))


def test_no_template_key_is_compiled_when_the_model_loads(hostile_template_gguf: Path) -> None:
    """llama-cpp-python would fold each template's constant at load: 800 MB per key, before any sandbox."""
    size = hostile_template_gguf.stat().st_size
    with EngineClient() as client:
        started = time.monotonic()
        client.load(str(hostile_template_gguf))
        assert time.monotonic() - started < GENEROUS_S
        _, finished = client.generate([{"role": "user", "content": "hi"}], GenerationParams(max_tokens=4)).text()
        assert finished.finish_reason == "error" and finished.error == TOO_BIG_MESSAGE
        assert finished.error_code == "template_error"
        peak = client.ping().peak_bytes
    assert peak < size + HOST_HEADROOM, peak


def test_a_model_whose_template_bombs_is_one_sentence(sandbox: Sandbox, hostile_template_gguf: Path) -> None:
    refused_chat(sandbox, hostile_template_gguf, TOO_BIG_MESSAGE)


def test_a_model_whose_template_hangs_in_c_is_one_sentence(sandbox: Sandbox, starter_gguf: Path) -> None:
    model = with_string_metadata(
        starter_gguf, sandbox.inputs / "hang.gguf", {"tokenizer.chat_template": DOUBLING_COMPARISON}
    )
    refused_chat(sandbox, model, TOO_SLOW_MESSAGE)


def test_a_user_template_that_hangs_is_one_sentence(sandbox: Sandbox, starter_gguf: Path) -> None:
    template = sandbox.inputs / "hang.jinja"
    template.write_text(DOUBLING_COMPARISON)
    refused_chat(sandbox, starter_gguf, TOO_SLOW_MESSAGE, "--template", str(template))
    started = time.monotonic()
    assert_refused(sandbox, sandbox.run("templates", "preview", "--file", str(template)), TOO_SLOW_MESSAGE)
    assert time.monotonic() - started < GENEROUS_S


# --- MLX folders ------------------------------------------------------------------------------------------


def mlx_folder(root: Path, config: object = None, header: object = None, raw_config: bytes | None = None) -> Path:
    """A folder shaped like an MLX model whose config.json and safetensors header are as given."""
    root.mkdir()
    if raw_config is not None:
        (root / "config.json").write_bytes(raw_config)
    else:
        (root / "config.json").write_text(json.dumps(config or {"model_type": "llama"}))
    (root / "tokenizer.json").write_text("{}")
    header = header if header is not None else {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    data = json.dumps(header).encode()
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(data)) + data + bytes(64))
    return root


def _config_to_dev_zero(root: Path) -> Path:
    folder = mlx_folder(root)
    (folder / "config.json").unlink()
    (folder / "config.json").symlink_to("/dev/zero")
    return folder


def _config_fifo(root: Path) -> Path:
    folder = mlx_folder(root)
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    return folder


def _template_fifo(root: Path) -> Path:
    folder = mlx_folder(root)
    os.mkfifo(folder / "chat_template.jinja")
    return folder


def _huge_tokenizer_config(root: Path) -> Path:
    folder = mlx_folder(root)
    with open(folder / "tokenizer_config.json", "wb") as sparse:
        sparse.truncate(1 << 30)  # a gigabyte that takes no disk
    return folder


def _header(entry: dict) -> Callable[[Path], Path]:
    tensor = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16], **entry}
    return lambda root: mlx_folder(root, header={"w": tensor})


def _bits(bits: object) -> Callable[[Path], Path]:
    config = {"model_type": "llama", "quantization": {"bits": bits, "group_size": 64}}
    return lambda root: mlx_folder(root, config=config)


MLX_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "config nested 100,000 deep": (
        lambda root: mlx_folder(root, raw_config=b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "config.json is nested too deeply",
    ),
    "config a symlink to /dev/zero": (_config_to_dev_zero, "config.json, which is a device"),
    "config a FIFO": (_config_fifo, "config.json, which is a named pipe (FIFO)"),
    "template a FIFO": (_template_fifo, "chat_template.jinja, which is a named pipe (FIFO)"),
    "offsets as words": (_header({"data_offsets": "sixteen"}), "is damaged"),
    "an infinite shape": (_header({"shape": [float("inf")]}), "is damaged"),
    "a negative shape": (_header({"shape": [-1, 2]}), "is damaged"),
    "bits as text": (_bits("0"), "impossible number of quantization bits"),
    "zero bits": (_bits(0), "impossible number of quantization bits"),
    "huge tokenizer config": (_huge_tokenizer_config, "tokenizer_config.json is larger than 16 MB"),
}


@pytest.mark.parametrize("case", list(MLX_CASES))
def test_hostile_mlx_folders_are_one_sentence(case: str, sandbox: Sandbox) -> None:
    make, phrase = MLX_CASES[case]
    folder = make(sandbox.inputs / "model")
    refused_chat(sandbox, folder, phrase)
