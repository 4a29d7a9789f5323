"""The app icon: every PNG size ships and is the size its name says, and the window gets it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QIcon, QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from app.ui.app import run_app
from app.ui.app_icon import ICON_SIZES, app_icon, icon_png


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


def test_the_application_has_the_icon_once_started(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLOUR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PARLOUR_MEASURE_STARTUP", "1")  # show the window, then return
    qapp.setWindowIcon(QIcon())
    assert qapp.windowIcon().availableSizes() == []
    assert run_app([], engine_log=None) == 0
    assert sorted(s.width() for s in qapp.windowIcon().availableSizes()) == list(ICON_SIZES)
