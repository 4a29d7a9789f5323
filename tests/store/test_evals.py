"""Evaluation sets and runs in a real SQLite store: a set kept and replaced by name, a run's results kept as
each case finishes and read back whole, an unfinished run marked as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.evals.checks import Verdict, parse_check
from app.evals.runner import CaseResult, stored_scoreboard
from app.evals.sets import starter_set, to_jsonl
from app.store import evals as kept
from app.store.db import open_store
from app.store.errors import NotFoundError
from engines.base import GenerationStats


def test_sets_are_kept_by_name_and_replaced(tmp_path: Path) -> None:
    store = open_store(tmp_path / "parlour.db")
    kept.save_set(store, "Mine", "first")
    kept.save_set(store, "mine", "second")  # names are the same set whatever their case
    assert kept.set_names(store) == ["Mine"] and kept.set_jsonl(store, "MINE") == "second"
    with pytest.raises(NotFoundError, match="no evaluation set called 'other'"):
        kept.set_jsonl(store, "other")
    store.close()


def test_a_runs_results_come_back_after_reopening(tmp_path: Path) -> None:
    starter = starter_set()
    store = open_store(tmp_path / "parlour.db")
    run = kept.start_run(store, starter.name, to_jsonl(starter), {"seed": 0})
    case = starter.cases[3]
    check = parse_check({"type": "contains_all", "words": ["Paris"]}, "c")
    stats = GenerationStats(prompt_tokens=30, generated_tokens=9, ttft_ms=120.0, generation_tps=150.0)
    kept.add_result(store, run, CaseResult("m", case.id, "Paris.", (Verdict(check, True),), stats))
    kept.add_result(
        store,
        run,
        CaseResult(
            "m", starter.cases[0].id, "", (Verdict(check, False, "no reply"),), GenerationStats(), "It crashed."
        ),
    )
    store.close()
    again = open_store(tmp_path / "parlour.db")
    (stored,) = kept.runs(again, starter.name)
    assert stored.finished_at is None  # stopped before the end: what finished is kept
    rows = kept.results(again, stored.id)
    assert [r["case"] for r in rows] == [case.id, starter.cases[0].id]
    assert rows[0]["stats"]["generation_tps"] == 150.0 and rows[1]["error"] == "It crashed."
    (board,) = stored_scoreboard(stored.set_jsonl, stored.set_name, rows)
    # Counted against the set: both cases have two checks each.
    assert (board["passed"], board["checks"], board["failed_cases"]) == (1, 4, 1)
    kept.finish_run(again, stored.id)
    assert kept.runs(again)[0].finished_at is not None
    again.close()
