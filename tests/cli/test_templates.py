"""The template library from the command line: check, preview, per-model override, --show-prompt."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

CUSTOM = "{% for m in messages %}<<{{ m.role }}>> {{ m.content }}\n{% endfor %}<<assistant>> "


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A private data folder for this test, so overrides do not leak into other tests."""
    env = os.environ.copy()
    env["PARLOUR_HOME"] = str(tmp_path / "parlour-data")
    return env


def run(cmd: list[str], *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, env=env)


def test_show_prompt_names_the_models_own_template(parlour_cmd: list[str], home: dict[str, str]) -> None:
    result = run(parlour_cmd, "chat", "--show-prompt", "--system", "Be brief.", "Hi there", env=home)
    assert result.returncode == 0, result.stderr
    assert "# Template: the model's own template" in result.stderr
    assert result.stdout == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
    )


def test_syntax_error_is_refused_with_its_line(parlour_cmd: list[str], home: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.jinja"
    broken.write_text("line one\n{% for m in messages %}\n{{ m.content }\n{% endfor %}\n")
    result = run(parlour_cmd, "templates", "add", "broken", str(broken), env=home)
    assert result.returncode == 2
    assert "syntax error on line 3" in result.stderr and "Traceback" not in result.stderr
    assert "No saved templates." in run(parlour_cmd, "templates", "list", env=home).stdout


def test_saved_template_preview_and_model_override(
    parlour_cmd: list[str], home: dict[str, str], tmp_path: Path, starter_gguf: Path
) -> None:
    source = tmp_path / "custom.jinja"
    source.write_text(CUSTOM)
    assert run(parlour_cmd, "templates", "add", "angle", str(source), env=home).returncode == 0
    preview = run(parlour_cmd, "templates", "preview", "--name", "angle", env=home)
    assert preview.returncode == 0 and "<<system>>" in preview.stdout and "<<assistant>> " in preview.stdout

    used = run(parlour_cmd, "templates", "use", str(starter_gguf), "--name", "angle", env=home)
    assert used.returncode == 0, used.stderr
    shown = json.loads(run(parlour_cmd, "chat", "--show-prompt", "--json", "Hi", env=home).stdout)
    assert shown["template_source"] == "override"
    assert shown["text"] == "<<user>> Hi\n<<assistant>> "

    assert run(parlour_cmd, "templates", "clear", str(starter_gguf), env=home).returncode == 0
    shown = json.loads(run(parlour_cmd, "chat", "--show-prompt", "--json", "Hi", env=home).stdout)
    assert shown["template_source"] == "model"


def test_hostile_template_file_never_runs(parlour_cmd: list[str], home: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = tmp_path / "hostile.jinja"
    hostile.write_text("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}")
    result = run(parlour_cmd, "chat", "--template", str(hostile), "Hi", env=home)
    assert result.returncode == 2  # the person's template: theirs to fix
    assert result.stdout == ""
    assert "This model's chat template tried an unsafe operation and was not used." in result.stderr
    assert not marker.exists()


def _refusable(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A path named like a template that is not one a reader could finish, and the phrase refusing it."""
    path = tmp_path / "files" / f"{kind}.jinja"
    path.parent.mkdir(exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
        return path, "is a named pipe (FIFO), not a regular file"
    if kind == "zero":
        path.symlink_to("/dev/zero")  # reading would never end
        return path, "is a device, not a regular file"
    if kind == "folder":
        path.mkdir()
        return path, "is a folder"
    with open(path, "wb") as stream:
        stream.truncate(1024**3)  # sparse: 1 GB long, nothing on disk
    return path, "is larger than 256 KB, so it was not read"


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder", "huge"])
def test_template_files_are_refused_by_type_and_size_before_reading(
    parlour_cmd: list[str], home: dict[str, str], tmp_path: Path, starter_gguf: Path, kind: str
) -> None:
    path, phrase = _refusable(tmp_path, kind)
    Path(home["PARLOUR_HOME"]).mkdir()
    before = sorted(str(p) for p in tmp_path.rglob("*") if not p.is_relative_to(home["PARLOUR_HOME"]))
    for args in (
        ["chat", "--template", str(path), "hi"],
        ["templates", "add", "t", str(path)],
        ["templates", "preview", "--file", str(path)],
        ["templates", "use", str(starter_gguf), "--file", str(path)],
    ):
        result = subprocess.run([*parlour_cmd, *args], capture_output=True, text=True, timeout=60, env=home)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and phrase in lines[0] and str(path) in lines[0], (args, result.stderr)
    after = sorted(str(p) for p in tmp_path.rglob("*") if not p.is_relative_to(home["PARLOUR_HOME"]))
    assert after == before  # nothing written outside the data folder
    assert "No saved templates." in run(parlour_cmd, "templates", "list", env=home).stdout


def test_a_relative_template_file_is_read_where_it_was_typed(
    parlour_cmd: list[str], home: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "t.jinja").write_text(CUSTOM)
    result = subprocess.run(
        [*parlour_cmd, "chat", "--show-prompt", "--template", "mine/t.jinja", "Hi"],
        capture_output=True,
        text=True,
        timeout=60,
        env=home,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "<<user>> Hi\n<<assistant>> "


def test_a_templates_own_message_cannot_drive_the_terminal(
    parlour_cmd: list[str], home: dict[str, str], tmp_path: Path
) -> None:
    """raise_exception() text comes from the file: its escape sequences are shown, not obeyed."""
    hostile = tmp_path / "loud.jinja"
    hostile.write_text('{{ raise_exception("Roles must alternate\\x1b]0;owned\\x07\\x1b[2J") }}')
    result = run(parlour_cmd, "templates", "preview", "--file", str(hostile), env=home)
    assert result.returncode == 2, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "Roles must alternate" in result.stderr and "owned" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_template_names_are_printed_escaped(parlour_cmd: list[str], home: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "custom.jinja"
    source.write_text(CUSTOM)
    assert run(parlour_cmd, "templates", "add", "tab\tname", str(source), env=home).returncode == 2
    # A right-to-left override is no control character, but it would show the rest of the line reversed.
    added = run(parlour_cmd, "templates", "add", "chat\u202eevil", str(source), env=home)
    assert added.returncode == 0 and added.stdout == "Saved the template 'chat\\u202eevil'.\n"
    assert "  chat\\u202eevil  (updated " in run(parlour_cmd, "templates", "list", env=home).stdout
