"""The wheel carries everything Parlour reads at run time, and works away from the source tree.

The wheel is built with pip from a copy of the packaged sources (so no stale build/ folder of the
checkout can leak into it), unpacked, and used by a separate Python whose only path to Parlour is
the unpacked folder, started in a folder that is not the repository.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from engines.template_choice import BUILTIN_SIGNATURES, builtin_template
from engines.templates import render_chat

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600  # only so a hung build fails instead of hanging the run
HI = [{"role": "user", "content": "hi"}]

# Run by the Python that uses the unpacked wheel: where the modules came from, and what they read.
PROBE = """
import json
import app.presets as presets
import engines.template_choice as choice
import resources
from engines.templates import render_chat

print(json.dumps({
    "modules": [choice.__file__, presets.__file__, resources.__file__],
    "builtins": {name: choice.builtin_template(name) for name, _ in choice.BUILTIN_SIGNATURES},
    "presets": presets.builtin_presets(),
    "llama3": render_chat(choice.builtin_template("llama3"), [{"role": "user", "content": "hi"}]),
}))
"""


def resource_files() -> list[str]:
    """Every file under resources/ in the checkout, as a path inside the wheel."""
    return sorted(
        path.relative_to(REPO).as_posix()
        for path in (REPO / "resources").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def copy_packaged_sources(destination: Path) -> None:
    """pyproject.toml, the README and the top-level folders its package patterns select."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, destination / name)
    for folder in REPO.iterdir():
        if folder.is_dir() and any(fnmatch.fnmatch(folder.name, pattern) for pattern in patterns):
            shutil.copytree(folder, destination / folder.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    copy_packaged_sources(source)
    out = tmp_path_factory.mktemp("wheel")
    # No index and no build isolation: the build must work offline with what the venv holds.
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run(
        [*command, "--disable-pip-version-check", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=source,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(out.glob("parlour-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_every_resource(wheel: Path) -> None:
    expected = resource_files()
    assert "resources/presets.json" in expected and "resources/templates/chatml.jinja" in expected
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in expected if name not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_the_unpacked_wheel_works_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=elsewhere, env=env
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    found = json.loads(probe.stdout)

    for module in found["modules"]:
        assert Path(module).resolve().is_relative_to(site.resolve()), module
    assert set(found["builtins"]) == {name for name, _ in BUILTIN_SIGNATURES}
    for name, text in found["builtins"].items():
        assert text == (REPO / "resources" / "templates" / f"{name}.jinja").read_text(encoding="utf-8"), name
    assert found["presets"] == json.loads((REPO / "resources" / "presets.json").read_text(encoding="utf-8"))
    assert "Balanced" in found["presets"]
    # The render process, started from the wheel's own location, renders as it does from the checkout.
    assert found["llama3"] == render_chat(builtin_template("llama3"), HI)
    assert found["llama3"].startswith("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>")
