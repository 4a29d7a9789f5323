"""The X11 libraries Qt's xcb plugin needs: found missing with a real `ldd` run, named by their packages."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.qt_libraries import (
    install_advice,
    missing_libraries,
    missing_window_libraries,
    packages_for,
    uses_xcb,
    xcb_plugin_path,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux only")
needs_ldd = pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd is not installed")


def test_the_plugin_is_found_without_importing_qt() -> None:
    code = (
        "import sys; from app.cli.qt_libraries import xcb_plugin_path; p = xcb_plugin_path(); "
        "print(p.name, [m for m in sys.modules if m.startswith('PySide6.Qt')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["libqxcb.so", "[]"]


@needs_ldd
def test_what_ldd_calls_missing_really_cannot_be_loaded() -> None:
    missing = missing_libraries(xcb_plugin_path())
    assert missing is not None
    for soname in missing:
        with pytest.raises(OSError):
            ctypes.CDLL(soname)
    assert "libc.so.6" not in missing and "libQt6XcbQpa.so.6" not in missing  # found (the latter by RUNPATH)
    assert missing_window_libraries() == missing


@needs_ldd
def test_a_needed_library_that_exists_nowhere_is_reported(tmp_path: Path) -> None:
    """A copy of the real plugin whose NEEDED entry names a library no system has (same length, one digit changed)."""
    real = xcb_plugin_path()
    platforms = tmp_path / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (tmp_path / "Qt" / "lib").symlink_to(real.parents[2] / "lib")  # so $ORIGIN/../../lib still finds Qt
    data = real.read_bytes()
    assert data.count(b"libxcb-shape.so.0\0") == 1
    (platforms / "libqxcb.so").write_bytes(data.replace(b"libxcb-shape.so.0\0", b"libxcb-shape.so.7\0"))
    missing = missing_libraries(platforms / "libqxcb.so")
    assert "libxcb-shape.so.7" in missing and "libQt6XcbQpa.so.6" not in missing
    assert missing.count("libxcb-shape.so.7") == 1
    assert "install the packages that provide libxcb-shape.so.7" in install_advice(missing)


def test_the_sentence_names_the_packages_and_both_commands() -> None:
    sonames = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-xkb.so.1", "libxcb-randr.so.0"]
    assert packages_for(sonames) == (
        ["libxcb-cursor0", "libxcb-icccm4", "libxcb-xkb1", "libxcb-randr0"],
        ["xcb-util-cursor", "xcb-util-wm", "libxcb"],
        [],
    )
    assert install_advice(sonames) == (
        "The window needs system libraries that are missing (libxcb-cursor0, libxcb-icccm4, libxcb-xkb1, "
        "libxcb-randr0); install them with `sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-xkb1 "
        "libxcb-randr0` (Debian, Ubuntu) or `sudo dnf install xcb-util-cursor xcb-util-wm libxcb` (Fedora)."
    )
    mixed = install_advice(["libEGL.so.1", "libfoo.so.3"])
    assert mixed == (
        "The window needs system libraries that are missing (libegl1, libfoo.so.3); install them with "
        "`sudo apt install libegl1` (Debian, Ubuntu) or `sudo dnf install mesa-libEGL` (Fedora), and "
        "install the packages that provide libfoo.so.3."
    )


@pytest.mark.parametrize(
    ("environ", "xcb"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
        ({}, False),
    ],
)
def test_the_check_runs_only_where_qt_would_use_xcb(environ: dict[str, str], xcb: bool) -> None:
    assert uses_xcb(environ) is xcb


def _window_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":99", PARLOUR_HOME=str(tmp_path / "parlour-data"), HF_HUB_OFFLINE="1")
    return env


@needs_ldd
def test_the_window_names_the_missing_packages_instead_of_qts_message(parlour_cmd: list[str], tmp_path: Path) -> None:
    missing = missing_window_libraries()
    if not missing:
        pytest.skip("every library Qt's xcb plugin needs is installed on this machine")
    result = subprocess.run(parlour_cmd, capture_output=True, text=True, timeout=60, env=_window_env(tmp_path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"parlour: {install_advice(missing)}"]
    assert "sudo apt install" in lines[0] and "sudo dnf install" in lines[0]


@needs_ldd
def test_doctor_lists_the_missing_libraries(parlour_cmd: list[str], tmp_path: Path) -> None:
    env = _window_env(tmp_path)
    missing = missing_window_libraries()
    report = json.loads(
        subprocess.run(
            [*parlour_cmd, "doctor", "--json"], capture_output=True, text=True, timeout=60, env=env, check=True
        ).stdout
    )
    assert report["window_missing_libraries"] == missing
    text = subprocess.run([*parlour_cmd, "doctor"], capture_output=True, text=True, timeout=60, env=env).stdout
    assert (f"Window:        {install_advice(missing)}" in text) is bool(missing)
