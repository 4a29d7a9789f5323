"""The queue in front of the engine: fair, bounded (503 with Retry-After past it), a client that goes away
cancels its reply, and an idle model is unloaded."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx
import openai
import pytest

from tests.support.parlour_server import GGUF_ID, TOKEN, Server

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LONG = [{"role": "user", "content": "Write a very long story about a river, with many chapters."}]
WAIT_S = 60


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_full_queue_is_503_and_a_client_that_leaves_is_cancelled(start_server) -> None:  # noqa: ANN001
    server: Server = start_server("--queue", "1")
    client = openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120)
    first = client.chat.completions.create(model=GGUF_ID, messages=LONG, max_tokens=2000, temperature=0, stream=True)
    next(iter(first))  # the first reply holds the engine
    waiting: dict[str, object] = {}

    def second() -> None:
        waiting["answer"] = client.chat.completions.create(model=GGUF_ID, messages=LONG, max_tokens=4, temperature=0)

    thread = threading.Thread(target=second)
    thread.start()
    wait_for(lambda: "a request waits its turn (0 waiting before it)" in server.log(), "the second request to wait")
    third = httpx.post(
        f"{server.url}/chat/completions",
        json={"model": GGUF_ID, "messages": LONG, "max_tokens": 4},
        headers=AUTH,
        timeout=30,
    )
    assert third.status_code == 503 and third.headers["retry-after"] == "2"
    assert "waiting already" in third.json()["error"]["message"]
    first.close()  # the first client goes away mid-reply
    wait_for(lambda: "cancelled: its client went away" in server.log(), "the reply to be cancelled")
    thread.join(WAIT_S)
    assert not thread.is_alive() and waiting["answer"].choices[0].message.content  # its turn came


def test_an_idle_model_is_unloaded(start_server) -> None:  # noqa: ANN001
    server: Server = start_server("--idle-minutes", "0.02")
    client = openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120)
    assert server.models()[GGUF_ID]["state"] == "not-loaded"
    client.chat.completions.create(model=GGUF_ID, messages=LONG, max_tokens=2, temperature=0)
    wait_for(lambda: server.models()[GGUF_ID]["state"] == "not-loaded", "the idle model to be unloaded")
    assert "unloading SmolLM2 135M Instruct (starter) after" in server.log() and "s idle" in server.log()
    again = client.chat.completions.create(model=GGUF_ID, messages=LONG, max_tokens=2, temperature=0)
    assert again.choices[0].message.content is not None  # loaded again on demand


def test_a_model_named_at_start_is_loaded_before_the_first_request(start_server) -> None:  # noqa: ANN001
    server: Server = start_server("--model", GGUF_ID)
    assert server.models()[GGUF_ID]["state"] == "loaded"


@pytest.mark.mlx
def test_models_that_do_not_fit_together_take_turns(start_server) -> None:  # noqa: ANN001
    from tests.support.parlour_server import MLX_ID

    # The fit estimate puts the starter near 0.5 GB and its MLX copy near 1.1 GB: 1.2 GB holds one at a time.
    server: Server = start_server("--memory", "1.2")
    client = openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120)
    hello = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model=GGUF_ID, messages=hello, max_tokens=2, temperature=0)
    client.chat.completions.create(model=MLX_ID, messages=hello, max_tokens=2, temperature=0)
    states = server.models()
    assert states[MLX_ID]["state"] == "loaded" and states[GGUF_ID]["state"] == "not-loaded"
    assert "unloading SmolLM2 135M Instruct (starter) to make room" in server.log()
