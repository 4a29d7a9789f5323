"""`parlour serve`'s own mistakes to report: each one sentence and exit 2, before anything listens."""

from __future__ import annotations

import subprocess


def test_bad_arguments_are_one_sentence_and_exit_2(parlour_cmd: list[str]) -> None:
    cases = {
        ("--port", "0"): "--port must be from 1 to 65535.",
        ("--queue", "0"): "--idle-minutes must be above 0 and --queue at least 1.",
        ("--memory", "0"): "--memory must be above 0 (GB).",
        ("--model", "no-such-model-here"): "There is no local model called 'no-such-model-here'",
    }
    for args, sentence in cases.items():
        run = subprocess.run([*parlour_cmd, "serve", *args], capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, (args, run.stderr)
        assert sentence in run.stderr and "Traceback" not in run.stderr
