"""Empty places say what to do next: the sidebar with no chats, a chat search that finds nothing, a library
with no models (whose button opens the Hub browser), a Hub search that finds nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.library.hub import SearchQuery
from app.ui.browser import HubBrowser
from app.ui.conversation_list_presenter import NO_CHATS
from app.ui.library_view import EMPTY, LibraryView
from app.ui.main_window import MainWindow
from app.ui.search_results_model import no_results
from tests.library.conftest import hub, private_home  # noqa: F401 - the Hub stand-in and a private home
from tests.support.fake_hub import FakeHub

WAIT_MS = 30_000
STARTER = "SmolLM2 135M Instruct (starter)"


def test_an_empty_sidebar_says_how_to_start(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(window.sidebar.empty_note.isVisible)
    assert window.sidebar.empty_note.text() == NO_CHATS
    assert window.pane.stack.currentWidget() is window.welcome  # and the pane shows the first-run page


def test_an_empty_library_offers_import_and_the_recommendations(qtbot, window: MainWindow) -> None:
    window.show_library()
    library: LibraryView = window.tool_windows["library"]
    library.confirm = lambda _parent, _question: True  # as if the person answered Yes
    qtbot.waitUntil(lambda: library.table.rowCount() == 1, timeout=WAIT_MS)
    assert not library.empty_state.isVisible()
    library.select(STARTER)
    with qtbot.waitSignal(library.listed, timeout=WAIT_MS):
        library.remove_selected()  # the starter can only be hidden: now nothing is listed
    assert library.table.rowCount() == 0
    assert library.empty_state.isVisible() and library.empty_hint.text() == EMPTY
    qtbot.mouseClick(library.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "browser" in window.tool_windows and window.tool_windows["browser"].isVisible())
    with qtbot.waitSignal(library.listed, timeout=WAIT_MS):
        library.show_hidden.setChecked(True)
    library.select(STARTER)
    with qtbot.waitSignal(library.listed, timeout=WAIT_MS):
        library.remove_selected()  # unhidden again, for the rest of the window's life
    for top in list(window.tool_windows.values()):
        top.close()


def test_a_hub_search_that_finds_nothing_says_what_to_try(qtbot, hub: FakeHub, tmp_path: Path) -> None:  # noqa: F811
    browser = HubBrowser()
    qtbot.addWidget(browser)
    browser.show()
    qtbot.keyClicks(browser.search_box, "no such model anywhere")
    expected = no_results(SearchQuery("no such model anywhere", formats=browser.format_box.currentData()))
    qtbot.waitUntil(lambda: browser.status.text() == expected, timeout=WAIT_MS)
    assert browser.results.rowCount() == 0
    browser.search_box.clear()  # back to the recommendations, without the network
    qtbot.waitUntil(lambda: browser.results.rowCount() > 0, timeout=WAIT_MS)
    assert browser.status.text().startswith("Recommended for this computer")
