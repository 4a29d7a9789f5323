"""An unreachable Hub is reported as offline within seconds: a closed port, and a server that accepts the
connection but never answers. huggingface_hub's list_models retried for 23 s (and waited for ever on the
silent one); a person watching "Searching…" deserves better.

The tests hold the behaviour (one sentence, the badge, a bounded timeout on every request); how long it takes
is measured by benchmarks/hub_offline.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.library.errors import OfflineError
from app.library.fit import MemoryBudget
from app.library.hub import SearchQuery, search_models
from app.library.recommendations import Machine, RecommendedVariant, plan_recommended_download
from app.ui.browser import HubBrowser

WAIT_MS = 60_000  # a cap on the wait, not a measure: the timeouts below are what bound it
OFFLINE = "You are offline: Parlour cannot reach the Hugging Face Hub."


@pytest.fixture(params=["closed-port", "silent-server"])
def unreachable_hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """HF_ENDPOINT at a port nobody listens on (127.0.0.1:9), or at a socket that listens and never answers."""
    import huggingface_hub.constants

    silent = None
    if request.param == "closed-port":
        endpoint = "http://127.0.0.1:9"
    else:
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes the connections; nobody ever reads or writes
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield request.param
    if silent is not None:
        silent.close()


def test_a_search_of_an_unreachable_hub_says_offline(unreachable_hub: str) -> None:
    with pytest.raises(OfflineError) as offline:
        search_models(SearchQuery("qwen", formats=("mlx", "gguf")))
    assert str(offline.value).startswith(OFFLINE)


def test_planning_a_download_from_an_unreachable_hub_says_offline(unreachable_hub: str, tmp_path: Path) -> None:
    variant = RecommendedVariant("gguf", "bartowski/Qwen_Qwen3-8B-GGUF", "Q4_K_M", "Qwen_Qwen3-8B-Q4_K_M.gguf", 1, 1)
    with pytest.raises(OfflineError):
        plan_recommended_download(variant, tmp_path)


def test_the_browser_shows_the_offline_sentence_and_badge(qtbot, unreachable_hub: str) -> None:
    budget = MemoryBudget("cpu", 8_000_000_000, 8_000_000_000, "8.0 GB of available RAM")
    browser = HubBrowser(machine=Machine(budget, 8, 8192))
    qtbot.addWidget(browser)
    browser.show()
    qtbot.keyClicks(browser.search_box, "qwen")
    qtbot.waitUntil(lambda: browser.offline_badge.isVisible(), timeout=WAIT_MS)
    assert browser.status.text().startswith(OFFLINE)


def test_every_interactive_request_has_a_timeout_of_seconds() -> None:
    from app.library.hub_connection import interactive_timeout

    timeout = interactive_timeout()
    assert timeout.connect is not None and timeout.connect <= 5
    assert timeout.read is not None and timeout.read <= 5
