"""Models worth getting next: a small curated list, judged by the fit estimate for this machine.

The list ships in resources/recommended_models.json: per memory tier a handful of instruct
models, each as an MLX repository (mlx-community, 4-bit) and a GGUF repository and file
(bartowski, Q4_K_M), with the shape and weight sizes the fit estimate needs. Showing them
needs no network: the badge is fit.judge_fit on those numbers and this machine's budget.
Only a download asks the Hub (for the real file list, sizes and checksums), when the person
clicks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from app.library.downloads import DownloadJob
from app.library.errors import LibraryError, explain
from app.library.fit import FitVerdict, MemoryBudget, ModelShape, judge_fit
from app.library.model_page import ModelPage
from app.library.variants import RemoteFile, Variant, files_from_siblings, group_variants, select_files

RECOMMENDATIONS_FILE = files("resources") / "recommended_models.json"
FORMATS = ("mlx", "gguf")
GIB = 1024**3
# Order of the badges, best first: a model that fits comes before one that needs a shorter context.
BADGE_ORDER = ("Fits", "Fits with context", "Partial GPU offload", "Unknown", "Too large")


@dataclass(frozen=True)
class RecommendedVariant:
    """One way to get a recommended model: an MLX folder or one GGUF file, with its sizes from the list."""

    format: str  # "mlx" or "gguf"
    repo_id: str
    label: str  # "MLX 4-bit", "Q4_K_M"
    file: str | None  # GGUF: the one file to download; MLX: None (the whole MLX folder)
    weights_bytes: int
    download_bytes: int

    @property
    def engine(self) -> str:
        return "mlx" if self.format == "mlx" else "llamacpp"


@dataclass(frozen=True)
class Recommendation:
    key: str
    name: str
    tier_gb: int
    description: str
    licence: str
    parameters: int
    context_length: int
    shape: ModelShape
    variants: tuple[RecommendedVariant, ...]
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def variant(self, fmt: str) -> RecommendedVariant | None:
        return next((v for v in self.variants if v.format == fmt), None)


@dataclass(frozen=True)
class Suggestion:
    """A recommendation as shown on this machine: the variant for its platform, and its fit badge."""

    recommendation: Recommendation
    variant: RecommendedVariant
    verdict: FitVerdict

    @property
    def name(self) -> str:
        return self.recommendation.name

    @property
    def download_bytes(self) -> int:
        return self.variant.download_bytes

    @property
    def fits(self) -> bool:
        return self.verdict.badge.startswith("Fits")


# --- the list ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_recommendations() -> tuple[Recommendation, ...]:
    """The curated list shipped with Parlour (read once)."""
    return parse_recommendations(RECOMMENDATIONS_FILE.read_text(encoding="utf-8"))


def parse_recommendations(text: str) -> tuple[Recommendation, ...]:
    """Recommendations from the JSON's text; a ValueError names the first thing missing or wrong."""
    document = json.loads(text)
    tiers = {int(t["memory_gb"]) for t in document["tiers"]}
    found = []
    for entry in document["models"]:
        key = entry.get("key", "?")
        try:
            found.append(_recommendation(entry, tiers))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"recommended_models.json: the model '{key}' is incomplete or wrong ({err!r}).") from None
    keys = [r.key for r in found]
    if len(set(keys)) != len(keys):
        raise ValueError("recommended_models.json: two models share a key.")
    return tuple(found)


def _recommendation(entry: dict[str, Any], tiers: set[int]) -> Recommendation:
    shape = entry["shape"]
    numbers = [shape[k] for k in ("layers", "heads", "kv_heads", "head_dim", "embedding", "feed_forward", "vocab")]
    if not all(isinstance(n, int) and n > 0 for n in numbers):
        raise ValueError("every number of the shape must be a positive integer")
    layers, heads, kv_heads, head_dim, embedding, feed_forward, vocab = numbers
    if entry["tier_gb"] not in tiers:
        raise ValueError(f"tier {entry['tier_gb']} is not one of {sorted(tiers)}")
    for text in ("name", "description", "licence"):
        if not isinstance(entry[text], str) or not entry[text].strip():
            raise ValueError(f"'{text}' must be a sentence")
    sources = entry["sources"]
    if not all(isinstance(sources.get(k), str) and sources[k] for k in ("config", "gguf_size", "mlx_size")):
        raise ValueError("sources must say where the config and both sizes come from")
    return Recommendation(
        key=entry["key"],
        name=entry["name"],
        tier_gb=int(entry["tier_gb"]),
        description=entry["description"],
        licence=entry["licence"],
        parameters=_positive(entry["parameters"]),
        context_length=_positive(entry["context_length"]),
        shape=ModelShape(layers, heads, kv_heads, head_dim, head_dim, embedding, feed_forward, vocab),
        variants=(_variant("mlx", entry["mlx"]), _variant("gguf", entry["gguf"])),
        sources=dict(sources),
    )


def _variant(fmt: str, entry: dict[str, Any]) -> RecommendedVariant:
    repo_id = entry["repo"]
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"'{repo_id}' is not a repository name")
    file = entry.get("file") if fmt == "gguf" else None
    if fmt == "gguf" and not (isinstance(file, str) and file.endswith(".gguf")):
        raise ValueError("a GGUF variant names its .gguf file")
    weights, download = _positive(entry["weights_bytes"]), _positive(entry["download_bytes"])
    if download < weights:
        raise ValueError("the download cannot be smaller than the weights")
    label = entry["label"] if fmt == "mlx" else entry["quantization"]
    return RecommendedVariant(fmt, repo_id, str(label), file, weights, download)


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{value!r} is not a positive integer")
    return value


