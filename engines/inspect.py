"""Read a model file or folder safely: what it is, which engine runs it, or why it is refused.

Nothing here runs model code or native loaders: the checks happen before an engine
touches the files, so a bad file becomes one plain sentence instead of a crash.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import stat
import struct
from pathlib import Path
from typing import Any

from engines.base import ModelFileError, ModelInfo
from engines.bounded_files import MIB, FileRefusedError, describe_kind, read_bounded_bytes
from engines.gguf_header import (
    FILE_TYPE_NAMES,
    GGUFFormatError,
    GGUFTruncatedError,
    brief,
    read_gguf_header,
)
from engines.remote_target import is_remote_ref, parse_ref

# Bounds on what a model folder's small files may be: generous for real models, tiny next to memory.
CONFIG_LIMIT = 4 * MIB
TOKENIZER_CONFIG_LIMIT = 16 * MIB
TEMPLATE_LIMIT = 256 * 1024  # as the renderer's own cap (engines.templates.MAX_TEMPLATE_CHARS)
SAFETENSORS_HEADER_LIMIT = 16 * MIB  # a 100,000-tensor shard's header is a few MB
MAX_TENSOR_DIMS = 8
MAX_DIM = 1 << 48
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tiktoken.model", "vocab.json")
# mlx-lm maps a few model_type names onto shared implementations (mlx_lm.utils.MODEL_REMAPPING);
# this copy avoids importing mlx just to inspect a folder.
MLX_MODEL_REMAPPING = {
    "mistral": "llama",
    "llava": "mistral3",
    "phi-msft": "phixtral",
    "falcon_mamba": "mamba",
    "joyai_llm_flash": "deepseek_v3",
    "kimi_k2": "deepseek_v3",
    "qwen2_5_vl": "qwen2_vl",
    "minimax_m2": "minimax",
    "iquestcoder": "llama",
    "xverse": "llama",
    "gemma4_unified": "gemma4",
    "deepseek_v41_text": "deepseek_v41",
}


def human_size(num_bytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(num_bytes) < 1000 or unit == "TB":
            return f"{num_bytes:.0f} {unit}" if unit in ("bytes", "KB") else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return f"{num_bytes:.1f} TB"


def inspect_model(path: str | Path) -> ModelInfo:
    """Describe the model at `path` or raise ModelFileError with one plain sentence."""
    if is_remote_ref(path):  # a model elsewhere: nothing on disk to read
        assert isinstance(path, str)
        return ModelInfo(path=path, engine="remote", format="remote", name=parse_ref(path).label)
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ModelFileError(f"No model file or folder at {path}.") from None
    except OSError as err:
        raise ModelFileError(f"Cannot read {path}: {err.strerror or err.__class__.__name__}.") from None
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        # Opening a FIFO waits for a writer and a device never ends: refuse by type, before any read.
        raise ModelFileError(f"{path.name} is {describe_kind(mode)}, not a model file.")
    if stat.S_ISDIR(mode):
        ggufs = sorted(path.glob("*.gguf"))
        if (path / "config.json").exists() or not ggufs:
            return inspect_mlx_dir(path)
        if len(ggufs) == 1:
            return inspect_gguf(ggufs[0])
        raise ModelFileError(f"The folder {path} holds several GGUF files; choose one of them.")
    if path.suffix.lower() == ".gguf" or _starts_with(path, b"GGUF"):
        return inspect_gguf(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelFileError(
            f"{path.name} is a PyTorch pickle file, which can run code when opened; "
            "Parlour loads GGUF files and MLX folders with .safetensors weights."
        )
    raise ModelFileError(f"{path.name} is not a model Parlour can load: choose a .gguf file or an MLX folder.")


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(len(magic)) == magic
    except OSError:
        return False


# --- GGUF -------------------------------------------------------------------------------------------


def inspect_gguf(path: Path) -> ModelInfo:
    try:
        mode, size = (info := path.stat()).st_mode, info.st_size
    except OSError as err:
        raise ModelFileError(f"Cannot read {path}: {err.strerror or err.__class__.__name__}.") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path.name} is {describe_kind(mode)}, not a model file.")
    try:
        header = read_gguf_header(path)
    except GGUFTruncatedError as err:
        if err.expected:
            raise ModelFileError(
                f"This GGUF file is truncated ({human_size(err.actual)} of {human_size(err.expected)}). "
                "Download it again."
            ) from None
        raise ModelFileError(
            f"This GGUF file is truncated (it ends inside its header, after {human_size(err.actual)}). "
            "Download it again."
        ) from None
    except GGUFFormatError as err:
        if str(err) == "no GGUF magic" or str(err) == "too small to be a GGUF file":
            raise ModelFileError(f"{path.name} is not a GGUF model file (its contents are not GGUF).") from None
        raise ModelFileError(f"{path.name} is a damaged GGUF file ({err}). Download it again.") from None
    except OSError as err:
        raise ModelFileError(f"Cannot read {path}: {err.strerror or err}.") from None

    meta = header.metadata
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not header.tensors:
        raise ModelFileError(f"{path.name} is a GGUF file without a language model in it.")
    file_type = meta.get("general.file_type")
    quant = FILE_TYPE_NAMES.get(file_type) if isinstance(file_type, int) else None
    template = meta.get("tokenizer.chat_template")
    heads = _int_or_none(meta.get(f"{arch}.attention.head_count"))
    width = _int_or_none(meta.get(f"{arch}.embedding_length"))
    head_dim = _int_or_none(meta.get(f"{arch}.attention.key_length")) or (width // heads if width and heads else None)
    return ModelInfo(
        path=str(path),
        engine="llamacpp",
        format="gguf",
        name=str(meta.get("general.name") or path.stem),
        architecture=arch,
        parameter_count=header.parameter_count,
        quantization=quant or header.dominant_type(),
        context_length=_int_or_none(meta.get(f"{arch}.context_length")),
        file_size=size,
        chat_template=template if isinstance(template, str) else None,
        layers=_int_or_none(meta.get(f"{arch}.block_count")),
        kv_heads=_int_or_none(meta.get(f"{arch}.attention.head_count_kv")) or heads,
        head_dim=head_dim,
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


# --- MLX folders ------------------------------------------------------------------------------------


def inspect_mlx_dir(path: Path) -> ModelInfo:
    _refuse_special_files(path)
    config = _mlx_config(path)
    weights = _mlx_weights(path)
    _check_quantization(config)
    model_type = _mlx_model_type(config)
    if not any((path / name).exists() for name in TOKENIZER_FILES):
        raise ModelFileError("This model folder has no tokenizer (tokenizer.json or tokenizer.model).")
    parameter_count = sum(_safetensors_parameters(f, config) for f in weights)
    total_size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    tok_config = _read_json(path / "tokenizer_config.json", "tokenizer_config.json")
    if not isinstance(tok_config, dict):
        tok_config = {}
    return ModelInfo(
        path=str(path),
        engine="mlx",
        format="mlx",
        name=path.name,
        architecture=model_type,
        parameter_count=parameter_count or None,
        quantization=_mlx_quantization(config),
        context_length=_int_or_none(config.get("max_position_embeddings")),
        file_size=total_size,
        chat_template=_mlx_chat_template(path, tok_config),
        bos_token=_token_text(tok_config.get("bos_token")),
        eos_token=_token_text(tok_config.get("eos_token")),
        **_mlx_kv_geometry(config),
    )


def _mlx_config(path: Path) -> dict[str, Any]:
    """config.json, after refusing folders that bring code of their own."""
    code_files = sorted(p.name for p in path.glob("*.py"))
    if code_files:
        raise ModelFileError(
            f"This model folder contains Python code ({code_files[0]}); "
            "Parlour never runs code that comes with a model."
        )
    if not (path / "config.json").exists():
        raise ModelFileError(f"{path} is not a model folder: it has no config.json.")
    config = _read_json(path / "config.json", "config.json")
    if not isinstance(config, dict):
        raise ModelFileError("This model folder's config.json is not a JSON object.")
    if config.get("model_file") or config.get("auto_map"):
        raise ModelFileError("This model needs custom code from its folder to run; Parlour never runs it.")
    return config


def _mlx_weights(path: Path) -> list[Path]:
    weights = sorted(path.glob("*.safetensors"))
    if weights:
        return weights
    pickles = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise ModelFileError(
            f"This model folder has only PyTorch pickle weights ({pickles[0]}), which can run code "
            "when opened; Parlour loads .safetensors weights only."
        )
    raise ModelFileError("This model folder has no weights (.safetensors files).")


def _mlx_model_type(config: dict[str, Any]) -> str:
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ModelFileError("This model folder's config.json does not say what kind of model it is (model_type).")
    if not mlx_supports(model_type):
        raise ModelFileError(
            f"The model type {brief(model_type)} is not supported by the installed mlx-lm; "
            "try a GGUF version of this model."
        )
    return model_type


def _mlx_chat_template(path: Path, tok_config: dict[str, Any]) -> str | None:
    """chat_template.jinja, else the template in tokenizer_config.json, as transformers looks for it."""
    if (path / "chat_template.jinja").exists():
        return _read_small(path / "chat_template.jinja", TEMPLATE_LIMIT).decode("utf-8", errors="replace")
    template = tok_config.get("chat_template")
    return template if isinstance(template, str) else None


def _refuse_special_files(path: Path) -> None:
    """Every entry an engine may open must be a regular file or a folder (FIFOs block, devices never end)."""
    try:
        entries = list(os.scandir(path))
    except OSError as err:
        raise ModelFileError(f"Cannot read the folder {path}: {err.strerror or err.__class__.__name__}.") from None
    for entry in entries:
        try:
            mode = os.stat(entry.path).st_mode
        except OSError:
            continue  # a dangling link: nothing to open
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise ModelFileError(f"This model folder holds {entry.name}, which is {describe_kind(mode)}; remove it.")


def _check_quantization(config: dict[str, Any]) -> None:
    quant = config.get("quantization")
    if not quant:
        return
    if not isinstance(quant, dict):
        raise ModelFileError("This model folder's config.json has a malformed quantization entry.")
    bits = quant.get("bits")
    if bits is not None and (type(bits) is not int or not 1 <= bits <= 16):
        raise ModelFileError("This model folder's config.json gives an impossible number of quantization bits.")


def _mlx_kv_geometry(config: dict[str, Any]) -> dict[str, int | None]:
    nested = config.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else config
    heads = _int_or_none(text.get("num_attention_heads"))
    width = _int_or_none(text.get("hidden_size"))
    return {
        "layers": _int_or_none(text.get("num_hidden_layers")),
        "kv_heads": _int_or_none(text.get("num_key_value_heads")) or heads,
        "head_dim": _int_or_none(text.get("head_dim")) or (width // heads if width and heads else None),
    }


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def mlx_supports(model_type: str) -> bool:
    """Whether the installed mlx-lm has an implementation, found without importing mlx."""
    model_type = MLX_MODEL_REMAPPING.get(model_type, model_type)
    # Only a plain module name can be one of mlx-lm's (and only such a name may become a path).
    if not (len(model_type) <= 64 and model_type.isascii() and model_type.replace("_", "").isalnum()):
        return False
    spec = importlib.util.find_spec("mlx_lm")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(loc) / "models" / f"{model_type}.py").exists() for loc in spec.submodule_search_locations)


def _read_small(path: Path, limit: int) -> bytes:
    try:
        return read_bounded_bytes(path, limit, f"This model folder's {path.name}")
    except FileRefusedError as err:
        raise ModelFileError(str(err)) from None


def _read_json(path: Path, label: str) -> Any:
    """The JSON in `path`, read bounded; {} when the file does not exist."""
    if not path.exists():
        return {}
    limit = CONFIG_LIMIT if label == "config.json" else TOKENIZER_CONFIG_LIMIT
    data = _read_small(path, limit)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as err:
        raise ModelFileError(f"This model folder's {label} cannot be read ({err.__class__.__name__}).") from None
    except RecursionError:
        raise ModelFileError(f"This model folder's {label} is nested too deeply to read.") from None


def _mlx_quantization(config: dict[str, Any]) -> str:
    quant = config.get("quantization") or config.get("quantization_config")
    if isinstance(quant, dict) and type(quant.get("bits")) is int:
        return f"{quant['bits']}-bit"
    dtype = config.get("torch_dtype") or config.get("dtype")
    return dtype[:32] if isinstance(dtype, str) and dtype else "unknown"


def _safetensors_parameters(path: Path, config: dict[str, Any]) -> int:
    """Count parameters from the header, and check the file is as long as its header says."""
    damaged = ModelFileError(f"The weights file {path.name} is damaged. Download the model again.")
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            (header_len,) = struct.unpack("<Q", stream.read(8))
            if header_len > min(size, SAFETENSORS_HEADER_LIMIT):
                raise ValueError("header length")
            header = json.loads(stream.read(header_len))
    except (OSError, ValueError, struct.error, UnicodeDecodeError, RecursionError):
        raise damaged from None
    if not isinstance(header, dict):
        raise damaged
    quant = config.get("quantization")
    bits = quant.get("bits") if isinstance(quant, dict) else None  # checked to be 1..16 or None
    count, data_end = 0, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise damaged
        offsets, shape = entry.get("data_offsets"), entry.get("shape")
        if not _is_offsets(offsets) or not _is_shape(shape):
            raise damaged
        assert isinstance(offsets, list) and isinstance(shape, list)  # what the checks above proved
        data_end = max(data_end, offsets[1])
        elements = math.prod(shape)
        if name.endswith((".scales", ".biases")):
            continue
        if bits and entry.get("dtype") == "U32":
            elements = elements * 32 // bits  # packed quantized weights
        count += elements
    if size < 8 + header_len + data_end:
        raise ModelFileError(
            f"The weights file {path.name} is truncated ({human_size(size)} of "
            f"{human_size(8 + header_len + data_end)}). Download the model again."
        )
    return count


def _is_offsets(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(type(v) is int and 0 <= v < 1 << 62 for v in value)
        and value[0] <= value[1]
    )


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_TENSOR_DIMS
        and all(type(v) is int and 0 <= v < MAX_DIM for v in value)
    )
