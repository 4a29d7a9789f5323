"""A repository's files grouped into variants: quantizations, shards as one, MLX as one."""

from __future__ import annotations

from app.library.variants import RemoteFile, group_variants, quantization_from_name, select_files


def files(*names_and_sizes: tuple[str, int]) -> list[RemoteFile]:
    return [
        RemoteFile(name, size, sha256="0" * 64 if name.endswith((".gguf", ".safetensors")) else None)
        for name, size in names_and_sizes
    ]


def test_each_quantization_is_a_variant_and_shards_are_one() -> None:
    listing = files(
        ("README.md", 100),
        ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", 4_000),
        ("Qwen2.5-7B-Instruct-IQ4_XS.gguf", 3_500),
        ("Qwen2.5-7B-Instruct-Q8_0/Qwen2.5-7B-Instruct-Q8_0-00001-of-00003.gguf", 3_000),
        ("Qwen2.5-7B-Instruct-Q8_0/Qwen2.5-7B-Instruct-Q8_0-00002-of-00003.gguf", 3_000),
        ("Qwen2.5-7B-Instruct-Q8_0/Qwen2.5-7B-Instruct-Q8_0-00003-of-00003.gguf", 1_000),
        ("mmproj-Qwen2.5-f16.gguf", 600),
    )
    variants = group_variants(listing)
    assert [v.label for v in variants] == ["IQ4_XS", "Q4_K_M", "Q8_0 (3 parts)"]  # smallest first
    q8 = variants[-1]
    assert q8.size == 7_000 and q8.quantization == "Q8_0" and len(q8.files) == 3
    assert q8.first_weights_file.path.endswith("-00001-of-00003.gguf")
    assert all("mmproj" not in f.path for v in variants for f in v.files)
    assert len({v.key for v in variants}) == 3


def test_mlx_repository_is_one_variant_with_its_bits_and_no_code() -> None:
    listing = files(
        ("config.json", 1),
        ("model-00001-of-00002.safetensors", 500),
        ("model-00002-of-00002.safetensors", 400),
        ("model.safetensors.index.json", 2),
        ("tokenizer.json", 3),
        ("tokenizer_config.json", 1),
        ("modeling_evil.py", 1),
        ("pytorch_model.bin", 900),
        ("images/chart.png", 5),
        ("README.md", 2),
    )
    (variant,) = group_variants(listing, {"quantization": {"group_size": 64, "bits": 4}})
    assert variant.format == "mlx" and variant.label == "MLX 4-bit" and variant.bits == 4
    paths = [f.path for f in variant.files]
    assert "modeling_evil.py" not in paths and "pytorch_model.bin" not in paths and "images/chart.png" not in paths
    assert paths[-1] == "config.json"  # last, so the folder is recognised only when complete
    assert variant.weights_size == 900 and variant.size == 909


def test_quantization_names() -> None:
    assert quantization_from_name("Llama-3.2-3B-Instruct-Q4_K_M.gguf") == "Q4_K_M"
    assert quantization_from_name("gemma-3-1b-it-UD-Q4_K_XL.gguf") == "UD-Q4_K_XL"
    assert quantization_from_name("model.bf16.gguf") == "BF16"
    assert quantization_from_name("SmolLM2-135M-Instruct.Q4_1.gguf") == "Q4_1"
    assert quantization_from_name("x-Q8_0-00002-of-00004.gguf") == "Q8_0"
    assert quantization_from_name("no-quant-here.gguf") is None


def test_include_patterns_match_paths_or_names() -> None:
    listing = files(("a/b-Q4_K_M.gguf", 1), ("b-Q8_0.gguf", 2), ("README.md", 3))
    assert [f.path for f in select_files(listing, ["*Q4_K_M*"])] == ["a/b-Q4_K_M.gguf"]
    assert [f.path for f in select_files(listing, ["*.md", "b-Q8_0.gguf"])] == ["b-Q8_0.gguf", "README.md"]
    assert select_files(listing, ["*.safetensors"]) == []
