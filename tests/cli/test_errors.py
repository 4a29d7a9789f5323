"""Whatever a person types, `parlour` answers with one sentence and the right exit status, never a traceback.

Everything runs the installed console script in a subprocess with a private data folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT_S = 60  # generous: a hang fails instead of hanging the suite


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = os.environ.copy()
    values["PARLOUR_HOME"] = str(tmp_path / "parlour-data")
    values["HF_HUB_OFFLINE"] = "1"
    return values


def run(
    cmd: list[str], *args: str | bytes, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        encoding="utf-8",
        errors="backslashreplace",
        timeout=TIMEOUT_S,
        env=env,
        cwd=cwd,
    )


def one_sentence(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The single line on stderr, after checking the exit status and that nothing else came out."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert lines[0].startswith("parlour: ")
    return lines[0].removeprefix("parlour: ")


def log_text(env: dict[str, str]) -> str:
    path = Path(env["PARLOUR_HOME"]) / "logs" / "parlour.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain.jinja"
    path.write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    return path


# --- text that is not UTF-8, names with control characters, empty names ---------------------------------


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["chat", b"\xff"], "PROMPT"),
        (["chat", "--system", b"caf\xe9", "hi"], "--system"),
        (["chat", "--model", b"\xff.gguf", "hi"], "--model"),
        (["chat", "--stop", b"\xed\xa0\x80", "hi"], "--stop"),
        (["templates", "add", b"\xed\xa0\x80", "TEMPLATE"], "NAME"),
        (["templates", "use", b"model\xff", "--name", "x"], "MODEL"),
        (["models", "rm", b"\xff"], "REF"),
        (["models", "search", b"smol\xff"], "TEXT"),
    ],
)
def test_text_that_is_not_utf8_is_one_sentence_naming_the_option(
    parlour_cmd: list[str], env: dict[str, str], template_file: Path, args: list, label: str
) -> None:
    args = [str(template_file) if a == "TEMPLATE" else a for a in args]
    message = one_sentence(run(parlour_cmd, *args, env=env))
    assert message.startswith(f"{label} is not valid UTF-8 text")
    assert "engine host started" not in log_text(env)  # refused before any engine was started


@pytest.mark.parametrize(
    "args",
    [
        ["templates", "add", "two\nlines", "TEMPLATE"],
        ["models", "rm", "esc\x1b[2Jape"],
        ["chat", "--model", "a\nb", "hi"],
    ],
)
def test_names_with_control_characters_are_refused(
    parlour_cmd: list[str], env: dict[str, str], template_file: Path, args: list[str]
) -> None:
    args = [str(template_file) if a == "TEMPLATE" else a for a in args]
    message = one_sentence(run(parlour_cmd, *args, env=env))
    assert "control character" in message and "\x1b" not in message


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["models", "rm", ""], "REF"),
        (["models", "rm", "   "], "REF"),
        (["models", "import", ""], "PATH"),
        (["models", "unhide", ""], "REF"),
        (["chat", "--model", "", "hi"], "--model"),
        (["chat", "--template", "", "hi"], "--template"),
        (["templates", "add", "", "TEMPLATE"], "NAME"),
        (["templates", "preview", "--file", " "], "--file"),
    ],
)
def test_empty_names_and_paths_are_refused(
    parlour_cmd: list[str], env: dict[str, str], template_file: Path, args: list[str], label: str
) -> None:
    args = [str(template_file) if a == "TEMPLATE" else a for a in args]
    assert one_sentence(run(parlour_cmd, *args, env=env)).startswith(f"{label} is empty")


# --- numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["chat", "--max-tokens", str(10**20), "hi"], "--max-tokens must be at most 2,147,483,647"),
        (["chat", "--max-tokens", "0", "hi"], "--max-tokens must be at least 1"),
        (["chat", "--max-tokens", "-5", "hi"], "--max-tokens must be at least 1"),
        (["chat", "--context-length", str(10**20), "hi"], "--context-length must be at most"),
        (["chat", "--context-length", "8", "hi"], "--context-length must be at least 16"),
        (["chat", "--top-k", "-1", "hi"], "--top-k must be at least 0"),
        (["chat", "--top-k", str(2**31), "hi"], "--top-k must be at most"),
        (["chat", "--seed", "-1", "hi"], "--seed must be at least 0"),
        (["chat", "--seed", str(10**40), "hi"], "--seed must be at most 2,147,483,647."),
        (["chat", "--temperature", "nan", "hi"], "--temperature must be a finite number"),
        (["chat", "--top-p", "inf", "hi"], "--top-p must be a finite number"),
        (["models", "search", "smol", "--limit", str(10**20)], "--limit must be at most"),
        (["models", "search", "smol", "--limit", "-3"], "--limit must be at least 1"),
        (["conversations", "--limit", str(10**20)], "--limit must be at most"),
    ],
)
def test_impossible_numbers_are_refused_before_any_engine_starts(
    parlour_cmd: list[str], env: dict[str, str], args: list[str], phrase: str
) -> None:
    assert one_sentence(run(parlour_cmd, *args, env=env)).startswith(phrase)
    assert "engine host started" not in log_text(env)


def test_a_context_longer_than_the_model_supports_is_refused(parlour_cmd: list[str], env: dict[str, str]) -> None:
    message = one_sentence(run(parlour_cmd, "chat", "--context-length", "2000000000", "hi", env=env))
    assert message.startswith("The context length 2,000,000,000 is more than this model supports (8,192 tokens)")


def test_settings_the_engine_refuses_are_one_sentence_with_exit_2(parlour_cmd: list[str], env: dict[str, str]) -> None:
    assert "repeat penalty must be" in one_sentence(run(parlour_cmd, "chat", "--repeat-penalty", "9", "hi", env=env))


# --- paths that are not what they claim -------------------------------------------------------------------


def test_a_relative_model_path_is_found_where_it_was_typed(
    parlour_cmd: list[str], env: dict[str, str], tmp_path: Path, starter_gguf: Path
) -> None:
    here = tmp_path / "work"
    (here / "rel" / "path").mkdir(parents=True)
    (here / "rel" / "path" / "model.gguf").hardlink_to(starter_gguf)
    result = run(
        parlour_cmd,
        "chat",
        "--model",
        "rel/path/model.gguf",
        "--max-tokens",
        "3",
        "--temperature",
        "0",
        "Say hello.",
        env=env,
        cwd=here,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    missing = one_sentence(run(parlour_cmd, "chat", "--model", "rel/nothing/model.gguf", "hi", env=env, cwd=here))
    assert missing == f"No model file or folder at {here / 'rel' / 'nothing' / 'model.gguf'}."


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [
        ("fifo", "is a named pipe (FIFO), not a model file"),
        ("device", "is a device, not a model file"),
        ("folder", "is not a model folder"),
    ],
)
def test_a_model_path_that_is_not_a_file_or_folder_is_refused(
    parlour_cmd: list[str], env: dict[str, str], tmp_path: Path, kind: str, phrase: str
) -> None:
    path = tmp_path / "model.gguf"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    for args in (["chat", "--model", str(path), "hi"], ["models", "import", str(path)]):
        assert phrase in one_sentence(run(parlour_cmd, *args, env=env))
    assert not (Path(env["PARLOUR_HOME"]) / "models" / "imported").exists()


# --- the log ----------------------------------------------------------------------------------------------


def test_every_command_logs_to_the_file(parlour_cmd: list[str], env: dict[str, str]) -> None:
    assert run(parlour_cmd, "templates", "list", env=env).returncode == 0
    log = Path(env["PARLOUR_HOME"]) / "logs" / "parlour.log"
    assert log.exists() and stat.S_IMODE(log.stat().st_mode) == 0o600


def test_an_unforeseen_failure_is_one_sentence_and_its_traceback_is_in_the_log(env: dict[str, str]) -> None:
    """A command that crashes (here: made to divide by zero) leaves its traceback in the log, not on screen."""
    code = (
        "import app.cli as cli\n"
        "import app.cli.doctor as doctor\n"
        "def broken(args):\n    return 1 / 0\n"
        "doctor.cmd_doctor = broken\n"
        "raise SystemExit(cli.main(['doctor']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    message = one_sentence(result, code=1)
    assert message == "Something went wrong (ZeroDivisionError: division by zero); details are in the log."
    log = log_text(env)
    assert "Traceback" in log and "ZeroDivisionError" in log and "def broken" not in result.stderr


def test_an_unusable_data_folder_is_one_sentence(parlour_cmd: list[str], env: dict[str, str], tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    env["PARLOUR_HOME"] = str(occupied)
    for args in (["models"], ["templates", "list"], ["chat", "hi"]):
        message = one_sentence(run(parlour_cmd, *args, env=env), code=1)
        assert message.startswith(f"Parlour cannot write to its data folder {occupied}")


def test_the_log_never_holds_signed_urls_or_tokens(env: dict[str, str]) -> None:
    code = (
        "import logging\n"
        "from app.cli.log_setup import setup_logging\n"
        "setup_logging()\n"
        "logging.getLogger('httpx').info('HTTP Request: GET https://cdn.example/x?X-Amz-Signature=chatty1 200')\n"
        "logging.getLogger('huggingface_hub').info('Downloading https://cdn.example/x?sig=chatty2')\n"
        "logging.getLogger('parlour.library').warning('fetch https://cdn.example/blob?Signature=s3cr3t&e=1 failed')\n"
        "logging.getLogger('parlour.library').warning('with token %s', 'hf_AbCdEfGhIjKlMnOp')\n"
        "try:\n    raise RuntimeError('https://cdn.example/y?sig=intraceback')\n"
        "except RuntimeError:\n    logging.getLogger('parlour').exception('download failed')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=TIMEOUT_S)
    log = log_text(env)
    for secret in ("chatty1", "chatty2", "s3cr3t", "AbCdEfGhIjKlMnOp", "intraceback"):
        assert secret not in log
    assert "fetch https://cdn.example/blob?[redacted] failed" in log
    assert "RuntimeError: https://cdn.example/y?[redacted]" in log


# --- text from files on screen --------------------------------------------------------------------------


def test_a_model_name_with_escape_sequences_is_listed_escaped(
    parlour_cmd: list[str], env: dict[str, str], starter_gguf: Path
) -> None:
    folder = Path(env["PARLOUR_HOME"]) / "models" / "someone"
    folder.mkdir(parents=True)
    (folder / "evil\x1b]0;owned\x07\x1b[2J.gguf").hardlink_to(starter_gguf)
    result = run(parlour_cmd, "models", env=env)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "someone · evil\\x1b]0;owned\\x07\\x1b[2J.gguf" in result.stdout
    listed = run(parlour_cmd, "models", "--json", env=env)
    assert "\x1b" not in listed.stdout and "\\u001b]0;owned" in listed.stdout


def test_a_file_name_that_is_not_utf8_is_listed(
    parlour_cmd: list[str], env: dict[str, str], starter_gguf: Path
) -> None:
    folder = Path(env["PARLOUR_HOME"]).joinpath("models", "someone")
    folder.mkdir(parents=True)
    os.link(starter_gguf, os.path.join(os.fsencode(folder), b"caf\xe9.gguf"))
    result = run(parlour_cmd, "models", env=env)
    assert result.returncode == 0, result.stderr
    assert "someone · caf\\xe9.gguf" in result.stdout  # the undecodable byte, shown as itself
    assert run(parlour_cmd, "models", "--json", env=env).returncode == 0
