"""Running an evaluation set over models: each model loaded in turn, each case answered greedily with the
same parameters and seed, each reply judged, and a scoreboard per model.

A model that cannot be loaded is marked failed for every case; a reply that fails (the engine crashed,
the remote endpoint went away) fails its case and the run goes on, loading the model again for the
next case. Stopping (`should_stop`) ends the run after the reply in progress and keeps what finished.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.evals.checks import Verdict, judge
from app.evals.sets import EvalCase, EvalSet
from engines.base import EngineError, GenerationParams, GenerationStats, LoadSettings
from engines.host_client import EngineClient

log = logging.getLogger(__name__)

# Greedy, with nothing that nudges the distribution: every model is asked the same way.
EVAL_PARAMS = GenerationParams(
    temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, max_tokens=256, seed=0
)


def run_parameters(params: GenerationParams = EVAL_PARAMS) -> dict[str, object]:
    """What a kept run records of its parameters, and the scoreboard shows."""
    return {"temperature": params.temperature, "max_tokens": params.max_tokens, "seed": params.seed}


@dataclass(frozen=True)
class ModelUnderTest:
    name: str  # as the scoreboard shows it
    path: str  # what the engine host loads: a file, a folder or a remote: reference


@dataclass(frozen=True)
class CaseResult:
    model: str
    case: str
    reply: str
    verdicts: tuple[Verdict, ...]
    stats: GenerationStats
    error: str | None = None  # the case could not be answered: why

    @property
    def passed(self) -> int:
        return sum(1 for v in self.verdicts if v.passed)


@dataclass
class ModelScore:
    model: str
    checks: int = 0
    passed: int = 0
    failed_cases: int = 0  # cases with no reply (a load failure, a crash)
    ttfts: list[float] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    peak_memory: int = 0

    def add(self, result: CaseResult, checks: int) -> None:
        self.checks += checks
        self.passed += result.passed
        if result.error is not None:
            self.failed_cases += 1
            return
        if result.stats.ttft_ms:
            self.ttfts.append(result.stats.ttft_ms)
        if result.stats.generation_tps:
            self.speeds.append(result.stats.generation_tps)
        self.peak_memory = max(self.peak_memory, result.stats.peak_memory_bytes or 0)

    def summary(self) -> dict[str, object]:
        return {
            "model": self.model,
            "score": f"{self.passed}/{self.checks}",
            "passed": self.passed,
            "checks": self.checks,
            "failed_cases": self.failed_cases,
            "mean_ttft_ms": round(statistics.mean(self.ttfts), 1) if self.ttfts else None,
            "tokens_per_s": round(statistics.median(self.speeds), 1) if self.speeds else None,
            "peak_memory_bytes": self.peak_memory or None,
        }


def run_set(
    evals: EvalSet,
    models: list[ModelUnderTest],
    params: GenerationParams = EVAL_PARAMS,
    should_stop: Callable[[], bool] = lambda: False,
    client_factory: Callable[[], EngineClient] = EngineClient,
) -> Iterator[CaseResult]:
    """Each model's result for each case, as they come."""
    for model in models:
        if should_stop():
            return
        with client_factory() as client:
            yield from _run_model(client, evals, model, params, should_stop)


def _run_model(
    client: EngineClient,
    evals: EvalSet,
    model: ModelUnderTest,
    params: GenerationParams,
    should_stop: Callable[[], bool],
) -> Iterator[CaseResult]:
    loaded = False
    for case in evals.cases:
        if should_stop():
            return
        if not loaded:
            try:
                client.load(model.path, "auto", _load_settings(model.path))
                loaded = True
            except EngineError as err:
                yield _failed(model, case, f"The model could not be loaded: {err}")
                continue
        result = _answer(client, model, case, params)
        if result.error is not None:
            loaded = False  # the engine may be gone: load again for the next case
        yield result


def _answer(client: EngineClient, model: ModelUnderTest, case: EvalCase, params: GenerationParams) -> CaseResult:
    started = time.perf_counter()
    try:
        text, finished = client.generate(case.messages(), params).text()
    except EngineError as err:
        return _failed(model, case, str(err))
    if finished.finish_reason == "error":
        return _failed(model, case, finished.error or "The reply failed.")
    if not finished.stats.ttft_ms:
        finished.stats.ttft_ms = (time.perf_counter() - started) * 1000
    verdicts = tuple(judge(check, text) for check in case.checks)
    return CaseResult(model.name, case.id, text, verdicts, finished.stats)


def _failed(model: ModelUnderTest, case: EvalCase, why: str) -> CaseResult:
    verdicts = tuple(Verdict(check, False, "no reply") for check in case.checks)
    return CaseResult(model.name, case.id, "", verdicts, GenerationStats(), why)


def scoreboard(evals: EvalSet, results: list[CaseResult]) -> list[dict[str, object]]:
    """One summary per model, in the order they ran."""
    checks = {case.id: len(case.checks) for case in evals.cases}
    scores: dict[str, ModelScore] = {}
    for result in results:
        scores.setdefault(result.model, ModelScore(result.model)).add(result, checks[result.case])
    return [score.summary() for score in scores.values()]


def stored_scoreboard(set_jsonl: str, set_name: str, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The scoreboard of a kept run, from its results as the store gives them back."""
    from app.evals.checks import parse_check
    from app.evals.sets import parse_jsonl

    evals = parse_jsonl(set_jsonl, set_name)
    results = []
    for row in rows:
        raw_verdicts = row["verdicts"]
        assert isinstance(raw_verdicts, list)
        verdicts = tuple(
            Verdict(parse_check(v["check"], str(row["case"])), bool(v["passed"]), str(v["detail"]))
            for v in raw_verdicts
        )
        stats = row["stats"]
        assert isinstance(stats, dict)
        results.append(
            CaseResult(
                str(row["model"]),
                str(row["case"]),
                str(row["reply"]),
                verdicts,
                GenerationStats(**stats),
                row["error"] if isinstance(row["error"], str) else None,
            )
        )
    return scoreboard(evals, results)


def _load_settings(path: str) -> LoadSettings:
    """The model's own stored load settings, as a chat loads it (the defaults if they cannot be read)."""
    from app.library.load_choice import effective_load_settings

    try:
        return effective_load_settings(path)
    except (EngineError, OSError) as err:
        log.warning("evaluating %s with the default load settings: %s", path, err)
        return LoadSettings()
