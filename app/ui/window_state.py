"""The main window's size, place and splitter positions, kept in the store's settings between runs
(which panels show, and the chat's text size, are the window actions' to keep)."""

from __future__ import annotations

import base64
import binascii
import contextlib

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow, QSplitter

from app.store import settings
from app.store.db import Store
from app.store.errors import StoreError
from app.store.settings import Setting


def _encoded(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode()


def restore_window_state(store: Store, window: QMainWindow, splitter: QSplitter) -> None:
    """Put the window back as it was; anything missing or unreadable keeps the defaults."""
    with contextlib.suppress(StoreError, binascii.Error, ValueError):
        geometry = settings.get(store, Setting.WINDOW_GEOMETRY)
        if geometry:
            window.restoreGeometry(QByteArray(base64.b64decode(geometry)))
        layout = settings.get(store, Setting.WINDOW_SPLITTER)
        if layout:
            splitter.restoreState(QByteArray(base64.b64decode(layout)))


def save_window_state(store: Store, window: QMainWindow, splitter: QSplitter) -> None:
    with contextlib.suppress(StoreError):
        settings.put(store, Setting.WINDOW_GEOMETRY, _encoded(window.saveGeometry()))
        settings.put(store, Setting.WINDOW_SPLITTER, _encoded(splitter.saveState()))
