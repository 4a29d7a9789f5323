"""Syntax colours for fenced code, from Pygments, as QTextCharFormats.

The document writer inserts highlighted runs straight into the message's QTextDocument, once per
code chunk. A QSyntaxHighlighter would instead re-highlight blocks whenever the document changes
and needs a per-line state that Pygments lexers do not offer; inline formats cost nothing after
the chunk is written. Pygments is imported on the first code block, not at start-up.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QFont, QTextCharFormat

from app.ui.background import run_in_background
from app.ui.chat_theme import CODE_BACKGROUND, CODE_BACKGROUND_OVERRIDES, CODE_TEXT_ON_DARK, CODE_TEXT_ON_LIGHT

log = logging.getLogger(__name__)


class CodeHighlighter:
    """One Pygments style as text formats, cached per token type."""

    def __init__(self, style_name: str, mono: QFont) -> None:
        from pygments.styles import get_style_by_name

        self.style = get_style_by_name(style_name)
        background = CODE_BACKGROUND_OVERRIDES.get(style_name) or self.style.background_color or CODE_BACKGROUND
        self.background = QColor(background)
        base = self.style.style_for_token(_text_token())
        self.foreground = QColor(f"#{base['color']}") if base.get("color") else _contrasting(self.background)
        self.plain = QTextCharFormat()
        self.plain.setFont(mono)
        self.plain.setForeground(self.foreground)
        self._formats: dict[Any, QTextCharFormat] = {}

    def runs(self, code: str, language: str) -> list[tuple[str, QTextCharFormat]]:
        """The code as (text, format) runs; newlines stay inside the text."""
        lexer = _lexer(language.lower())
        if lexer is None:
            return [(code, self.plain)]
        return [(value, self._format(token)) for token, value in lexer.get_tokens(code) if value]

    def _format(self, token: Any) -> QTextCharFormat:
        fmt = self._formats.get(token)
        if fmt is None:
            spec = self.style.style_for_token(token)
            fmt = QTextCharFormat(self.plain)
            if spec.get("color"):
                fmt.setForeground(QColor(f"#{spec['color']}"))
            if spec.get("bold"):
                fmt.setFontWeight(QFont.Weight.Bold)
            if spec.get("italic"):
                fmt.setFontItalic(True)
            if spec.get("underline"):
                fmt.setFontUnderline(True)
            self._formats[token] = fmt
        return fmt


def _text_token() -> Any:
    from pygments.token import Text

    return Text


def _contrasting(background: QColor) -> QColor:
    return QColor(CODE_TEXT_ON_DARK) if background.lightness() < 128 else QColor(CODE_TEXT_ON_LIGHT)


# Languages worth preparing before the first reply needs them: a lexer's first use compiles its
# regular expressions, 20-100 ms that would otherwise stall the window mid-stream.
COMMON_LANGUAGES = (
    "python",
    "bash",
    "javascript",
    "typescript",
    "json",
    "rust",
    "c",
    "cpp",
    "go",
    "java",
    "sql",
    "yaml",
    "html",
    "css",
    "text",
)
_warm_up_started = False
_warmed_up = threading.Event()  # set on the worker when the warm-up is over, however it went


def warm_up_in_background(style_names: tuple[str, ...] = ()) -> None:
    """Import Pygments and prepare the common lexers on a worker thread, once per process."""
    global _warm_up_started
    application = QCoreApplication.instance()
    if _warm_up_started or application is None:
        return
    _warm_up_started = True

    def run() -> None:
        try:
            from pygments.styles import get_style_by_name

            for name in style_names:
                get_style_by_name(name)
            for language in COMMON_LANGUAGES:
                _lexer(language)
        finally:
            _warmed_up.set()

    run_in_background(application, run, lambda _: None, lambda error: log.warning("Pygments warm-up: %s", error))


def wait_for_warm_up(timeout: float | None = None) -> bool:
    """For benchmarks and tests: True once the background warm-up has finished (or never started)."""
    return _warmed_up.wait(timeout) if _warm_up_started else True


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    """A lexer for the fence's language, or None for plain text (no guessing: it is slow and often wrong)."""
    if not language:
        return None
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None
