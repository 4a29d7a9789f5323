"""`parlour eval`: run an evaluation set over models and print the scoreboard.

    parlour eval list                                  # the starter set and the sets you imported
    parlour eval import FILE.jsonl [--name NAME]       # check a set and keep it in the store
    parlour eval run SET --models A,B [--json]         # SET: a kept set's name, starter, or a .jsonl file
    parlour eval runs [SET] [--json]                   # earlier runs and their scoreboards
    parlour eval report RUN -o FOLDER                  # a run as CSV, Markdown, JSON and two PNG charts
    parlour eval export SET [-o FILE]                  # the set as JSONL

Every run is kept in the store (the set as it was, the parameters, each reply and check), so a
new model can be compared with the runs of others on the same set.

Models are named as `parlour models` lists them, as paths, or as remote:NAME/MODEL. Replies are
greedy, with the same parameters and seed for every model (shown with the scoreboard).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from app.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK
from app.cli.terminal_text import fail, printable


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the evaluation sets")
    run = actions.add_parser("run", help="run a set over models and print the scoreboard")
    run.add_argument("set", help="starter, or a .jsonl file")
    run.add_argument("--models", required=True, help="comma-separated model names, paths or remote:NAME/MODEL")
    run.add_argument("--json", action="store_true", help="one JSON line per case, then the scoreboard")
    imported = actions.add_parser("import", help="check a set (JSONL) and keep it")
    imported.add_argument("file")
    imported.add_argument("--name", help="the name to keep it under (default: its own, or the file's)")
    earlier = actions.add_parser("runs", help="earlier runs and their scoreboards")
    earlier.add_argument("set", nargs="?")
    earlier.add_argument("--json", action="store_true")
    report = actions.add_parser("report", help="write a kept run as CSV, Markdown, JSON and PNG charts")
    report.add_argument("run", type=int)
    report.add_argument("-o", "--output", required=True, help="the folder to write the files into")
    export = actions.add_parser("export", help="write a set as JSONL")
    export.add_argument("set")
    export.add_argument("-o", "--output", help="the file to write (default: standard output)")
    parser.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from app.cli.store_access import opened_store
    from app.evals.checks import EvalSetError
    from app.evals.sets import starter_set, to_jsonl
    from app.store import evals as kept

    with opened_store() as store:
        if args.action == "list":
            for evals in [starter_set(), *(_read_set(name, store) for name in kept.set_names(store))]:
                print(f"{evals.name}  {len(evals.cases)} cases, {evals.checks_total} checks  {evals.description}")
            return EXIT_OK
        if args.action == "runs":
            return _print_runs(store, args.set, args.json)
        if args.action == "report":
            return _write_report(store, args.run, Path(args.output))
        try:
            evals = _read_set(args.file if args.action == "import" else args.set, store)
        except (EvalSetError, OSError) as err:
            return fail(str(err) if isinstance(err, EvalSetError) else f"Cannot read it: {err}", EXIT_BAD_INPUT)
        if args.action == "import":
            name = (args.name or evals.name).strip()
            kept.save_set(store, name, to_jsonl(dataclasses.replace(evals, name=name)))
            print(f"Kept {name}: {len(evals.cases)} cases, {evals.checks_total} checks.")
            return EXIT_OK
        if args.action == "run":
            return _run(evals, args, store)
    if args.action == "export":  # the store is closed: writing the file needs none of it
        if args.output:
            Path(args.output).write_text(to_jsonl(evals), encoding="utf-8")
        else:
            sys.stdout.write(to_jsonl(evals))
        return EXIT_OK
    return EXIT_OK


def _read_set(name: str, store):  # noqa: ANN001, ANN202 - a Store; app.evals.sets.EvalSet
    from app.evals.sets import STARTER_SET, parse_jsonl, starter_set
    from app.store import evals as kept

    if name == STARTER_SET:
        return starter_set()
    if name in kept.set_names(store):
        return parse_jsonl(kept.set_jsonl(store, name), name)
    path = Path(name)
    if not path.is_file():
        from app.evals.checks import EvalSetError

        raise EvalSetError(f"There is no set called '{name}': give starter or a .jsonl file.")
    if path.stat().st_size > 50_000_000:
        from app.evals.checks import EvalSetError

        raise EvalSetError(f"{path.name} is larger than 50 MB.")
    return parse_jsonl(path.read_text(encoding="utf-8", errors="replace"), path.stem)


def _run(evals, args: argparse.Namespace, store) -> int:  # noqa: ANN001
    from app.cli.chat_setup import locate_model
    from app.evals.runner import EVAL_PARAMS, ModelUnderTest, run_parameters, run_set, scoreboard
    from engines.base import EngineError

    models = []
    for ref in (part.strip() for part in args.models.split(",")):
        if not ref:
            continue
        try:
            path, label = locate_model(ref)
        except EngineError as err:
            return fail(str(err), EXIT_BAD_INPUT)
        models.append(ModelUnderTest(label or ref, str(path)))
    if not models:
        return fail("Name at least one model with --models.", EXIT_BAD_INPUT)
    from app.evals.sets import to_jsonl
    from app.store import evals as kept

    settings = run_parameters(EVAL_PARAMS)
    run_id = kept.start_run(store, evals.name, to_jsonl(evals), settings)
    results = []
    for result in run_set(evals, models):
        results.append(result)
        kept.add_result(store, run_id, result)  # as each case finishes: an interrupted run keeps them
        if args.json:
            print(json.dumps(_case_line(result)), flush=True)
        else:
            mark = "failed" if result.error else f"{result.passed}/{len(result.verdicts)}"
            print(f"{printable(result.model)}  {printable(result.case)}  {mark}", file=sys.stderr, flush=True)
    kept.finish_run(store, run_id)
    board = scoreboard(evals, results)
    if args.json:
        print(json.dumps({"set": evals.name, "parameters": settings, "scoreboard": board}))
    else:
        _print_board(evals.name, settings, board)
    return EXIT_OK


def _case_line(result) -> dict[str, object]:  # noqa: ANN001 - app.evals.runner.CaseResult
    return {
        "model": result.model,
        "case": result.case,
        "reply": result.reply,
        "error": result.error,
        "checks": [{"check": v.check.describe(), "passed": v.passed, "detail": v.detail} for v in result.verdicts],
        "ttft_ms": round(result.stats.ttft_ms, 1),
        "tokens_per_s": round(result.stats.generation_tps, 1),
    }


def _print_board(name: str, settings: dict[str, object], board: list[dict[str, object]]) -> None:
    temperature, most, seed = settings["temperature"], settings["max_tokens"], settings["seed"]
    print(f"Set {name} · temperature {temperature} · max {most} tokens · seed {seed}")
    print(f"{'model':40} {'score':>8} {'TTFT ms':>9} {'tokens/s':>9} {'peak MB':>8}")
    for row in board:
        ttft = row["mean_ttft_ms"] if row["mean_ttft_ms"] is not None else "—"
        speed = row["tokens_per_s"] if row["tokens_per_s"] is not None else "—"
        peak = row["peak_memory_bytes"]
        memory = f"{int(peak) / 1e6:.0f}" if isinstance(peak, int) else "—"
        failed = f"  ({row['failed_cases']} cases failed)" if row["failed_cases"] else ""
        model = printable(str(row["model"]))[:40]
        print(f"{model:40} {row['score']!s:>8} {ttft!s:>9} {speed!s:>9} {memory:>8}{failed}")


def _print_runs(store, set_name: str | None, as_json: bool) -> int:  # noqa: ANN001 - a Store
    """Every kept run (of one set, or all), oldest first, with its scoreboard."""
    from app.evals.runner import stored_scoreboard
    from app.store import evals as kept

    for run in kept.runs(store, set_name):
        board = stored_scoreboard(run.set_jsonl, run.set_name, kept.results(store, run.id))
        if as_json:
            print(
                json.dumps(
                    {
                        "run": run.id,
                        "set": run.set_name,
                        "started_at": run.started_at,
                        "parameters": run.parameters,
                        "scoreboard": board,
                    }
                )
            )
        else:
            print(f"Run {run.id} · {run.started_at}")
            _print_board(run.set_name, run.parameters, board)
    return EXIT_OK


def _write_report(store, run_id: int, folder: Path) -> int:  # noqa: ANN001 - a Store
    """The run's CSV, Markdown and JSON, and its two charts as PNG, into `folder`."""
    import os

    from app.evals.report import kept_run
    from app.store import evals as kept

    run = next((r for r in kept.runs(store) if r.id == run_id), None)
    if run is None:
        return fail(f"There is no run {run_id}; `parlour eval runs` lists them.", EXIT_BAD_INPUT)
    report = kept_run(run, kept.results(store, run.id))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # pictures only: no window, no display needed
    from PySide6.QtGui import QGuiApplication

    from app.ui.eval_report_export import write_report

    _app = QGuiApplication.instance() or QGuiApplication(["parlour"])
    names = write_report(folder, report)
    print(f"Wrote run {run.id} to {folder}: {', '.join(names)}")
    return EXIT_OK
