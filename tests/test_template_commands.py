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
    env["PARLOUR_HOME"] = str(tmp_path / "home")
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


def test_saved_template_preview_and_model_override(parlour_cmd: list[str], home: dict[str, str],
                                                   tmp_path: Path, starter_gguf: Path) -> None:  # fmt: skip
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
    assert result.returncode == 1
    assert "This model's chat template tried an unsafe operation and was not used." in result.stderr
    assert not marker.exists()
