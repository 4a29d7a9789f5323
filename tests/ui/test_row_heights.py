"""RowHeights, the chat view's Fenwick tree of row heights, against a plain list of heights."""

from __future__ import annotations

import random

import pytest

from app.ui.row_heights import ESTIMATE_CHROME_PX, RowHeights, estimated_height


def expected_row_at(heights: list[int], y: int) -> int:
    """The row covering offset y, by walking the list (clamped, -1 when there are no rows)."""
    if not heights:
        return -1
    top = 0
    for row, height in enumerate(heights):
        if y < top + height:
            return row
        top += height
    return len(heights) - 1


def check(tree: RowHeights, heights: list[int]) -> None:
    assert len(tree) == len(heights)
    assert [tree[row] for row in range(len(heights))] == heights
    assert [tree.top(row) for row in range(len(heights) + 1)] == [sum(heights[:row]) for row in range(len(heights) + 1)]
    assert tree.total() == sum(heights)
    for y in {
        -5,
        0,
        1,
        sum(heights) - 1,
        sum(heights),
        sum(heights) + 50,
        *(sum(heights[:r]) for r in range(len(heights))),
    }:
        assert tree.row_at(y) == expected_row_at(heights, y), y


def test_an_empty_list_has_no_rows() -> None:
    tree = RowHeights()
    check(tree, [])
    assert tree.row_at(0) == -1 and tree.row_at(100) == -1


def test_offsets_and_lookups_of_a_small_list() -> None:
    tree = RowHeights([10, 20, 30])
    assert [tree.top(row) for row in range(4)] == [0, 10, 30, 60]
    assert [tree.row_at(y) for y in (0, 9, 10, 29, 30, 59, 60, 1000, -1)] == [0, 0, 1, 1, 2, 2, 2, 2, 0]
    tree.set(1, 5)
    assert [tree.top(row) for row in range(4)] == [0, 10, 15, 45]
    assert tree.row_at(14) == 1 and tree.row_at(15) == 2


@pytest.mark.parametrize("seed", range(8))
def test_every_change_keeps_the_tree_equal_to_the_list(seed: int) -> None:
    rng = random.Random(seed)
    heights = [rng.randint(1, 400) for _ in range(rng.randint(0, 40))]
    tree = RowHeights(heights)
    check(tree, heights)
    for _ in range(200):
        operation = rng.choice(["set", "append", "insert", "insert_end", "remove", "reset"])
        if operation == "set" and heights:
            row, height = rng.randrange(len(heights)), rng.randint(1, 400)
            tree.set(row, height)
            heights[row] = height
        elif operation == "append":
            height = rng.randint(1, 400)
            tree.append(height)
            heights.append(height)
        elif operation in ("insert", "insert_end"):
            row = len(heights) if operation == "insert_end" else rng.randint(0, len(heights))
            new = [rng.randint(1, 400) for _ in range(rng.randint(1, 5))]
            tree.insert(row, new)
            heights[row:row] = new
        elif operation == "remove" and heights:
            row = rng.randrange(len(heights))
            count = rng.randint(1, len(heights) - row)
            tree.remove(row, count)
            del heights[row : row + count]
        elif operation == "reset":
            heights = [rng.randint(1, 400) for _ in range(rng.randint(0, 30))]
            tree.reset(heights)
        check(tree, heights)


def test_setting_the_same_height_changes_nothing() -> None:
    tree = RowHeights([7, 8, 9])
    tree.set(2, 9)
    check(tree, [7, 8, 9])


def test_the_estimate_grows_with_lines_and_wrapping() -> None:
    one_line = estimated_height("Hello.", 80, 16.0)
    assert one_line == ESTIMATE_CHROME_PX + 16
    assert estimated_height("a\nb\nc", 80, 16.0) == ESTIMATE_CHROME_PX + 48  # three lines
    assert estimated_height("x" * 200, 80, 16.0) == ESTIMATE_CHROME_PX + 48  # one line wrapped twice
