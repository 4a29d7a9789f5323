"""Hypothesis settings for the fuzz tests: a short run under `make test`, a long one under `make fuzz`.

The short profile ("fuzz-ci") replays the kept corpus read-only, so `make test` never writes into
the repository; the long one ("long", chosen with `--hypothesis-profile=long` or PARLOUR_FUZZ=long)
runs many more examples and saves what fails into tests/fuzz/corpus/hypothesis/.

The tests take their settings from here explicitly (`fuzz_settings`), so a profile loaded for the
rest of the suite (Hypothesis loads its own "ci" profile on CI machines) does not change them.
Per-example time is bounded by bounds.HARD_SECONDS, not by Hypothesis's deadline, which would
make a slow machine fail.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

CORPUS = Path(__file__).resolve().parent / "corpus"
SEEDS = CORPUS / "seeds"
DATABASE = CORPUS / "hypothesis"

SHORT, LONG = "fuzz-ci", "long"
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    SHORT,
    max_examples=25,  # each test sets its own count with `fuzz_settings(examples=...)`
    deadline=None,
    # No shrinking here: a new failure is reported as found (with a blob to replay it), so a failing
    # `make test` stays as short as a passing one; `make fuzz` shrinks it and keeps it in the corpus.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target),
    derandomize=False,
    print_blob=True,
    database=ReadOnlyDatabase(DirectoryBasedExampleDatabase(DATABASE)),
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    LONG,
    max_examples=20_000,
    deadline=None,
    derandomize=False,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(DATABASE),
    suppress_health_check=_SUPPRESSED,
    phases=tuple(Phase),
)

_active = LONG if os.environ.get("PARLOUR_FUZZ") == "long" else SHORT


def use(name: str) -> None:
    """Choose the profile before the test modules are imported (conftest's pytest_configure)."""
    global _active
    if name in (SHORT, LONG):
        _active = name


def is_long() -> bool:
    return _active == LONG


def fuzz_settings(examples: int, long_examples: int | None = None) -> settings:
    """Settings for one fuzz test: `examples` under `make test`, many more under `make fuzz`
    (PARLOUR_FUZZ_EXAMPLES, when set, gives every test of the long run that many)."""
    profile = settings.get_profile(_active)
    if not is_long():
        return settings(profile, max_examples=examples)
    count = int(os.environ.get("PARLOUR_FUZZ_EXAMPLES") or long_examples or profile.max_examples)
    return settings(profile, max_examples=count)
