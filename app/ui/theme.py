"""Light and dark: follow the system by default; PARLOUR_THEME=light|dark forces one
(useful where no desktop theme exists, such as a virtual screen for screenshots)."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

DARK = {
    QPalette.ColorRole.Window: "#202124",
    QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#17181a",
    QPalette.ColorRole.AlternateBase: "#26272b",
    QPalette.ColorRole.Text: "#e8eaed",
    QPalette.ColorRole.Button: "#2d2e31",
    QPalette.ColorRole.ButtonText: "#e8eaed",
    QPalette.ColorRole.Highlight: "#3d6fd6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#2d2e31",
    QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    QPalette.ColorRole.Mid: "#3c4043",
}
LIGHT = {
    QPalette.ColorRole.Window: "#f5f5f7",
    QPalette.ColorRole.WindowText: "#1d1d1f",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f0f0f2",
    QPalette.ColorRole.Text: "#1d1d1f",
    QPalette.ColorRole.Button: "#e8e8ed",
    QPalette.ColorRole.ButtonText: "#1d1d1f",
    QPalette.ColorRole.Highlight: "#2f6fde",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1d1d1f",
    QPalette.ColorRole.Link: "#1a57c9",
    QPalette.ColorRole.PlaceholderText: "#636366",  # muted text (stats, hints) at 4.5:1 on every background
    QPalette.ColorRole.Mid: "#d2d2d7",
}


# Text that reports a problem (a status line, a refused value), readable on each background.
ERROR_TEXT_LIGHT = "#c0392b"
ERROR_TEXT_DARK = "#f28b82"


# A badge that says the network is unreachable: white on a muted red, on either background.
BADGE_TEXT = "#ffffff"
BADGE_WARNING = "#a33a33"


def badge_style() -> str:
    """A style sheet for a small warning badge (the Hub browser's "offline")."""
    return f"color: {BADGE_TEXT}; background: {BADGE_WARNING}; padding: 1px 6px; border-radius: 3px;"


# Fit badges: green when a model fits, amber when it fits only with less (context, GPU layers), red when not.
BADGE_FITS = "#2e7d32"
BADGE_CAUTION = "#8a6500"


def fit_badge_style(badge: str) -> str:
    """A style sheet for the fit estimate's badge ("Fits", "Fits with context 4096", "Too large", ...)."""
    colour = BADGE_FITS if badge == "Fits" else BADGE_WARNING if badge == "Too large" else BADGE_CAUTION
    return f"color: {BADGE_TEXT}; background: {colour}; padding: 1px 6px; border-radius: 3px;"


def chosen_mode(mode: str | None = None) -> str:
    """The theme asked for: `mode`, else PARLOUR_THEME, else "system"."""
    mode = (mode or os.environ.get("PARLOUR_THEME") or "system").lower()
    return mode if mode in ("light", "dark") else "system"


def system_mode(scheme: Qt.ColorScheme | None = None) -> str | None:
    """ "light" or "dark" as the system says now (or as `scheme` says); None where it does not say."""
    if scheme is None:
        scheme = QGuiApplication.styleHints().colorScheme()
    return {Qt.ColorScheme.Dark: "dark", Qt.ColorScheme.Light: "light"}.get(scheme)


def apply_theme(app: QApplication, mode: str | None = None, scheme: Qt.ColorScheme | None = None) -> str:
    """Apply the theme; returns the mode in effect: light, dark, or system (the platform's own palette).

    PARLOUR_THEME (or `mode`) forces light or dark. Otherwise the system's colour scheme picks
    Parlour's light or dark palette (whose contrast is tested), except on macOS, whose native style
    draws both schemes itself. Where the system does not say (no desktop theme), the platform's
    palette stays.
    """
    chosen = chosen_mode(mode)
    if chosen == "system" and sys.platform != "darwin":
        chosen = system_mode(scheme) or "system"
    if chosen == "system":
        return "system"
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (DARK if chosen == "dark" else LIGHT).items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)  # every widget gets a PaletteChange and repaints: the switch is live
    return chosen


def follow_system_theme(app: QApplication | None = None) -> None:
    """Switch between light and dark live when the system does (unless PARLOUR_THEME forces one)."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    if app is None or app.property("parlour_follows_theme"):
        return
    app.setProperty("parlour_follows_theme", True)
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_theme(app, scheme=scheme))


READABLE = 4.5  # WCAG AA contrast for text


def luminance(colour: QColor) -> float:
    """WCAG relative luminance."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor | str, b: QColor | str) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_muted(palette: QPalette) -> QColor:
    """The palette's muted text colour, moved toward its text colour until it reads at 4.5:1 on the base
    (a platform palette's placeholder grey is often lighter than that)."""
    muted, text = palette.color(QPalette.ColorRole.PlaceholderText), palette.color(QPalette.ColorRole.Text)
    base = palette.color(QPalette.ColorRole.Base)
    for step in range(11):
        share = step / 10
        mixed = QColor.fromRgbF(
            muted.redF() + (text.redF() - muted.redF()) * share,
            muted.greenF() + (text.greenF() - muted.greenF()) * share,
            muted.blueF() + (text.blueF() - muted.blueF()) * share,
        )
        if contrast(mixed, base) >= READABLE:
            return mixed
    return text


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour(palette: QPalette) -> QColor:
    return QColor(ERROR_TEXT_DARK if is_dark(palette) else ERROR_TEXT_LIGHT)


def error_style(palette: QPalette) -> str:
    """A style sheet for a label that reports a problem."""
    return f"color: {error_colour(palette).name()};"
