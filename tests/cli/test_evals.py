"""`parlour eval` as a user runs it: the starter set end to end on the starter model, JSON lines then the
scoreboard, a set exported and run again from its file, and bad sets refused with the case named."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from app.evals.sets import starter_set

STARTER = "SmolLM2 135M Instruct (starter)"


def parlour(parlour_cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*parlour_cmd, *args], capture_output=True, text=True, timeout=600)


def test_the_starter_set_end_to_end(parlour_cmd: list[str], tmp_path: Path) -> None:
    listed = parlour(parlour_cmd, "eval", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("starter  7 cases, 13 checks")
    run = parlour(parlour_cmd, "eval", "run", "starter", "--models", STARTER, "--json")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    cases, summary = lines[:-1], lines[-1]
    assert [c["case"] for c in cases] == [case.id for case in starter_set().cases]
    assert all(c["model"] == STARTER and c["reply"] and c["error"] is None for c in cases)
    assert summary["parameters"] == {"temperature": 0.0, "max_tokens": 256, "seed": 0}
    (board,) = summary["scoreboard"]
    assert board["checks"] == 13 and board["passed"] == sum(ch["passed"] for c in cases for ch in c["checks"])
    table = parlour(parlour_cmd, "eval", "run", "starter", "--models", STARTER)
    assert table.returncode == 0 and f"{board['passed']}/13" in table.stdout  # greedy: the same score again
    exported = tmp_path / "mine.jsonl"
    assert parlour(parlour_cmd, "eval", "export", "starter", "-o", str(exported)).returncode == 0
    again = parlour(parlour_cmd, "eval", "run", str(exported), "--models", STARTER, "--json")
    assert json.loads(again.stdout.splitlines()[-1])["scoreboard"][0]["passed"] == board["passed"]


def test_bad_sets_and_models_are_sentences(parlour_cmd: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "dates", "prompt": "p", "checks": [{"type": "regex", "pattern": "(oops"}]}\n')
    refused = parlour(parlour_cmd, "eval", "run", str(bad), "--models", STARTER)
    assert refused.returncode == 2 and "Case 'dates': the regular expression /(oops/ is not valid" in refused.stderr
    missing = parlour(parlour_cmd, "eval", "run", "nosuchset", "--models", STARTER)
    assert missing.returncode == 2 and "There is no set called 'nosuchset'" in missing.stderr
    unknown = parlour(parlour_cmd, "eval", "run", "starter", "--models", "no-such-model")
    assert unknown.returncode == 2 and "No local model is called 'no-such-model'" in unknown.stderr
    for result in (refused, missing, unknown):
        assert "Traceback" not in result.stderr


def test_sets_are_kept_and_runs_come_back_later(parlour_cmd: list[str], tmp_path: Path) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        '{"set": "ignored header name"}\n'
        '{"id": "capital", "prompt": "What is the capital of France? Answer in one sentence.",'
        ' "checks": [{"type": "contains_all", "words": ["Paris"]}]}\n'
    )
    kept = parlour(parlour_cmd, "eval", "import", str(mine), "--name", "capitals")
    assert kept.returncode == 0 and kept.stdout.strip() == "Kept capitals: 1 cases, 1 checks."
    assert any(
        line.startswith("capitals  1 cases") for line in parlour(parlour_cmd, "eval", "list").stdout.splitlines()
    )
    run = parlour(parlour_cmd, "eval", "run", "capitals", "--models", STARTER, "--json")
    assert run.returncode == 0, run.stderr
    board = json.loads(run.stdout.splitlines()[-1])["scoreboard"]
    # Another process, later: the run is read back from the store with the same scoreboard.
    runs = [json.loads(line) for line in parlour(parlour_cmd, "eval", "runs", "capitals", "--json").stdout.splitlines()]
    assert runs and runs[-1]["set"] == "capitals" and runs[-1]["scoreboard"] == board
    assert runs[-1]["parameters"] == {"temperature": 0.0, "max_tokens": 256, "seed": 0}
    shown = parlour(parlour_cmd, "eval", "runs", "capitals")
    assert f"Run {runs[-1]['run']}" in shown.stdout and board[0]["score"] in shown.stdout


def test_a_run_is_written_out_as_files_and_pictures(parlour_cmd: list[str], tmp_path: Path) -> None:
    run = parlour(parlour_cmd, "eval", "run", "starter", "--models", STARTER, "--json")
    assert run.returncode == 0, run.stderr
    runs = [json.loads(line) for line in parlour(parlour_cmd, "eval", "runs", "starter", "--json").stdout.splitlines()]
    folder = tmp_path / "report"
    written = parlour(parlour_cmd, "eval", "report", str(runs[-1]["run"]), "-o", str(folder))
    assert written.returncode == 0, written.stderr
    names = {p.name for p in folder.iterdir()}
    assert names == {"scoreboard.csv", "cases.csv", "report.md", "run.json", "score.png", "cases.png"}
    assert (folder / "scoreboard.csv").read_text().startswith("model,score,passed,checks")
    report = (folder / "report.md").read_text()
    assert "## meeting-date" in report and "![Score against speed](score.png)" in report
    from PySide6.QtGui import QImage

    assert QImage(str(folder / "score.png")).size().toTuple() == (800, 500)
    assert QImage(str(folder / "cases.png")).height() == 28 * (len(starter_set().cases) + 1)
    missing = parlour(parlour_cmd, "eval", "report", "99999", "-o", str(folder))
    assert missing.returncode == 2 and "There is no run 99999" in missing.stderr
