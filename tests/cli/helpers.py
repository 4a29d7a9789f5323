"""Running the installed `parlour` as a person does, and reading what it answered."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TIMEOUT_S = 120  # generous: a hang fails instead of hanging the suite


def run_in(
    home: Path, cmd: list[str], *args: str | bytes | os.PathLike[str], input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`parlour ARGS` with PARLOUR_HOME=home, its stdin fed `input` (or empty), to the end."""
    return subprocess.run(
        [*cmd, *(a if isinstance(a, bytes) else os.fspath(a) for a in args)],
        input=input or "",
        capture_output=True,
        encoding="utf-8",
        errors="backslashreplace",
        timeout=TIMEOUT_S,
        env={**os.environ, "PARLOUR_HOME": str(home)},
        cwd=cwd,
    )


def one_sentence(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The single line on stderr without its `parlour: `, after checking the status and that no traceback came."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert lines[0].startswith("parlour: "), lines[0]
    return lines[0].removeprefix("parlour: ")
