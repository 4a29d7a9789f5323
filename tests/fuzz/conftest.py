"""Fuzz tests: Hypothesis profiles (profiles.py) and the inputs several tests start from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz import profiles


def pytest_configure(config: pytest.Config) -> None:
    # `--hypothesis-profile=long` (what `make fuzz` passes) switches these tests to the long run.
    try:
        name = config.getoption("hypothesis_profile")
    except ValueError:  # the Hypothesis plugin is not loaded
        name = None
    if name:
        profiles.use(name)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder the examples of one test module write their files into, reused between examples."""
    yield tmp_path_factory.mktemp("fuzz")
