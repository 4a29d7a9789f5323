"""The main window on a real store with the starter model loaded, shared by the window's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.store.db import open_store
from app.ui.main_window import MainWindow

LOAD_TIMEOUT_MS = 60_000
REPLY_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    store = open_store(tmp_path / "parlour.db")
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.session.is_loaded, timeout=LOAD_TIMEOUT_MS)
    yield win
    win.close()
    store.close()


@pytest.fixture
def restored_theme(qapp: QApplication) -> Iterator[None]:
    """A test that switches the theme leaves the application's style and palette as they were."""
    style, palette = qapp.style().name(), qapp.palette()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
