"""The model picker: the first listing loads the first usable model; listing again (a download finished, the
library refreshed) never loads anything and keeps the loaded model chosen."""

from __future__ import annotations

from app.ui.main_window import MainWindow


def test_listing_again_keeps_the_loaded_model(qtbot, window: MainWindow) -> None:
    loaded = window.session.info.path
    assert window.picker.box.currentData() == loaded
    starts: list[str] = []
    window.session.load_started.connect(starts.append)
    for _ in range(2):
        with qtbot.waitSignal(window.picker.listed, timeout=30_000):
            window.picker.refresh()
    assert starts == []  # nothing was loaded again
    assert window.session.is_loaded and window.picker.box.currentData() == loaded


def test_opening_the_library_does_not_reload_the_model(qtbot, window: MainWindow) -> None:
    starts: list[str] = []
    window.session.load_started.connect(starts.append)
    # The library's listing makes the picker list again; wait for that listing, then look.
    with qtbot.waitSignal(window.picker.listed, timeout=30_000):
        window.show_library()
    library = window.tool_windows["library"]
    assert library.table.rowCount() > 0
    assert starts == [] and window.session.is_loaded
    library.close()
