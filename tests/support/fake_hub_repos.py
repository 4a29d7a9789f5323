"""Ready-made repositories for the Hub stand-in: the starter GGUF (with a pretend split quantization),
a tiny 4-bit MLX folder built in memory, and a gated repository."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support.fake_hub import FakeHub, HubFile, HubRepo

GGUF_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
MLX_REPO = "mlx-community/Tiny-Llama-4bit"
SPLIT_REPO = "parlour-tests/Split-GGUF"
GATED_REPO = "gated-org/Gated-GGUF"

README = """---
license: apache-2.0
library_name: gguf
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
tags:
- gguf
---

# SmolLM2-135M-Instruct GGUF

![banner](https://example.invalid/banner.png)

SmolLM2 is a family of compact language models available in three sizes: 135M, 360M, and 1.7B
parameters. They are capable of solving a wide range of tasks while being lightweight enough to
run on-device.

## Quantizations

| File | Quant |
|------|-------|
| SmolLM2-135M-Instruct.Q4_1.gguf | Q4_1 |
"""


def starter_repo(starter: Path) -> HubRepo:
    """The starter GGUF as one quantization, with a small second one split in two parts."""
    header = starter.read_bytes()[: 2 * 1024 * 1024]
    files = [
        HubFile(".gitattributes", data=b"*.gguf filter=lfs diff=lfs merge=lfs -text\n"),
        HubFile("README.md", data=README.encode()),
        HubFile("SmolLM2-135M-Instruct.Q4_1.gguf", source=starter, lfs=True),
        # A pretend Q8_0 in two shards: the header of the real file, then filler.
        HubFile("Q8_0/SmolLM2-135M-Instruct-Q8_0-00001-of-00002.gguf", data=header, lfs=True),
        HubFile("Q8_0/SmolLM2-135M-Instruct-Q8_0-00002-of-00002.gguf", data=b"\x01" * 300_000, lfs=True),
    ]
    return HubRepo(
        GGUF_REPO,
        files,
        tags=["gguf", "llama", "text-generation", "license:apache-2.0", "conversational"],
        library_name="gguf",
        downloads=5000,
        likes=40,
        trending=3,
        card_data={
            "license": "apache-2.0",
            "library_name": "gguf",
            "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        },
        gguf={
            "total": 134515008,
            "architecture": "llama",
            "context_length": 8192,
            "bos_token": "<|im_start|>",
            "eos_token": "<|im_end|>",
        },
    )


def tiny_mlx_repo() -> HubRepo:
    """A small MLX folder (4-bit, two layers) built in memory: config, weights, tokenizer."""
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 256,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "quantization": {"group_size": 64, "bits": 4},
    }
    weights = _safetensors(
        {
            "model.embed_tokens.weight": ("U32", [256, 8]),
            "model.embed_tokens.scales": ("BF16", [256, 1]),
            "model.embed_tokens.biases": ("BF16", [256, 1]),
            "model.norm.weight": ("BF16", [64]),
        }
    )
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}
    files = [
        HubFile(".gitattributes", data=b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
        HubFile("README.md", data=b"---\nlicense: mit\n---\n\n# Tiny Llama 4-bit\n\nA test model.\n"),
        HubFile("config.json", data=json.dumps(config, indent=1).encode()),
        HubFile("model.safetensors", data=weights, lfs=True),
        HubFile("tokenizer.json", data=json.dumps(tokenizer).encode()),
        HubFile("tokenizer_config.json", data=json.dumps({"chat_template": "{{ messages }}"}).encode()),
        HubFile("modeling_custom.py", data=b"# code Parlour never downloads\n"),
    ]
    return HubRepo(
        MLX_REPO,
        files,
        tags=["mlx", "llama", "text-generation", "license:mit"],
        library_name="mlx",
        downloads=900,
        likes=7,
        trending=9,
        card_data={"license": "mit", "library_name": "mlx"},
        config={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        safetensors={"parameters": {"U32": 2048, "BF16": 576}, "total": 2624},
    )


def gated_repo(starter: Path) -> HubRepo:
    head = starter.read_bytes()[: 2 * 1024 * 1024]
    return HubRepo(
        GATED_REPO,
        [HubFile("Gated.Q4_1.gguf", data=head, lfs=True)],
        tags=["gguf"],
        library_name="gguf",
        gated="manual",
        downloads=10,
        card_data={"license": "other"},
    )


def _safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    sizes = {"U32": 4, "BF16": 2, "F16": 2, "F32": 4}
    header: dict[str, Any] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + count * sizes[dtype]]}
        offset += count * sizes[dtype]
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + os.urandom(offset)


def standard_hub(starter: Path) -> FakeHub:
    return FakeHub([starter_repo(starter), tiny_mlx_repo(), gated_repo(starter)])
