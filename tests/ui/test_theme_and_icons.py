"""The action icons are shipped with their licence, drawn in the palette's colours and at the screen's pixel
ratio; the themes switch live (the chat, its messages and the icons redraw) and follow the system's scheme."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette

from app.ui import icons, theme
from app.ui.main_window import MainWindow
from tests.store.helpers import chat

ICONS = files("resources.icons.actions")


def ink(image: QImage) -> set[str]:
    """The opaque colours an icon was drawn with (anti-aliased edges left out)."""
    return {
        QColor.fromRgba(image.pixel(x, y)).name()
        for y in range(image.height())
        for x in range(image.width())
        if QColor.fromRgba(image.pixel(x, y)).alpha() == 255
    }


def test_the_icons_are_shipped_with_their_licence() -> None:
    names = [p.name for p in ICONS.iterdir() if p.name.endswith(".svg")]
    assert len(names) >= 15
    licence = (ICONS / "LICENSE").read_text(encoding="utf-8")
    assert "ISC License" in licence and "Lucide" in licence
    for name in names:
        svg = (ICONS / name).read_text(encoding="utf-8")
        assert "lucide" in svg and 'stroke="currentColor"' in svg  # recolourable, one family


def test_an_icon_takes_the_colour_it_is_drawn_in(qapp) -> None:  # noqa: ANN001
    for colour in ("#1d1d1f", "#e8eaed"):
        image = icons.render_icon("copy", colour, QSize(24, 24), 1.0).toImage()
        assert ink(image) == {colour}


def test_an_icon_is_drawn_at_the_pixel_ratio_asked_for(qapp) -> None:  # noqa: ANN001
    one = icons.render_icon("trash-2", "#000000", QSize(16, 16), 1.0)
    two = icons.render_icon("trash-2", "#000000", QSize(16, 16), 2.0)
    assert (one.width(), one.devicePixelRatio()) == (16, 1.0)
    assert (two.width(), two.height(), two.devicePixelRatio()) == (32, 32, 2.0)
    # Drawn again from the SVG at 2x, not the 1x picture scaled up: the fine lines differ.
    scaled = one.toImage().scaled(
        32, 32, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation
    )
    assert two.toImage().convertToFormat(scaled.format()) != scaled
    assert icons.action_icon("trash-2").pixmap(QSize(16, 16), 2.0).width() == 32


SCALED = """
import json
from PySide6.QtWidgets import QApplication, QToolBar
app = QApplication([])
from app.ui import icons
from app.ui.window_actions import WindowActions
bar = QToolBar()
bar.addAction(icons.action_icon("search"), "Search")
bar.show()
app.processEvents()
picture = bar.grab()
ratios = sorted({key[4] for key in icons._pixmaps})
print(json.dumps({"screen": bar.devicePixelRatioF(), "grab": picture.devicePixelRatio(), "ratios": ratios}))
"""


def test_at_qt_scale_factor_2_the_toolbar_asks_for_2x_icons() -> None:
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", SCALED], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["screen"] == 2.0 and seen["grab"] == 2.0
    assert seen["ratios"] == [2.0]  # every icon drawn for the screen was drawn at 2x


def test_the_theme_switches_live(qtbot, window: MainWindow, qapp, restored_theme) -> None:  # noqa: ANN001
    conversation = chat(window.store, ("Colours?", "Here is `code` and text."), title="Themes")
    window.chat.open_conversation(conversation)
    reply_id = window.chat.messages.row_at(1).id
    qtbot.waitUntil(lambda: window.view.widget_for(reply_id) is not None)
    for mode, palette in (("dark", theme.DARK), ("light", theme.LIGHT), ("dark", theme.DARK)):
        assert theme.apply_theme(qapp, mode) == mode
        qtbot.waitUntil(lambda m=mode: window.view.theme.dark == (m == "dark"))
        base = window.view.viewport().palette().color(QPalette.ColorRole.Base).name()
        assert base == palette[QPalette.ColorRole.Base]
        widget = window.view.widget_for(reply_id)
        assert widget is not None and widget.theme.dark == (mode == "dark")  # redrawn in the new colours
        button_text = palette[QPalette.ColorRole.ButtonText]
        drawn = window.actions.new_chat.icon().pixmap(QSize(20, 20)).toImage()
        assert ink(drawn) == {button_text}


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS's own style draws both schemes")
def test_the_theme_follows_the_systems_scheme(qapp, restored_theme, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("PARLOUR_THEME", raising=False)
    theme.follow_system_theme(qapp)
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == theme.DARK[QPalette.ColorRole.Window]
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT[QPalette.ColorRole.Window]
    monkeypatch.setenv("PARLOUR_THEME", "dark")  # a forced theme stays whatever the system does
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == theme.DARK[QPalette.ColorRole.Window]


def test_the_icon_cache_stays_bounded(qapp) -> None:  # noqa: ANN001
    for side in range(8, 8 + icons._CACHE_LIMIT + 50):
        icons.render_icon("copy", "#000000", QSize(side, side), 1.0)
    assert len(icons._pixmaps) <= icons._CACHE_LIMIT
