"""Whether the models of a comparison can run at the same time: when the fit estimate says they fit in the
memory budget together, each gets its own engine host and they answer at once; otherwise they answer one
after another, each unloaded before the next loads, so two models are never over the budget together.
The plan carries the sentence the Compare view shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.store.comparisons import ComparedModel
from engines.inspect import human_size
from engines.remote_target import is_remote_ref


@dataclass(frozen=True)
class ComparePlan:
    together: bool
    reason: str  # one sentence, for the view
    needs: tuple[int, ...]  # each model's estimated bytes (0 for a remote model, which uses none here)
    budget: int


def estimated_memory(model: ComparedModel) -> int | None:
    """About how many bytes the model takes once loaded here; 0 for a remote one, None when unknown."""
    from app.library.fit import local_model_memory

    if is_remote_ref(model.path):
        return 0
    engine = (
        model.engine if model.engine in ("llamacpp", "mlx") else ("mlx" if Path(model.path).is_dir() else "llamacpp")
    )
    return local_model_memory(model.path, engine) or None


def memory_budget() -> int:
    """What this machine can give models now (unified memory, free GPU memory, or available RAM)."""
    from app.library.fit import machine_budget

    return machine_budget().fast


def plan_comparison(
    models: Sequence[ComparedModel],
    budget: int | None = None,
    memory_of: Callable[[ComparedModel], int | None] = estimated_memory,
) -> ComparePlan:
    budget = memory_budget() if budget is None else budget
    needs = [memory_of(model) for model in models]
    unknown = [model.name for model, need in zip(models, needs, strict=True) if need is None]
    known = tuple(need or 0 for need in needs)
    total = sum(known)
    if unknown:
        reason = f"One after another: the memory {unknown[0]} needs is unknown, so they are not loaded together."
        return ComparePlan(False, reason, known, budget)
    if total <= budget:
        return ComparePlan(
            True,
            f"At the same time: together they need about {human_size(total)}, and {human_size(budget)} is free.",
            known,
            budget,
        )
    reason = (
        f"One after another, each unloaded before the next: together they need about {human_size(total)}, "
        f"more than the {human_size(budget)} free."
    )
    too_big = [model.name for model, need in zip(models, known, strict=True) if need > budget]
    if too_big:
        reason += f" {too_big[0]} alone needs more than that, so it may not load."
    return ComparePlan(False, reason, known, budget)