# --- for this machine -------------------------------------------------------------------------------------


def machine_tier(total_memory: int | None, tiers: tuple[int, ...] = (8, 16, 32, 64)) -> int:
    """The biggest tier this much memory reaches ("16 GB" machines report a little under 16 GiB)."""
    if not total_memory:
        return tiers[0]
    reached = [t for t in tiers if total_memory >= t * GIB * 0.9]
    return max(reached) if reached else tiers[0]


def suggest(
    budget: MemoryBudget,
    formats: tuple[str, ...],
    context: int,
    tier: int,
    recommendations: tuple[Recommendation, ...] | None = None,
) -> list[Suggestion]:
    """Every recommendation in the first of `formats` it comes in, judged at `context`; best first.

    Best first: what fits before what does not; then this machine's tier, the tiers below it
    (largest first: the best model that fits), then the ones above; then the list's own order.
    """
    chosen = recommendations if recommendations is not None else load_recommendations()
    found: list[tuple[tuple[int, tuple[int, int], int], Suggestion]] = []
    for rec in chosen:
        variant = next((v for fmt in formats if (v := rec.variant(fmt)) is not None), None)
        if variant is None:
            continue
        verdict = judge_fit(variant.engine, rec.shape, variant.weights_bytes, context, budget)
        rank = (_badge_rank(verdict.badge), _tier_rank(rec.tier_gb, tier), len(found))
        found.append((rank, Suggestion(rec, variant, verdict)))
    return [suggestion for _rank, suggestion in sorted(found, key=lambda item: item[0])]


def _badge_rank(badge: str) -> int:
    if badge.startswith("Fits with context"):
        return 1
    return BADGE_ORDER.index(badge) if badge in BADGE_ORDER else len(BADGE_ORDER)


def _tier_rank(model_tier: int, machine: int) -> tuple[int, int]:
    return (0, machine - model_tier) if model_tier <= machine else (1, model_tier - machine)


@dataclass(frozen=True)
class Machine:
    """What the badges are judged against: this computer's budget and tier, and the context the person chose."""

    budget: MemoryBudget
    tier: int
    context: int


def this_machine() -> Machine:
    """The computer Parlour runs on (no network: memory, the GPU, the settings store). Call it off the GUI thread."""
    from app.library.fit import machine_budget
    from engines.hardware import memory

    return Machine(machine_budget(), machine_tier(memory()[0]), chosen_fit_context())


def chosen_fit_context() -> int:
    """The context length the person chose for the fit badges, or the default."""
    from app.library.settings import fit_context
    from app.store.settings import Setting, default

    try:
        return fit_context()
    except LibraryError:  # the store cannot be opened: the badges still work at the default
        return int(default(Setting.FIT_CONTEXT))


# --- showing one, downloading one -------------------------------------------------------------------------


@dataclass
class CuratedPage(ModelPage):
    """A model page built from the curated list alone: what the browser shows before any search."""

    suggestion: Suggestion | None = None


def curated_page(suggestion: Suggestion) -> CuratedPage:
    rec, chosen = suggestion.recommendation, suggestion.variant
    if chosen.format == "gguf":
        files_ = [RemoteFile(chosen.file or "model.gguf", chosen.weights_bytes)]
        variant = Variant(f"gguf:{chosen.label}", "gguf", chosen.label, tuple(files_), quantization=chosen.label)
    else:
        files_ = [
            RemoteFile("model.safetensors", chosen.weights_bytes),
            RemoteFile("config.json", chosen.download_bytes - chosen.weights_bytes),
        ]
        variant = Variant("mlx", "mlx", chosen.label, tuple(files_), quantization="4-bit", bits=4)
    return CuratedPage(
        repo_id=chosen.repo_id,
        commit="",
        license=rec.licence,
        architecture=None,
        parameter_count=rec.parameters,
        context_length=rec.context_length,
        gated=False,
        card_excerpt=f"{rec.name}: {rec.description}\n\nRecommended by Parlour for computers with "
        f"{rec.tier_gb} GB of memory or more. Sizes and fit come from Parlour's own list; "
        "downloading asks the Hugging Face Hub for the files.",
        downloads=0,
        likes=0,
        files=files_,
        variants=[variant],
        shapes={chosen.format: rec.shape},
        suggestion=suggestion,
    )


def plan_recommended_download(
    variant: RecommendedVariant, models_root: Path, token: str | None = None, timeout: Any = None
) -> DownloadJob:
    """Ask the Hub for the variant's files (sizes, checksums, commit): one request, with a short timeout."""
    from app.library.hub_connection import hub_api, interactive_timeout, token_arg

    try:
        info = hub_api().model_info(
            variant.repo_id,
            files_metadata=True,
            token=token_arg(token),
            timeout=timeout if timeout is not None else interactive_timeout(),
        )
    except Exception as exc:
        raise explain(exc, variant.repo_id, with_token=bool(token)) from None
    listed = [f for f in files_from_siblings(info.siblings) if f.path != ".gitattributes"]
    if variant.file is not None:
        chosen = select_files(listed, [variant.file])
    else:
        chosen = next((list(v.files) for v in group_variants(listed) if v.format == "mlx"), [])
    if not chosen:
        raise LibraryError(
            f"{variant.repo_id} no longer has the {variant.label} files Parlour recommends; search the Hub for it."
        )
    label = f"{variant.repo_id} ({variant.label})"
    return DownloadJob(variant.repo_id, info.sha or "main", chosen, models_root, token, label=label)
