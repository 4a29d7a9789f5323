"""The Hub browser, offscreen with real widgets, against the stand-in Hub."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt

from app.library.fit import CONTEXT_LADDER
from app.library.hub import SearchResult
from app.library.settings import fit_context
from app.ui.browser import HubBrowser
from app.ui.search_results_model import ResultRole, SearchResultsModel
from tests.library.helpers import models_root
from tests.support.fake_hub import FakeHub
from tests.support.fake_hub_repos import GGUF_REPO

WAIT_MS = 20_000


@pytest.fixture
def browser(qtbot, hub: FakeHub) -> Iterator[HubBrowser]:
    original = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # as on a Linux without a Secret Service
    widget = HubBrowser()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.queue.wait_all(30)
    keyring.set_keyring(original)


def test_search_as_you_type_open_a_model_and_download_a_variant(qtbot, browser: HubBrowser, hub: FakeHub) -> None:
    assert hub.requests == []  # nothing on the network before the user asks
    qtbot.keyClicks(browser.search_box, "smol")
    qtbot.waitUntil(lambda: browser.results.rowCount() == 1, timeout=WAIT_MS)
    searches = [r for r in hub.requests if r.path == "/api/models"]
    assert len(searches) == 1 and searches[0].query["search"] == ["smol"]  # typing was debounced
    assert browser.status.text() == "1 model"

    with qtbot.waitSignal(browser.page_shown, timeout=WAIT_MS):
        browser.results_view.setCurrentIndex(browser.results.index(0))
    assert "License: apache-2.0" in browser.facts.text() and "Architecture: llama" in browser.facts.text()
    assert browser.card.toPlainText().startswith("SmolLM2-135M-Instruct GGUF")
    labels = [browser.variants.item(row, 0).text() for row in range(browser.variants.rowCount())]
    assert labels == ["Q8_0 (2 parts)", "Q4_1"]
    assert [browser.variants.item(row, 2).text() for row in range(2)] == ["Fits", "Fits"]
    assert "Needs about" in browser.variants.item(1, 2).toolTip()

    browser.variants.selectRow(1)
    assert browser.download_button.isEnabled()
    qtbot.mouseClick(browser.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.progress_label.text().startswith("Downloaded to"), timeout=WAIT_MS)
    assert browser.progress.value() == 1000
    assert (models_root() / GGUF_REPO / "SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size == 98362432


def test_offline_shows_the_badge_and_the_window_carries_on(qtbot, browser: HubBrowser, hub: FakeHub) -> None:
    qtbot.keyClicks(browser.search_box, "smol")
    qtbot.waitUntil(lambda: browser.results.rowCount() == 1, timeout=WAIT_MS)
    hub.stop()
    browser.open_model(0)
    qtbot.waitUntil(lambda: browser.offline_badge.isVisible(), timeout=WAIT_MS)
    assert browser.status.text().startswith("You are offline")


def test_a_token_without_a_keyring_is_kept_for_the_session_and_said_so(qtbot, browser: HubBrowser) -> None:
    browser.set_token("hf_session_only")
    qtbot.waitUntil(lambda: "this session only" in browser.token_status.text(), timeout=WAIT_MS)
    assert browser.token_store.get() == "hf_session_only"


def test_results_model_passes_the_model_tester(qtmodeltester) -> None:
    model = SearchResultsModel()
    model.replace([SearchResult("a/b", "gguf", 10, 1), SearchResult("c/d", "mlx", 5, 2)])
    model.append([SearchResult("e/f", "gguf", 1, 0)])
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.data(model.index(1), ResultRole.FORMAT) == "mlx"


def test_author_words_narrow_the_search(qtbot, browser: HubBrowser, hub: FakeHub) -> None:
    browser.search_box.setText("smol author:HuggingFaceTB")
    query = browser.query()
    assert (query.text, query.author, query.formats) == ("smol", "HuggingFaceTB", ("gguf",))
    qtbot.waitUntil(lambda: browser.results.rowCount() == 1, timeout=WAIT_MS)
    assert [r.query.get("author") for r in hub.requests] == [["HuggingFaceTB"]]


def test_pause_resume_and_cancel_buttons(qtbot, browser: HubBrowser, hub: FakeHub) -> None:
    hub.faults.throttle_bytes_per_s = 40_000_000
    qtbot.keyClicks(browser.search_box, "smol")
    qtbot.waitUntil(lambda: browser.results.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(browser.page_shown, timeout=WAIT_MS):
        browser.results_view.setCurrentIndex(browser.results.index(0))
    browser.variants.selectRow(1)
    job = browser.download_selected()
    assert job is not None
    qtbot.waitUntil(lambda: " of 98.4 MB · " in browser.progress_label.text(), timeout=WAIT_MS)
    qtbot.mouseClick(browser.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.progress_label.text().startswith("Paused at"), timeout=WAIT_MS)
    assert browser.pause_button.text() == "Resume"
    qtbot.mouseClick(browser.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.pause_button.text() == "Pause" and job.done_bytes > 0, timeout=WAIT_MS)
    qtbot.mouseClick(browser.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: browser.progress_label.text().startswith("Cancelled"), timeout=WAIT_MS)
    assert not browser.cancel_button.isEnabled() and browser.download_button.isEnabled()
    assert (models_root() / GGUF_REPO / "SmolLM2-135M-Instruct.Q4_1.gguf.part").exists()


def test_the_fit_context_offers_the_estimates_ladder_and_is_remembered(qtbot, browser: HubBrowser) -> None:
    offered = [browser.context_box.itemData(i) for i in range(browser.context_box.count())]
    assert offered == sorted(CONTEXT_LADDER)
    assert browser.context_box.currentData() == 8192  # nothing chosen yet
    browser.context_box.setCurrentIndex(offered.index(32768))
    assert fit_context() == 32768  # kept in the store
    again = HubBrowser()
    qtbot.addWidget(again)
    assert again.context_box.currentData() == 32768
