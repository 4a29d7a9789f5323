"""Fixtures for the store's tests: every test gets its own PARLOUR_HOME and a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.db import Store, open_store

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "parlour-home"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    opened = open_store()
    try:
        yield opened
    finally:
        opened.close()


class ManualClock:
    """A monotonic clock the test moves by hand, so checkpoint timing is exact, not slept for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
