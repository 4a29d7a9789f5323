"""The app icon: every PNG size ships and is the size its name says, and the window gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from app.ui.app_icon import ICON_SIZES, app_icon, icon_png

# Starts the application as `parlour` does (PARLOUR_MEASURE_STARTUP: show the window, then return) and
# reports the icon sizes the application had before and after.
STARTED = """
import json, os, sys
from PySide6.QtWidgets import QApplication
from app.ui.app import run_app

app = QApplication([sys.argv[0]])
before = sorted(size.width() for size in app.windowIcon().availableSizes())
code = run_app([], engine_log=None)
after = sorted(size.width() for size in app.windowIcon().availableSizes())
print(json.dumps({"code": code, "before": before, "after": after}), flush=True)
os._exit(0)  # the model the window began to load is not this test's business
"""


@pytest.mark.parametrize("size", ICON_SIZES)
def test_each_png_is_the_size_it_says(size: int) -> None:
    image = QImage.fromData(icon_png(size).read_bytes(), "PNG")
    assert not image.isNull(), f"parlour-{size}.png is not a PNG Qt can read"
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()  # the tile's rounded corners are transparent
    assert image.pixelColor(0, 0).alpha() == 0
    assert image.pixelColor(size // 2, size // 2).alpha() == 255


def test_the_svg_is_one_qt_can_draw() -> None:
    svg = (files("resources.icons") / "parlour.svg").read_bytes()
    renderer = QSvgRenderer(QByteArray(svg))
    assert renderer.isValid()
    assert renderer.defaultSize() == QSize(512, 512)


def test_the_icon_holds_every_size(qapp: QApplication) -> None:
    icon = app_icon()
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == list(ICON_SIZES)
    assert icon.pixmap(QSize(32, 32)).size() == QSize(32, 32)


def test_the_application_has_the_icon_once_started(tmp_path: Path) -> None:
    # In a process of its own: the started window loads the starter model, which must not outlive it here.
    env = {**os.environ, "PARLOUR_HOME": str(tmp_path / "home"), "PARLOUR_MEASURE_STARTUP": "1"}
    run = subprocess.run([sys.executable, "-c", STARTED], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    started = json.loads(run.stdout.strip().splitlines()[-1])
    assert started == {"code": 0, "before": [], "after": list(ICON_SIZES)}
