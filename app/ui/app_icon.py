"""The application icon, read from the package's resources so a wheel or an app bundle finds it."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from PySide6.QtGui import QIcon, QPixmap

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def icon_png(size: int) -> Traversable:
    """The PNG rendering of the icon at one of ICON_SIZES."""
    return files("resources.icons") / f"parlour-{size}.png"


def app_icon() -> QIcon:
    """Every PNG size in one QIcon, so each window manager picks a sharp one (needs a QGuiApplication)."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        # From bytes rather than a path: a resource need not be a plain file on disk.
        if pixmap.loadFromData(icon_png(size).read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon
