"""The action icons (resources/icons/actions, Lucide's SVGs) drawn in the palette's colours.

`action_icon(name)` is a QIcon whose engine renders the SVG whenever a pixmap is asked for: with
`currentColor` replaced by the application palette's colour of the moment (the button text, or
its disabled or highlighted colour) and at the device pixel ratio asked for, so an icon is crisp
at 2x and follows a switch between light and dark without being set again (a palette change
repaints every widget, and the repaint asks for new pixmaps). Rendered pixmaps are cached by
name, colour, size and ratio. `icon_button` makes the flat icon buttons of the toolbar and the
messages, with a tooltip on hover and on keyboard focus.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QToolButton

from app.ui.focus_tooltip import tooltip_on_focus

_CACHE_LIMIT = 512
_pixmaps: dict[tuple[str, int, int, int, float], QPixmap] = {}


@lru_cache(maxsize=64)
def svg_source(name: str) -> str:
    """The SVG text of one action icon, as shipped."""
    return (files("resources.icons.actions") / f"{name}.svg").read_text(encoding="utf-8")


def icon_colour(mode: QIcon.Mode, palette: QPalette | None = None) -> str:
    """The colour an icon is drawn in for this mode, from the palette in effect now."""
    palette = palette or QGuiApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name()
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorRole.HighlightedText).name()
    return palette.color(QPalette.ColorRole.ButtonText).name()


def render_icon(name: str, colour: str, size: QSize, ratio: float = 1.0) -> QPixmap:
    """The icon in `colour`, `size` logical pixels at `ratio` device pixels each (cached)."""
    key = (name, size.width(), size.height(), int(colour[1:], 16), ratio)
    pixmap = _pixmaps.get(key)
    if pixmap is not None:
        return pixmap
    svg = svg_source(name).replace("currentColor", colour)
    pixmap = QPixmap(max(round(size.width() * ratio), 1), max(round(size.height() * ratio), 1))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(svg.encode())).render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    if len(_pixmaps) >= _CACHE_LIMIT:
        _pixmaps.pop(next(iter(_pixmaps)))
    _pixmaps[key] = pixmap
    return pixmap


class PaletteIconEngine(QIconEngine):
    """Draws one action icon in the current palette's colours, at the asked device pixel ratio."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return render_icon(self.name, icon_colour(mode), size, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        return render_icon(self.name, icon_colour(mode), size, scale)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(QPoint(rect.x(), rect.y()), render_icon(self.name, icon_colour(mode), rect.size(), ratio))

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        side = min(size.width(), size.height())
        return QSize(side, side)

    def clone(self) -> QIconEngine:
        return PaletteIconEngine(self.name)

    def key(self) -> str:
        return "parlour-palette"


def action_icon(name: str) -> QIcon:
    """The named action icon (a file in resources/icons/actions), in the palette's colours."""
    svg_source(name)  # a missing icon fails here, where it is asked for, not at the first paint
    return QIcon(PaletteIconEngine(name))


def icon_button(name: str, tip: str, icon: str) -> QToolButton:
    """A flat icon button with a tooltip (on hover and on keyboard focus) and an accessible name."""
    button = QToolButton()
    button.setText(name)
    button.setIcon(action_icon(icon))
    button.setToolTip(tip)
    button.setAccessibleName(name)
    button.setAccessibleDescription(tip)
    button.setAutoRaise(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    side = button.fontMetrics().height()
    button.setIconSize(QSize(side, side))
    tooltip_on_focus(button)
    return button
