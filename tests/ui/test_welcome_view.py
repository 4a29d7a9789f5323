"""The first-run page: recommendations whose fit badges are the fit estimate's, an example prompt sent when
clicked, a recommended model downloaded from the Hub stand-in with progress, offline said plainly; and the
Hub browser opening on the same recommendations without touching the network."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.library.downloads import DownloadQueue
from app.library.fit import MemoryBudget, judge_fit
from app.library.recommendations import Machine, RecommendedVariant, load_recommendations, suggest
from app.ui.browser import HubBrowser
from app.ui.welcome_view import SHOWN, WelcomeView
from engines.inspect import human_size
from tests.library.conftest import hub, private_home  # noqa: F401 - the Hub stand-in and a private home
from tests.support.fake_hub import FakeHub
from tests.support.fake_hub_repos import GGUF_REPO

GB = 1_000_000_000
SMALL = Machine(MemoryBudget("cpu", 6 * GB, 6 * GB, "6.0 GB of available RAM"), 8, 8192)
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
WAIT_MS = 60_000


def welcome(qtbot, machine: Machine = SMALL, recommendations=None) -> WelcomeView:  # noqa: ANN001
    view = WelcomeView(DownloadQueue(), machine=machine, recommendations=recommendations)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    return view


def test_recommendations_carry_the_fit_estimates_badges_and_sizes(qtbot) -> None:
    view = welcome(qtbot)
    rows = view.row_texts()
    assert len(rows) == SHOWN
    expected = suggest(SMALL.budget, ("gguf",), SMALL.context, SMALL.tier)[:SHOWN]
    for (name, badge, size), suggestion in zip(rows, expected, strict=True):
        variant = suggestion.variant
        verdict = judge_fit(variant.engine, suggestion.recommendation.shape, variant.weights_bytes, 8192, SMALL.budget)
        assert (name, badge, size) == (suggestion.name, verdict.badge, human_size(variant.download_bytes))
    assert "6.0 GB of available RAM" in view.machine_line.text()


def test_a_machine_too_small_for_a_model_is_told_so() -> None:
    tiny = MemoryBudget("cpu", 2 * GB, 2 * GB, "2.0 GB of available RAM")
    badges = {s.verdict.badge for s in suggest(tiny, ("gguf",), 8192, 8)}
    assert "Too large" in badges  # the badges are not all "Fits" whatever the machine


def test_clicking_an_example_prompt_asks_for_it(qtbot) -> None:
    view = welcome(qtbot)
    button = view.prompt_buttons[1]
    with qtbot.waitSignal(view.prompt_chosen) as chosen:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert chosen.args == [button.text()]


@pytest.fixture
def starter_recommended() -> tuple:
    """The shipped first entry, pointed at the starter's repository on the Hub stand-in."""
    first = load_recommendations()[0]
    variant = RecommendedVariant("gguf", GGUF_REPO, "Q4_1", STARTER_FILE, 98_362_432, 98_362_432)
    return (dataclasses.replace(first, key="starter-again", name="SmolLM2 again", variants=(variant,)),)


def test_one_click_downloads_a_recommended_model_with_progress(qtbot, hub: FakeHub, starter_recommended) -> None:  # noqa: F811
    view = welcome(qtbot, recommendations=starter_recommended)
    assert hub.requests == []  # listing recommendations asks nothing of the network
    fractions: list[int] = []
    view.downloads.progress.valueChanged.connect(fractions.append)
    with qtbot.waitSignal(view.model_downloaded, timeout=WAIT_MS) as downloaded:
        qtbot.mouseClick(view.download_button("SmolLM2 again"), Qt.MouseButton.LeftButton)
    folder = Path(downloaded.args[0])
    assert (folder / STARTER_FILE).stat().st_size == 98_362_432
    assert view.downloads.isVisible() and fractions and fractions[-1] == 1000
    assert not view.offline_badge.isVisible()
    use = view.download_button("SmolLM2 again")  # the second click: use it
    assert use.text() == "Use this model" and use.accessibleName() == "Use SmolLM2 again"
    with qtbot.waitSignal(view.use_requested) as used:
        qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    assert used.args == [str(folder / STARTER_FILE), "SmolLM2 again"]
    view.queue.wait_all(30)


def test_offline_is_said_plainly(qtbot, monkeypatch: pytest.MonkeyPatch, starter_recommended) -> None:  # noqa: F811
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nobody listens there
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    view = welcome(qtbot, recommendations=starter_recommended)
    qtbot.mouseClick(view.download_button("SmolLM2 again"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.offline_badge.isVisible, timeout=WAIT_MS)
    assert view.downloads.progress_label.text().startswith("You are offline")
    assert view.download_button("SmolLM2 again").isEnabled()  # it can be tried again


def test_the_browser_opens_on_the_recommendations_without_the_network(qtbot, hub: FakeHub) -> None:  # noqa: F811
    browser = HubBrowser(machine=SMALL)
    qtbot.addWidget(browser)
    browser.show()
    found = suggest(SMALL.budget, browser.format_box.currentData(), int(browser.context_box.currentData()), 8)
    assert browser.results.rowCount() == len(found) > SHOWN
    assert browser.status.text().startswith("Recommended for this computer")
    assert hub.requests == []


def test_a_better_model_in_two_clicks_from_the_window(qtbot, window, hub: FakeHub, starter_recommended) -> None:  # noqa: ANN001, F811
    page = window.welcome
    qtbot.waitUntil(lambda: bool(page.suggestions), timeout=WAIT_MS)
    page._recommendations = starter_recommended  # the stand-in Hub has the starter's repository only
    page.show_recommendations(SMALL)
    with qtbot.waitSignal(page.model_downloaded, timeout=WAIT_MS):
        qtbot.mouseClick(page.download_button("SmolLM2 again"), Qt.MouseButton.LeftButton)  # one
    with qtbot.waitSignal(window.session.loaded, timeout=WAIT_MS):
        qtbot.mouseClick(page.download_button("SmolLM2 again"), Qt.MouseButton.LeftButton)  # two
    assert window.session.name == "SmolLM2 again"
    assert window.status_line.text() == "SmolLM2 again loaded · llama.cpp"
    assert "SmolLM2 again" in page.model_line.text()
    page.queue.wait_all(30)
