"""The recommended models: the shipped list, their fit badges from the fit estimate, the order, and planning a
download of one against the Hub stand-in."""

from __future__ import annotations

import copy
import dataclasses
import json
from importlib.resources import files
from pathlib import Path

import pytest

from app.library.errors import LibraryError
from app.library.fit import MemoryBudget, judge_fit
from app.library.hub import default_formats
from app.library.recommendations import (
    RecommendedVariant,
    load_recommendations,
    machine_tier,
    parse_recommendations,
    plan_recommended_download,
    suggest,
)
from tests.support.fake_hub import FakeHub
from tests.support.fake_hub_repos import GGUF_REPO, MLX_REPO

GB = 1_000_000_000
GIB = 1024**3
SHIPPED = files("resources") / "recommended_models.json"
SMALL_CPU = MemoryBudget("cpu", 6 * GB, 6 * GB, "6.0 GB of available RAM")
BIG_MAC = MemoryBudget("unified", 48 * GB, 60 * GB, "48.0 GB of unified memory for the GPU")


def shipped() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_list_is_valid_and_complete() -> None:
    document = shipped()
    recommendations = load_recommendations()
    assert len(recommendations) == len(document["models"]) >= 12
    tiers = [t["memory_gb"] for t in document["tiers"]]
    assert tiers == [8, 16, 32, 64]
    for tier in tiers:  # a handful per tier
        assert 2 <= sum(r.tier_gb == tier for r in recommendations) <= 6, tier
    for rec, entry in zip(recommendations, document["models"], strict=True):
        shape = rec.shape
        config = entry["sources"]["config"]
        # The shape says where it came from, in numbers that match it.
        for words in (f"{shape.layers} layers", f"{shape.kv_heads} KV heads", f"{shape.key_length} head dim"):
            assert words in config, (rec.key, words)
        assert shape.heads % shape.kv_heads == 0 and shape.vocab > 30_000, rec.key
        assert rec.context_length >= 8192 and rec.description.endswith(".") and rec.licence
        mlx, gguf = rec.variant("mlx"), rec.variant("gguf")
        assert mlx is not None and gguf is not None
        assert mlx.repo_id.startswith("mlx-community/") and mlx.repo_id.endswith("-4bit") and mlx.file is None
        assert gguf.repo_id.startswith("bartowski/") and gguf.file and gguf.file.endswith("-Q4_K_M.gguf")
        assert gguf.label == "Q4_K_M" and mlx.label == "MLX 4-bit"
        # Sizes that fit the parameter count: 4-bit MLX is about 4.5 bits a weight, Q4_K_M about 4.8-5.3.
        assert 0.5 <= mlx.weights_bytes / rec.parameters <= 0.7, rec.key
        assert 0.55 <= gguf.weights_bytes / rec.parameters <= 0.7, rec.key  # Gemma 3 counts its vision tower
        assert mlx.weights_bytes < mlx.download_bytes < mlx.weights_bytes + 100_000_000
        assert gguf.download_bytes == gguf.weights_bytes
        assert "Q4_K_M" in entry["sources"]["gguf_size"] and entry["sources"]["mlx_size"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda m: m["shape"].pop("kv_heads"), "kv_heads"),
        (lambda m: m["shape"].update(layers=0), "positive"),
        (lambda m: m["gguf"].update(file="model.bin"), ".gguf"),
        (lambda m: m["mlx"].update(download_bytes=1), "smaller than the weights"),
        (lambda m: m.update(tier_gb=12), "tier 12"),
        (lambda m: m["sources"].pop("config"), "sources"),
        (lambda m: m.update(description=" "), "description"),
    ],
)
def test_an_incomplete_entry_is_refused_by_name(change, named: str) -> None:
    document = shipped()
    broken = copy.deepcopy(document)
    change(broken["models"][2])
    with pytest.raises(ValueError) as refused:
        parse_recommendations(json.dumps(broken))
    key = document["models"][2]["key"]
    assert key in str(refused.value) and named in str(refused.value)


@pytest.mark.parametrize("budget", [SMALL_CPU, BIG_MAC], ids=["small-cpu", "big-mac"])
@pytest.mark.parametrize("context", [4096, 32768])
def test_each_badge_is_the_fit_estimates_own_answer(budget: MemoryBudget, context: int) -> None:
    found = suggest(budget, ("mlx", "gguf"), context, 8)
    assert len(found) == len(load_recommendations())
    for suggestion in found:
        variant = suggestion.variant
        expected = judge_fit(variant.engine, suggestion.recommendation.shape, variant.weights_bytes, context, budget)
        assert suggestion.verdict == expected


