"""`parlour models ...` in a subprocess, against the stand-in Hub, as a user runs it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.library.helpers import REPO_ROOT, models_root, run_parlour
from tests.support.fake_hub import FakeHub
from tests.support.fake_hub_repos import GATED_REPO, GGUF_REPO


def hub_env(hub: FakeHub, private_home: Path) -> dict[str, str]:
    """What a user's shell has: no telemetry switch of its own, a fresh huggingface_hub home."""
    env = os.environ.copy()
    env.pop("HF_HUB_DISABLE_TELEMETRY", None)
    env.update(HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0", HF_HOME=str(private_home / "hf-home"))
    return env


def one_sentence(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0].removeprefix("parlour: ")


def test_models_alone_still_lists_with_origins() -> None:
    result = run_parlour("models")
    assert result.returncode == 0, result.stderr
    assert "SmolLM2 135M Instruct (starter)" in result.stdout and "starter: " in result.stdout
    listed = json.loads(run_parlour("models", "--json").stdout)
    assert listed[0]["origin"] == "starter"


def test_the_command_line_imports_nothing_heavy() -> None:
    code = (
        "import sys, app.cli; p = app.cli.build_parser(); p.format_help(); "
        "print([m for m in ('huggingface_hub', 'httpx2', 'keyring', 'PySide6', 'llama_cpp', 'mlx') "
        "if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_search_makes_one_request_and_no_telemetry(hub: FakeHub, private_home: Path) -> None:
    result = run_parlour("models", "search", "smol", "--format", "gguf", env=hub_env(hub, private_home))
    assert result.returncode == 0, result.stderr
    assert GGUF_REPO in result.stdout and "5,000 downloads" in result.stdout
    assert hub.request_lines() == ["GET hub /api/models"]


def test_without_parlour_huggingface_hub_would_fetch_agent_harnesses(hub: FakeHub, private_home: Path) -> None:
    """The check above can fail: the same search through huggingface_hub alone makes the extra request."""
    code = (
        "from huggingface_hub import HfApi; import os; api = HfApi(endpoint=os.environ['HF_ENDPOINT']); "
        "list(api.list_models(search='smol', limit=1, token=False))"
    )
    subprocess.run([sys.executable, "-c", code], env=hub_env(hub, private_home), check=True, timeout=60)
    assert "GET hub /api/agent-harnesses" in hub.request_lines()


def test_download_with_include_shows_progress_and_asks_only_what_it_needs(hub: FakeHub, private_home: Path) -> None:
    result = run_parlour("models", "download", GGUF_REPO, "--include", "*Q4_1.gguf", env=hub_env(hub, private_home))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-2].startswith("[############################] 100.0%  98.4 MB of 98.4 MB")
    assert lines[-1] == f"Downloaded {GGUF_REPO} to {models_root() / GGUF_REPO}"
    assert (models_root() / GGUF_REPO / "SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size == 98362432
    sha = hub.repos[GGUF_REPO].sha
    assert [line.rsplit("/", 1)[0] for line in hub.request_lines()] == [
        "GET hub /api/models/HuggingFaceTB",
        f"GET hub /{GGUF_REPO}/resolve/{sha}",
        "GET cdn /blobs",
    ]
    listed = run_parlour("models")
    assert "models folder: " in listed.stdout and "SmolLM2-135M-Instruct.Q4_1.gguf" in listed.stdout


def test_download_failures_are_one_sentence(hub: FakeHub, private_home: Path) -> None:
    env = hub_env(hub, private_home)
    several = one_sentence(run_parlour("models", "download", GGUF_REPO, env=env))
    assert several.startswith(f"{GGUF_REPO} has several variants (Q8_0 (2 parts), Q4_1); choose one with --include")
    gated = one_sentence(run_parlour("models", "download", GATED_REPO, env=env), code=1)
    assert gated.startswith(f"{GATED_REPO} is gated: accept the license on the model page")
    assert one_sentence(run_parlour("models", "download", "not-a-repo", env=env)).startswith("'not-a-repo' is not")


def test_a_full_disk_mid_download_is_one_sentence(hub: FakeHub, private_home: Path) -> None:
    """The write fails as on a full disk (here: a file-size limit of 20 MB, so the OS refuses the write)."""

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000_000, 20_000_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "download", GGUF_REPO, "--include", "*Q4_1*"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=hub_env(hub, private_home),
        preexec_fn=limit_file_size,
        timeout=120,
    )
    message = one_sentence(result, code=1)
    folder = models_root() / GGUF_REPO
    assert message == f"The disk holding {folder} is full. Free some space or choose another models folder."
    part = models_root() / GGUF_REPO / "SmolLM2-135M-Instruct.Q4_1.gguf.part"
    assert part.exists() and part.stat().st_size <= 20_000_000  # kept: free space, then resume


def test_import_then_rm(tmp_path: Path, starter_gguf: Path) -> None:
    source = tmp_path / "mine.gguf"
    source.write_bytes(starter_gguf.read_bytes())
    imported = run_parlour("models", "import", str(source))
    assert imported.returncode == 0
    assert imported.stdout.strip() == f"Imported to {models_root() / 'imported/mine/mine.gguf'}"
    source.unlink()
    removed = run_parlour("models", "rm", "mine")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "Deleted imported/mine · mine.gguf; 98.4 MB freed."
    hidden = run_parlour("models", "rm", "SmolLM2 135M Instruct (starter)")
    assert "comes with Parlour, so it is hidden" in hidden.stdout
    assert "SmolLM2 135M Instruct (starter)" not in run_parlour("models").stdout
    assert one_sentence(run_parlour("models", "rm", "nothing-like-this")).startswith("No local model is called")
    assert one_sentence(run_parlour("models", "import", str(tmp_path / "none.gguf"))).startswith("No model file")


@pytest.mark.parametrize("args", [["search", "x", "--format", "onnx"], ["download"]])
def test_bad_arguments_are_argparse_errors(args: list[str]) -> None:
    assert run_parlour("models", *args).returncode == 2


STARTER_NAME = "SmolLM2 135M Instruct (starter)"


def test_an_empty_name_matches_nothing_and_a_hidden_model_comes_back(tmp_path: Path) -> None:
    for blank in ("", "   ", "\t"):
        assert one_sentence(run_parlour("models", "rm", blank)).startswith("REF is empty")
    assert one_sentence(run_parlour("models", "import", "")).startswith("PATH is empty")
    assert STARTER_NAME in run_parlour("models").stdout  # nothing was hidden, nothing imported
    assert not (models_root() / "imported").exists()

    assert run_parlour("models", "--hidden").stdout.strip() == "No model is hidden."
    assert "hidden" in run_parlour("models", "rm", "starter").stdout
    assert STARTER_NAME not in run_parlour("models").stdout
    hidden = run_parlour("models", "--hidden")
    assert hidden.stdout.startswith(STARTER_NAME + "\n") and "parlour models unhide NAME" in hidden.stdout
    assert [m["name"] for m in json.loads(run_parlour("models", "--hidden", "--json").stdout)] == [STARTER_NAME]

    assert one_sentence(run_parlour("models", "unhide", "nothing-like-this")).startswith("No hidden model is called")
    shown = run_parlour("models", "unhide", "starter")
    assert shown.returncode == 0 and shown.stdout.strip() == f"{STARTER_NAME} is back in the list of models."
    assert STARTER_NAME in run_parlour("models").stdout
    assert one_sentence(run_parlour("models", "unhide", "starter")) == f"{STARTER_NAME} is not hidden."


def test_import_is_relative_to_where_it_was_typed(tmp_path: Path, starter_gguf: Path) -> None:
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "here.gguf").hardlink_to(starter_gguf)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "import", "downloads/here.gguf"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Imported to {models_root() / 'imported/here/here.gguf'}"
