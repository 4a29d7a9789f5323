"""`parlour --self-test`: the check every bundle runs, on the real starter model, in a private home."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engines import child_process
from tests.cli.helpers import one_sentence, run_in


def test_the_self_test_streams_a_reply_uses_a_store_and_renders_a_template(
    parlour_cmd: list[str], private_home: Path
) -> None:
    data = private_home / "parlour"
    result = run_in(data, parlour_cmd, "--self-test", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["error"] is None
    assert report["engine"] == "llamacpp" and "Paris" in report["reply"]
    assert report["tokens"] > 0 and report["tokens_per_s"] > 0
    assert report["store_round_trip"] is True and report["template_rendered"] is True
    assert report["data_folder"] == str(data)
    assert report["versions"]["llama-cpp-python"]
    assert not (data / "parlour.db").exists()  # the person's own store is left alone


def test_the_self_test_says_what_it_checked(parlour_cmd: list[str], private_home: Path) -> None:
    result = run_in(private_home / "parlour", parlour_cmd, "--self-test")
    assert result.returncode == 0, result.stderr
    assert "Model:           SmolLM2 135M Instruct (starter) on llamacpp" in result.stdout
    assert "all checks passed" in result.stdout


def test_a_failed_check_is_one_sentence_and_exit_1(parlour_cmd: list[str], tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = run_in(not_a_folder, parlour_cmd, "--self-test")
    assert "cannot use its data folder" in one_sentence(result, code=1)


def test_children_run_through_the_app_itself_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    assert child_process.module_command("engines.host") == [sys.executable, "-m", "engines.host"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command = child_process.module_command("engines.host")
    assert command == [sys.executable, child_process.RUN_MODULE_FLAG, "engines.host"]


def test_only_parlours_own_children_can_be_run_that_way(parlour_cmd: list[str], private_home: Path) -> None:
    result = run_in(private_home / "parlour", parlour_cmd, child_process.RUN_MODULE_FLAG, "os")
    assert "is not a program Parlour runs" in one_sentence(result)


def test_the_app_runs_its_render_process_when_asked(parlour_cmd: list[str], private_home: Path) -> None:
    """What a bundle does instead of `python -m engines.templates.worker`: the same program, run by the app."""
    request = json.dumps(
        {"op": "render", "template": "{{ messages[0].content }}!", "messages": [{"role": "user", "content": "hi"}]}
    )
    result = run_in(
        private_home / "parlour",
        parlour_cmd,
        child_process.RUN_MODULE_FLAG,
        "engines.templates.worker",
        input=request + "\n",
    )
    assert result.returncode == 0, result.stderr
    ready, answer = (json.loads(line) for line in result.stdout.splitlines())
    assert ready == {"ready": True}
    assert answer["ok"] is True and answer["text"] == "hi!"