def test_a_tier_bigger_than_the_machine_is_too_large_and_comes_last() -> None:
    found = suggest(SMALL_CPU, ("gguf",), 8192, machine_tier(8 * GIB))
    badges = {s.recommendation.key: s.verdict.badge for s in found}
    assert badges["llama-3.3-70b"] == "Too large" and badges["qwen3-32b"] == "Too large"
    assert badges["qwen3-4b"] == "Fits" and badges["llama-3.2-1b"] == "Fits"
    ranks = ["Fits", "Fits with context", "Partial GPU offload", "Too large"]
    order = [next(i for i, r in enumerate(ranks) if s.verdict.badge.startswith(r)) for s in found]
    assert order == sorted(order)  # what fits first
    fitting = [s.recommendation.tier_gb for s in found if s.verdict.badge == "Fits"]
    assert fitting[0] == 8  # this machine's tier before the bigger ones that still fit


def test_on_a_big_machine_its_own_tier_comes_first_then_the_ones_below() -> None:
    found = suggest(BIG_MAC, ("mlx", "gguf"), 8192, machine_tier(64 * GIB))
    assert all(s.verdict.badge == "Fits" for s in found)
    tiers = [s.recommendation.tier_gb for s in found]
    assert tiers == sorted(tiers, reverse=True) and tiers[0] == 64
    assert found[0].recommendation.key == "llama-3.3-70b"  # the list's own preference within a tier


@pytest.mark.parametrize("apple_silicon", [True, False], ids=["apple-silicon", "elsewhere"])
def test_mlx_on_apple_silicon_and_gguf_elsewhere(apple_silicon: bool) -> None:
    found = suggest(BIG_MAC, default_formats(apple_silicon=apple_silicon), 8192, 64)
    formats = {s.variant.format for s in found}
    assert formats == ({"mlx"} if apple_silicon else {"gguf"})
    for suggestion in found:
        engine = "mlx" if apple_silicon else "llamacpp"
        assert suggestion.variant.engine == engine and suggestion.verdict.estimate is not None
        assert suggestion.verdict.estimate.engine == engine


def test_a_model_without_the_preferred_format_falls_back_to_the_next() -> None:
    document = shipped()
    document["models"] = document["models"][:1]
    (only,) = parse_recommendations(json.dumps(document))
    without_mlx = dataclasses.replace(only, variants=tuple(v for v in only.variants if v.format == "gguf"))
    (suggestion,) = suggest(BIG_MAC, ("mlx", "gguf"), 8192, 64, (without_mlx,))
    assert suggestion.variant.format == "gguf"
    assert suggest(BIG_MAC, ("mlx",), 8192, 64, (without_mlx,)) == []


@pytest.mark.parametrize(
    ("memory", "tier"),
    [(None, 8), (4 * GIB, 8), (8 * GIB, 8), (int(15.5 * GIB), 16), (16 * GIB, 16), (36 * GIB, 32), (192 * GIB, 64)],
)
def test_the_machine_tier_follows_its_memory(memory: int | None, tier: int) -> None:
    assert machine_tier(memory) == tier


def test_planning_a_recommended_download_asks_the_hub_once(hub: FakeHub, tmp_path: Path) -> None:
    gguf = RecommendedVariant("gguf", GGUF_REPO, "Q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf", 98362432, 98362432)
    job = plan_recommended_download(gguf, tmp_path)
    (file,) = job.files
    assert file.path == "SmolLM2-135M-Instruct.Q4_1.gguf" and file.size == 98362432 and file.sha256
    assert job.commit == hub.repos[GGUF_REPO].sha
    assert hub.request_lines() == [f"GET hub /api/models/{GGUF_REPO}"]

    mlx = RecommendedVariant("mlx", MLX_REPO, "MLX 4-bit", None, 10_000, 20_000)
    paths = [f.path for f in plan_recommended_download(mlx, tmp_path).files]
    assert "model.safetensors" in paths and paths[-1] == "config.json" and "modeling_custom.py" not in paths

    gone = RecommendedVariant("gguf", GGUF_REPO, "Q4_K_M", "SmolLM2-135M-Instruct-Q4_K_M.gguf", 1, 1)
    with pytest.raises(LibraryError, match="no longer has the Q4_K_M files"):
        plan_recommended_download(gone, tmp_path)
