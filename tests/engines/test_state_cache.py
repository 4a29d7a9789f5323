"""StateCache: longest-prefix lookup, redundant prefixes dropped, least recently used evicted under a byte budget."""

from __future__ import annotations

from engines.prompt_cache import StateCache, common_prefix


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([5], [6]) == 0


def test_the_longest_shared_prefix_wins() -> None:
    cache = StateCache(1000)
    cache.put([1, 2, 3], "abc", 10)
    cache.put([1, 9, 9, 9], "a999", 10)
    shared, entry = cache.best_match([1, 2, 3, 4])
    assert shared == 3 and entry is not None and entry.state == "abc"
    shared, entry = cache.best_match([1, 9, 9])
    assert shared == 3 and entry is not None and entry.state == "a999"
    assert cache.best_match([7]) == (0, None)


def test_a_state_that_extends_a_saved_one_replaces_it() -> None:
    cache = StateCache(1000)
    cache.put([1, 2], "short", 10)
    cache.put([1, 2, 3], "long", 20)
    assert len(cache) == 1 and cache.nbytes == 20
    assert cache.best_match([1, 2])[1].state == "long"  # type: ignore[union-attr]


def test_the_least_recently_used_goes_first_when_over_budget() -> None:
    cache = StateCache(30)
    cache.put([1], "one", 10)
    cache.put([2], "two", 10)
    cache.put([3], "three", 10)
    cache.best_match([1])  # used: now the newest
    cache.put([4], "four", 10)
    assert cache.nbytes == 30
    assert cache.best_match([2]) == (0, None)  # evicted
    assert cache.best_match([1])[1] is not None and cache.best_match([4])[1] is not None


def test_what_cannot_fit_at_all_is_not_kept_and_clear_empties() -> None:
    cache = StateCache(10)
    cache.put([1, 2], "huge", 11)
    cache.put([], "empty", 1)
    assert len(cache) == 0 and cache.nbytes == 0
    cache.put([1], "x", 5)
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
    assert StateCache(0).best_match([1]) == (0, None)
