"""`parlour eval`: run an evaluation set over models and print the scoreboard.

    parlour eval list                                  # the sets Parlour has (the starter set)
    parlour eval run SET --models A,B [--json]         # SET: starter, or a .jsonl file
    parlour eval export SET [-o FILE]                  # the set as JSONL

Models are named as `parlour models` lists them, as paths, or as remote:NAME/MODEL. Replies are
greedy, with the same parameters and seed for every model (shown with the scoreboard).
"""

from __future__ import annotations

import argparse
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
    export = actions.add_parser("export", help="write a set as JSONL")
    export.add_argument("set")
    export.add_argument("-o", "--output", help="the file to write (default: standard output)")
    parser.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from app.evals.checks import EvalSetError
    from app.evals.sets import starter_set, to_jsonl

    if args.action == "list":
        starter = starter_set()
        print(f"{starter.name}  {len(starter.cases)} cases, {starter.checks_total} checks  {starter.description}")
        return EXIT_OK
    try:
        evals = _read_set(args.set)
    except (EvalSetError, OSError) as err:
        return fail(str(err) if isinstance(err, EvalSetError) else f"Cannot read {args.set}: {err}", EXIT_BAD_INPUT)
    if args.action == "export":
        if args.output:
            Path(args.output).write_text(to_jsonl(evals), encoding="utf-8")
        else:
            sys.stdout.write(to_jsonl(evals))
        return EXIT_OK
    return _run(evals, args)


def _read_set(name: str):  # noqa: ANN202 - app.evals.sets.EvalSet
    from app.evals.sets import STARTER_SET, parse_jsonl, starter_set

    if name == STARTER_SET:
        return starter_set()
    path = Path(name)
    if not path.is_file():
        from app.evals.checks import EvalSetError

        raise EvalSetError(f"There is no set called '{name}': give starter or a .jsonl file.")
    if path.stat().st_size > 50_000_000:
        from app.evals.checks import EvalSetError

        raise EvalSetError(f"{path.name} is larger than 50 MB.")
    return parse_jsonl(path.read_text(encoding="utf-8", errors="replace"), path.stem)


def _run(evals, args: argparse.Namespace) -> int:  # noqa: ANN001
    from app.cli.chat_setup import locate_model
    from app.evals.runner import EVAL_PARAMS, ModelUnderTest, run_set, scoreboard
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
    results = []
    for result in run_set(evals, models):
        results.append(result)
        if args.json:
            print(json.dumps(_case_line(result)), flush=True)
        else:
            mark = "failed" if result.error else f"{result.passed}/{len(result.verdicts)}"
            print(f"{printable(result.model)}  {printable(result.case)}  {mark}", file=sys.stderr, flush=True)
    board = scoreboard(evals, results)
    settings = {"temperature": EVAL_PARAMS.temperature, "max_tokens": EVAL_PARAMS.max_tokens, "seed": EVAL_PARAMS.seed}
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
