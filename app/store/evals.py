"""Evaluation sets and runs in the store.

Sets are kept as their JSONL (checked before they are saved, so an invalid pattern or schema never
gets in). A run keeps a copy of its set, its parameters, and each model's reply, verdicts and stats
per case, written as each case finishes: a run that is stopped or interrupted keeps what finished.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.timestamps import now_text


@dataclass(frozen=True)
class StoredRun:
    id: int
    set_name: str
    set_jsonl: str
    parameters: dict[str, Any]
    started_at: str
    finished_at: str | None


def save_set(store: Store, name: str, jsonl: str) -> None:
    """Keep (or replace) a set under its name; the caller has checked the JSONL."""
    stamp = now_text()
    with store.transaction() as db:
        db.execute(
            "INSERT INTO eval_sets (name, jsonl, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET jsonl = excluded.jsonl, updated_at = excluded.updated_at",
            (name, jsonl, stamp, stamp),
        )


def set_names(store: Store) -> list[str]:
    return [row[0] for row in store.read("SELECT name FROM eval_sets ORDER BY name COLLATE NOCASE")]


def set_jsonl(store: Store, name: str) -> str:
    rows = store.read("SELECT jsonl FROM eval_sets WHERE name = ?", (name,))
    if not rows:
        raise NotFoundError(f"There is no evaluation set called '{name}'; `parlour eval list` shows them.")
    return str(rows[0][0])


def start_run(store: Store, set_name: str, jsonl: str, parameters: dict[str, Any]) -> int:
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO eval_runs (set_name, set_jsonl, parameters, started_at) VALUES (?, ?, ?, ?)",
            (set_name, jsonl, json.dumps(parameters), now_text()),
        )
        return int(cursor.lastrowid or 0)


def add_result(store: Store, run_id: int, result: Any) -> None:
    """One model's answer to one case (an app.evals.runner.CaseResult)."""
    verdicts = [{"check": v.check.to_dict(), "passed": v.passed, "detail": v.detail} for v in result.verdicts]
    with store.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO eval_results (run_id, model, case_id, reply, error, verdicts, stats) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                result.model,
                result.case,
                result.reply,
                result.error,
                json.dumps(verdicts),
                json.dumps(asdict(result.stats)),
            ),
        )


def finish_run(store: Store, run_id: int) -> None:
    with store.transaction() as db:
        db.execute("UPDATE eval_runs SET finished_at = ? WHERE id = ?", (now_text(), run_id))


def runs(store: Store, set_name: str | None = None) -> list[StoredRun]:
    where, args = ("WHERE set_name = ?", (set_name,)) if set_name else ("", ())
    rows = store.read(f"SELECT * FROM eval_runs {where} ORDER BY id", args)
    return [
        StoredRun(
            r["id"], r["set_name"], r["set_jsonl"], json.loads(r["parameters"]), r["started_at"], r["finished_at"]
        )
        for r in rows
    ]


def results(store: Store, run_id: int) -> list[dict[str, Any]]:
    rows = store.read("SELECT * FROM eval_results WHERE run_id = ? ORDER BY rowid", (run_id,))
    return [
        {
            "model": r["model"],
            "case": r["case_id"],
            "reply": r["reply"],
            "error": r["error"],
            "verdicts": json.loads(r["verdicts"]),
            "stats": json.loads(r["stats"]),
        }
        for r in rows
    ]
