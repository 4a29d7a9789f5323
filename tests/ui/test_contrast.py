"""Text against its background reads at 4.5:1 or more (WCAG AA) in both themes: the palettes, the
chat's muted text and code colours, and the colours the style sheets set (errors, badges)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QColor, QPalette

from app.ui import theme
from app.ui.chat_theme import DARK_CODE_STYLE, LIGHT_CODE_STYLE
from app.ui.code_highlight import CodeHighlighter
from app.ui.theme import contrast, readable_muted

AA = theme.READABLE
Role = QPalette.ColorRole
# (text, background) roles as the widgets draw them: text fields and the chat on Base, your messages on
# AlternateBase, labels on Window, buttons, selections, tooltips, links, muted text (stats, placeholders).
PALETTE_PAIRS = [
    (Role.Text, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.Window),
    (Role.ButtonText, Role.Button),
    (Role.HighlightedText, Role.Highlight),
    (Role.ToolTipText, Role.ToolTipBase),
    (Role.Link, Role.Base),
    (Role.PlaceholderText, Role.Base),
    (Role.PlaceholderText, Role.AlternateBase),
    (Role.PlaceholderText, Role.Window),
]


def test_the_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss


@pytest.mark.parametrize("name", ["light", "dark"])
def test_palette_text_on_its_backgrounds(name: str) -> None:
    colours = theme.LIGHT if name == "light" else theme.DARK
    low = {
        f"{text.name}/{back.name}": round(contrast(colours[text], colours[back]), 2)
        for text, back in PALETTE_PAIRS
        if contrast(colours[text], colours[back]) < AA
    }
    assert low == {}


def test_a_platform_palettes_pale_grey_is_darkened_for_the_chats_muted_text() -> None:
    palette = QPalette()
    palette.setColor(Role.Base, QColor("#ffffff"))
    palette.setColor(Role.Text, QColor("#000000"))
    palette.setColor(Role.PlaceholderText, QColor("#bbbbbb"))  # 1.9:1
    muted = readable_muted(palette)
    assert contrast(muted, "#ffffff") >= AA and muted != QColor("#000000")  # still muted, and readable
    palette.setColor(Role.PlaceholderText, QColor("#555555"))  # readable already: kept
    assert readable_muted(palette) == QColor("#555555")


@pytest.mark.parametrize("name", ["light", "dark"])
def test_error_text_on_every_background(name: str) -> None:
    colours = theme.LIGHT if name == "light" else theme.DARK
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    error = theme.error_colour(palette)
    for background in (Role.Window, Role.Base, Role.AlternateBase):
        assert contrast(error, colours[background]) >= AA, background.name


def style_colours(sheet: str) -> tuple[str, str]:
    found = dict(re.findall(r"(color|background):\s*(#[0-9a-fA-F]{6})", sheet))
    return found["color"], found["background"]


@pytest.mark.parametrize("badge", ["Fits", "Fits with context 4096", "Too large"])
def test_fit_badges(badge: str) -> None:
    assert contrast(*style_colours(theme.fit_badge_style(badge))) >= AA


def test_offline_badge() -> None:
    assert contrast(*style_colours(theme.badge_style())) >= AA


@pytest.mark.parametrize("style", [LIGHT_CODE_STYLE, DARK_CODE_STYLE])
def test_every_code_colour_on_the_code_background(qapp, style: str) -> None:  # noqa: ANN001
    from pygments.token import STANDARD_TYPES, Error, Generic, Whitespace

    from app.ui.chat_theme import ChatTheme

    highlighter = CodeHighlighter(style, ChatTheme.from_palette(QPalette(), qapp.font()).mono)
    assert contrast(highlighter.foreground, highlighter.background) >= AA
    low = {}
    for token in STANDARD_TYPES:
        if token in Whitespace or token in Error or token in Generic:
            continue  # invisible, or only in diffs and broken code
        colour = highlighter._format(token).foreground().color()
        ratio = contrast(colour, highlighter.background)
        if ratio < AA:
            low[str(token)] = (colour.name(), round(ratio, 2))
    assert low == {}
