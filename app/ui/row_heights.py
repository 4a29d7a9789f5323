"""Heights of the rows of a virtual list, with fast offsets (a Fenwick tree), and the guess that
stands in for a row's height until it is measured.

The chat view knows the exact height only of rows it has laid out; the others carry an
estimate. Changing one height and finding the row at a y offset both take O(log n), so a
growing last message costs the same in a thread of ten messages or of ten thousand.
"""

from __future__ import annotations

ESTIMATE_CHROME_PX = 64  # header, footer and margins of a message, for rows not measured yet


def estimated_height(text: str, chars_per_line: int, line_px: float) -> int:
    """A cheap guess of a message's height, good enough for the scroll bar until it is measured."""
    lines = text.count("\n") + 1 + len(text) // chars_per_line
    return ESTIMATE_CHROME_PX + int(lines * line_px)


class RowHeights:
    """The height of each row and the Fenwick tree of their sums."""

    def __init__(self, heights: list[int] | None = None) -> None:
        self.reset(heights or [])

    def reset(self, heights: list[int]) -> None:
        self._heights = list(heights)
        n = len(self._heights)
        tree = [0] * (n + 1)
        for i, h in enumerate(self._heights, start=1):
            tree[i] += h
            parent = i + (i & -i)
            if parent <= n:
                tree[parent] += tree[i]
        self._tree = tree

    def __len__(self) -> int:
        return len(self._heights)

    def __getitem__(self, row: int) -> int:
        return self._heights[row]

    def set(self, row: int, height: int) -> None:
        delta = height - self._heights[row]
        if not delta:
            return
        self._heights[row] = height
        i = row + 1
        while i < len(self._tree):
            self._tree[i] += delta
            i += i & -i

    def append(self, height: int) -> None:
        self._heights.append(height)
        i = len(self._heights)
        # The new node covers rows (i - lowbit(i), i]: its own height plus the sums below it.
        self._tree.append(height + self.top(i - 1) - self.top(i - (i & -i)))

    def insert(self, row: int, heights: list[int]) -> None:
        if row == len(self._heights):
            for h in heights:
                self.append(h)
        else:
            self.reset(self._heights[:row] + heights + self._heights[row:])

    def remove(self, row: int, count: int = 1) -> None:
        self.reset(self._heights[:row] + self._heights[row + count :])

    def top(self, row: int) -> int:
        """The y offset of a row: the sum of the heights before it."""
        total, i = 0, row
        while i > 0:
            total += self._tree[i]
            i -= i & -i
        return total

    def total(self) -> int:
        return self.top(len(self._heights))

    def row_at(self, y: int) -> int:
        """The row that covers offset y (clamped to the rows there are); -1 when there are none."""
        n = len(self._heights)
        if n == 0:
            return -1
        if y < 0:
            return 0
        position, remaining = 0, y
        step = 1 << n.bit_length()
        while step:
            nxt = position + step
            if nxt <= n and self._tree[nxt] <= remaining:
                position = nxt
                remaining -= self._tree[nxt]
            step >>= 1
        return min(position, n - 1)
