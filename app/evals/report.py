"""A kept run written out as files people open elsewhere: the scoreboard and the cases as CSV, a
Markdown report (scoreboard, then each case's replies side by side with each check's result) and the
whole run as JSON. The pictures (app/ui/eval_charts.py) go beside them as PNG."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

BOARD_COLUMNS = (
    "model",
    "score",
    "passed",
    "checks",
    "failed_cases",
    "mean_ttft_ms",
    "tokens_per_s",
    "peak_memory_bytes",
)


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue()


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def report_files(
    run: dict[str, Any], board: list[dict[str, Any]], rows: list[dict[str, Any]], case_ids: list[str]
) -> dict[str, str]:
    """{file name: text} for a run (`run`: id, set, started_at, parameters)."""
    models = [str(row["model"]) for row in board]
    by_key = {(r["model"], r["case"]): r for r in rows}
    cases_csv: list[list[Any]] = [["case", "model", "passed", "checks", "error", "reply"]]
    for case in case_ids:
        for model in models:
            result = by_key.get((model, case))
            if result is not None:
                verdicts = result["verdicts"]
                passed = sum(1 for v in verdicts if v["passed"])
                cases_csv.append([case, model, passed, len(verdicts), result["error"] or "", result["reply"]])
    return {
        "scoreboard.csv": _csv([list(BOARD_COLUMNS), *[[row.get(c) for c in BOARD_COLUMNS] for row in board]]),
        "cases.csv": _csv(cases_csv),
        "report.md": _markdown(run, board, by_key, models, case_ids),
        "run.json": json.dumps({**run, "scoreboard": board, "results": rows}, indent=1, ensure_ascii=False),
    }


def _markdown(
    run: dict[str, Any],
    board: list[dict[str, Any]],
    by_key: dict[tuple[str, str], dict[str, Any]],
    models: list[str],
    case_ids: list[str],
) -> str:
    settings = ", ".join(f"{k} {v}" for k, v in run["parameters"].items())
    lines = [f"# {run['set']} · run {run['id']}", "", f"{run['started_at']} · {settings}", ""]
    lines += ["| Model | Score | TTFT ms | Tokens/s | Peak MB |", "|---|---:|---:|---:|---:|"]
    for row in board:
        peak = f"{row['peak_memory_bytes'] / 1e6:.0f}" if row["peak_memory_bytes"] else "—"
        lines.append(
            f"| {_cell(str(row['model']))} | {row['score']} | {row['mean_ttft_ms'] or '—'} | "
            f"{row['tokens_per_s'] or '—'} | {peak} |"
        )
    lines += ["", "![Score against speed](score.png)", "", "![Each case](cases.png)", ""]
    for case in case_ids:
        lines += [f"## {case}", "", "| " + " | ".join(_cell(m) for m in models) + " |", "|" + "---|" * len(models)]
        replies, checks = [], []
        for model in models:
            result = by_key.get((model, case))
            replies.append(_cell(result["error"] or result["reply"]) if result else "—")
            marks = [_mark(v) for v in (result or {}).get("verdicts", [])]
            checks.append(_cell("\n".join(marks)) if marks else "—")
        lines += ["| " + " | ".join(replies) + " |", "| " + " | ".join(checks) + " |", ""]
    return "\n".join(lines)


def _mark(verdict: dict[str, Any]) -> str:
    from app.evals.checks import EvalSetError, parse_check

    try:
        what = parse_check(verdict["check"], "report").describe()
    except EvalSetError:
        what = "check"
    detail = f" ({verdict['detail']})" if verdict.get("detail") else ""
    return ("✓ " if verdict["passed"] else "✗ ") + what + detail


def verdict_line(verdict: dict[str, Any]) -> str:
    """One stored verdict as a person reads it: ✓ or ✗, what was checked, and why it failed."""
    return _mark(verdict)


def passed_counts(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """{(model, case): (checks passed, checks)} of stored results, as the case grid draws them."""
    return {
        (str(r["model"]), str(r["case"])): (sum(1 for v in r["verdicts"] if v["passed"]), len(r["verdicts"]))
        for r in rows
    }


@dataclass(frozen=True)
class KeptRun:
    """A run read back from the store with what every view of it needs: its scoreboard and case order."""

    info: dict[str, Any]  # id, set, started_at, parameters: what report_files puts at the top
    board: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    case_ids: list[str]
    cases: tuple[Any, ...]  # the set's EvalCases, as the run kept the set

    @property
    def models(self) -> list[str]:
        return [str(row["model"]) for row in self.board]

    def files(self) -> dict[str, str]:
        return report_files(self.info, self.board, self.rows, self.case_ids)


def kept_run(run: Any, rows: list[dict[str, Any]]) -> KeptRun:
    """`run` (an app.store.evals.StoredRun) and its stored results; EvalSetError when its set cannot be read."""
    from app.evals.runner import stored_scoreboard
    from app.evals.sets import parse_jsonl

    evals = parse_jsonl(run.set_jsonl, run.set_name)
    info = {"id": run.id, "set": run.set_name, "started_at": run.started_at, "parameters": run.parameters}
    board = stored_scoreboard(run.set_jsonl, run.set_name, rows)
    return KeptRun(info, board, rows, [case.id for case in evals.cases], evals.cases)
