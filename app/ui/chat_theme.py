"""Colours and fonts of the chat pane, taken from the widget's palette so that light and dark
themes both stay readable; only code gets fixed colours, from a light or dark Pygments style."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette

from app.ui.theme import readable_muted

TEXT_COLUMN_PX = 760  # the widest the chat's text runs: longer lines are hard to read
MESSAGE_PADDING_PX = 14  # between a message's edge and its text, on each side
# Pygments styles whose every token colour reads at 4.5:1 or more on their code background
# (tests/ui/test_contrast.py checks them).
LIGHT_CODE_STYLE = "xcode"
DARK_CODE_STYLE = "github-dark"
# For a Pygments style that names no background or text colour of its own.
CODE_BACKGROUND = "#f8f8f8"
# Backgrounds Parlour gives a style in place of its own: xcode's white would not set code apart.
CODE_BACKGROUND_OVERRIDES = {"xcode": "#f5f6f8"}
CODE_TEXT_ON_DARK = "#e6edf3"
CODE_TEXT_ON_LIGHT = "#1f2328"


@dataclass(frozen=True)
class ChatTheme:
    """The fonts and colours one chat view draws with."""

    dark: bool
    font: QFont
    mono: QFont
    link: QColor
    muted: QColor
    border: QColor
    code_style: str  # a Pygments style name

    @classmethod
    def from_palette(cls, palette: QPalette, font: QFont) -> ChatTheme:
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if font.pointSizeF() > 0:
            mono.setPointSizeF(font.pointSizeF() * 0.95)
        return cls(
            dark=dark,
            font=QFont(font),
            mono=mono,
            link=palette.color(QPalette.ColorRole.Link),
            muted=readable_muted(palette),
            border=palette.color(QPalette.ColorRole.Mid),
            code_style=DARK_CODE_STYLE if dark else LIGHT_CODE_STYLE,
        )
