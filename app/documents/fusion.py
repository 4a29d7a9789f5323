"""Reciprocal rank fusion: several rankings of the same things made into one, by rank alone.

BM25 scores and cosines live on scales that cannot be added; ranks can. Each ranking gives the thing at
rank r (from 1) the share 1 / (k + r), and the shares add up (Cormack, Clarke and Büttcher, SIGIR 2009,
with their k = 60: a large k keeps one ranking's first place from outweighing agreement between them).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

RRF_K = 60

Item = TypeVar("Item", bound=Hashable)


def reciprocal_rank_fusion(rankings: Iterable[Sequence[Item]], k: int = RRF_K) -> list[tuple[Item, float]]:
    """Every item of the rankings with its fused score, best first. Within one ranking an item counts once
    (its best rank); equal scores keep the order in which the rankings first named the items."""
    scores: dict[Item, float] = {}
    for ranking in rankings:
        seen: set[Item] = set()
        for rank, item in enumerate(ranking, 1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda entry: -entry[1])  # sorted() is stable: ties keep first-named order
