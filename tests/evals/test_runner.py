"""A set run over real models: the starter GGUF on llama.cpp and its MLX twin; a model that cannot load and
a host that crashes mid-run fail only their cases; the replies equal the same requests made directly."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.evals.runner import EVAL_PARAMS, ModelUnderTest, run_set, scoreboard
from app.evals.sets import EvalCase, EvalSet, parse_jsonl, starter_set
from engines.host_client import EngineClient

ONE_CASE = parse_jsonl(
    '{"id": "capital", "prompt": "What is the capital of France? Answer in one sentence.",'
    ' "checks": [{"type": "contains_all", "words": ["Paris"]}, {"type": "max_words", "n": 40}]}',
    "one",
)


def test_the_starter_set_on_the_starter_model(starter_gguf: Path) -> None:
    starter = starter_set()
    results = list(run_set(starter, [ModelUnderTest("starter", str(starter_gguf))]))
    assert [r.case for r in results] == [case.id for case in starter.cases]
    assert all(r.error is None and r.reply for r in results)
    (board,) = scoreboard(starter, results)
    assert board["checks"] == starter.checks_total and board["passed"] == sum(r.passed for r in results)
    assert board["tokens_per_s"] and board["mean_ttft_ms"] and board["failed_cases"] == 0
    # The same request made straight to the engine gives the same reply.
    with EngineClient() as client:
        client.load(str(starter_gguf))
        direct, _ = client.generate(starter.cases[3].messages(), EVAL_PARAMS).text()
    assert direct == results[3].reply


@pytest.mark.mlx
def test_two_engines_on_the_same_set(starter_gguf: Path, mlx_dir: Path) -> None:
    models = [ModelUnderTest("gguf", str(starter_gguf)), ModelUnderTest("mlx", str(mlx_dir))]
    results = list(run_set(ONE_CASE, models))
    assert [(r.model, r.error) for r in results] == [("gguf", None), ("mlx", None)]
    assert all("Paris" in r.reply for r in results)
    assert [row["model"] for row in scoreboard(ONE_CASE, results)] == ["gguf", "mlx"]


def test_a_model_that_cannot_load_fails_its_cases_and_the_run_goes_on(starter_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 20)
    models = [ModelUnderTest("broken", str(broken)), ModelUnderTest("starter", str(starter_gguf))]
    results = list(run_set(ONE_CASE, models))
    assert results[0].error is not None and results[0].error.startswith("The model could not be loaded")
    assert results[1].error is None and results[1].passed == 2
    board = scoreboard(ONE_CASE, results)
    assert board[0]["failed_cases"] == 1 and board[0]["passed"] == 0 and board[1]["passed"] == 2


def test_a_host_that_crashes_mid_run_fails_one_case(starter_gguf: Path) -> None:
    case = ONE_CASE.cases[0]
    three = EvalSet("three", tuple(EvalCase(f"c{i}", case.prompt, case.checks) for i in range(3)))
    clients: list[EngineClient] = []

    def factory() -> EngineClient:
        clients.append(EngineClient())
        return clients[-1]

    results = []
    for result in run_set(three, [ModelUnderTest("starter", str(starter_gguf))], client_factory=factory):
        results.append(result)
        if len(results) == 1:
            os.kill(clients[0]._process.pid, signal.SIGKILL)  # type: ignore[union-attr]  # the next reply meets a dead host
    assert results[0].error is None
    assert results[1].error is not None and "Traceback" not in results[1].error  # the crash: one sentence
    assert results[2].error is None and results[2].passed == 2  # loaded again, and on it goes


def test_stopping_keeps_what_finished(starter_gguf: Path) -> None:
    starter = starter_set()
    results: list = []
    model = [ModelUnderTest("starter", str(starter_gguf))]
    for result in run_set(starter, model, should_stop=lambda: len(results) >= 2):
        results.append(result)
    assert len(results) == 2 and all(r.error is None for r in results)


def test_a_remote_model_is_judged_beside_a_local_one(test_keyring, llama_server: str, starter_gguf: Path) -> None:  # noqa: ANN001
    from app.library import remotes
    from tests.support.remote_servers import KEY, served_model

    endpoint = remotes.add_endpoint("box", llama_server, KEY)
    remote = remotes.model_of(endpoint, served_model(llama_server))
    try:
        models = [ModelUnderTest("local", str(starter_gguf)), ModelUnderTest("remote", str(remote.path))]
        results = list(run_set(ONE_CASE, models))
    finally:
        remotes.remove_endpoint("box")
    assert [(r.model, r.error) for r in results] == [("local", None), ("remote", None)]
    assert all("Paris" in r.reply and r.passed == 2 for r in results)  # the remote server runs the same model
    board = scoreboard(ONE_CASE, results)
    assert [row["model"] for row in board] == ["local", "remote"] and all(row["tokens_per_s"] for row in board)
