"""Search and model pages through the real huggingface_hub client, against the stand-in Hub."""

from __future__ import annotations

import pytest

from app.library.errors import LibraryError, NotFoundError, OfflineError
from app.library.fit import MemoryBudget
from app.library.hub import HubSearch, SearchQuery, default_formats, search_models
from app.library.model_page import card_excerpt, load_model_page
from tests.support.fake_hub import FakeHub, HubFile, HubRepo
from tests.support.fake_hub_repos import GATED_REPO, GGUF_REPO, MLX_REPO


def test_search_filters_by_format_and_text_and_asks_once(hub: FakeHub) -> None:
    page = search_models(SearchQuery("smol", formats=("gguf",)))
    assert [r.repo_id for r in page.results] == [GGUF_REPO]
    assert page.results[0].downloads == 5000 and page.results[0].format == "gguf"
    (request,) = hub.requests
    assert request.path == "/api/models"
    assert request.query["filter"] == ["gguf"] and request.query["search"] == ["smol"]
    assert request.query["sort"] == ["downloads"]
    assert "authorization" not in request.headers  # no token given, none read from disk


def test_mlx_first_then_gguf_on_apple_silicon_and_gguf_alone_elsewhere(hub: FakeHub) -> None:
    assert default_formats(apple_silicon=True) == ("mlx", "gguf")
    assert default_formats(apple_silicon=False) == ("gguf",)
    page = search_models(SearchQuery("", formats=("mlx", "gguf")))
    formats = [r.format for r in page.results]
    assert formats == sorted(formats, key=lambda f: f != "mlx") and formats[0] == "mlx"
    assert {r.repo_id for r in page.results} == {MLX_REPO, GGUF_REPO, GATED_REPO}


def test_paging_sort_and_author(hub: FakeHub) -> None:
    for index in range(5):
        hub.add(
            HubRepo(
                f"bartowski/Model-{index}-GGUF",
                [HubFile("m-Q4_K_M.gguf", data=b"x", lfs=True)],
                tags=["gguf"],
                likes=index * 10,
                downloads=index,
            )
        )
    search = HubSearch(SearchQuery("", formats=("gguf",), sort="likes", author="bartowski", page_size=2))
    first, second, third = search.next_page(), search.next_page(), search.next_page()
    assert [r.repo_id for r in first.results] == ["bartowski/Model-4-GGUF", "bartowski/Model-3-GGUF"]
    assert [r.repo_id for r in second.results] == ["bartowski/Model-2-GGUF", "bartowski/Model-1-GGUF"]
    assert [r.repo_id for r in third.results] == ["bartowski/Model-0-GGUF"] and not third.more
    assert [r.query["limit"] for r in hub.requests] == [["2"], ["4"], ["6"]]  # one request a page
    assert all(r.query["author"] == ["bartowski"] and r.query["sort"] == ["likes"] for r in hub.requests)


def test_gguf_model_page(hub: FakeHub) -> None:
    page = load_model_page(GGUF_REPO)
    assert page.license == "apache-2.0" and page.architecture == "llama"
    assert page.parameter_count == 134515008 and page.context_length == 8192
    assert page.card_excerpt.startswith("SmolLM2-135M-Instruct GGUF\n\nSmolLM2 is a family")
    assert "![" not in page.card_excerpt and "|" not in page.card_excerpt and "license:" not in page.card_excerpt
    assert [v.label for v in page.variants] == ["Q8_0 (2 parts)", "Q4_1"]
    assert page.variants[1].size == 98362432
    assert page.shapes["gguf"].layers == 30  # read from the header with byte ranges, not a download
    header_reads = [r for r in hub.requests if r.server == "cdn"]
    assert header_reads and all(r.range and r.range.startswith("bytes=0-") for r in header_reads)
    roomy = MemoryBudget("cpu", 10**10, 10**10, "10 GB of RAM")
    assert page.fit(page.variants[1], 8192, roomy).badge == "Fits"
    tight = MemoryBudget("cpu", 300_000_000, 300_000_000, "300 MB of RAM")
    assert page.fit(page.variants[1], 8192, tight).badge == "Fits with context 2048"


def test_mlx_model_page(hub: FakeHub) -> None:
    page = load_model_page(MLX_REPO)
    (variant,) = page.variants
    assert variant.label == "MLX 4-bit" and page.license == "mit" and page.context_length == 4096
    assert page.parameter_count == 2048 * 8 + 576  # packed 4-bit weights counted unpacked
    assert page.shapes["mlx"].layers == 2
    assert "modeling_custom.py" not in [f.path for f in variant.files]


def test_gated_model_page_shows_but_its_fit_is_unknown(hub: FakeHub) -> None:
    page = load_model_page(GATED_REPO)
    assert page.gated and page.fit(page.variants[0], 4096, MemoryBudget("cpu", 10**10, 10**10, "")).badge == "Unknown"


def test_unknown_repository_is_one_sentence(hub: FakeHub) -> None:
    with pytest.raises(NotFoundError, match=r"^nobody/nothing was not found on the Hugging Face Hub"):
        load_model_page("nobody/nothing")


def test_no_network_says_offline(hub: FakeHub) -> None:
    # (A search says the same, after huggingface_hub's own five retries: about 23 seconds.)
    hub.stop()
    with pytest.raises(OfflineError, match="You are offline"):
        load_model_page(GGUF_REPO)


def test_hf_hub_offline_is_honoured_without_a_request(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="offline mode"):
        search_models(SearchQuery("smol"))
    with pytest.raises(OfflineError, match="offline mode"):
        load_model_page(GGUF_REPO)
    assert hub.requests == []


def test_server_errors_and_bad_queries_are_sentences(hub: FakeHub) -> None:
    hub.fail(r"^/api/models/", 503)
    with pytest.raises(LibraryError, match=r"had a problem \(error 503\)"):
        load_model_page(GGUF_REPO)
    with pytest.raises(LibraryError, match="Sort by one of"):
        SearchQuery("x", sort="stars")


def test_card_excerpt_keeps_whole_paragraphs() -> None:
    text = "---\nlicense: mit\n---\n# Title\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(20))
    excerpt = card_excerpt(text, limit=600)
    assert excerpt.startswith("Title\n\nParagraph 0") and len(excerpt) <= 600
    assert excerpt.endswith("word")
