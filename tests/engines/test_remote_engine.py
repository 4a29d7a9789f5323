"""The remote engine through the engine host, against real OpenAI-compatible servers started here:
llama-cpp-python's own server on the starter model (with an API key), and `parlour serve`; and the
ways a remote endpoint fails, each one sentence."""

from __future__ import annotations

import os
import socket

import httpx2 as httpx
import keyring
import pytest

from engines.base import Delta, Finished, GenerationParams, RemoteError
from engines.host_client import EngineClient
from engines.remote_target import KEYRING_SERVICE, RemoteTarget
from tests.support.parlour_server import free_port
from tests.support.remote_servers import KEY, served_model

GREEDY = GenerationParams(temperature=0.0, top_p=1.0, max_tokens=24, repeat_penalty=1.0)
FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


def test_a_reply_from_llama_cpp_pythons_server(test_keyring, llama_server: str) -> None:  # noqa: ANN001
    keyring.set_password(KEYRING_SERVICE, "box", KEY)
    target = RemoteTarget("box", llama_server, served_model(llama_server))
    with EngineClient() as client:
        info = client.load(target.ref())
        assert info.engine == "remote" and info.name == f"{target.model} on box"
        events = list(client.generate(FRANCE, GREEDY))
    text = "".join(e.text for e in events if isinstance(e, Delta))
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.finish_reason in ("stop", "length"), finished.error
    assert "Paris" in text
    assert "leaves this computer" in (events[0].notice or "")  # the reply is marked as leaving the machine
    stats = finished.stats
    # This server sends no usage in a stream: the tokens are counted here, one a chunk as it sends them.
    assert stats.generated_tokens > 0 and stats.ttft_ms > 0 and stats.generation_tps > 0
    # The same request straight to the server gives the same greedy text.
    direct = httpx.post(
        f"{llama_server}/chat/completions",
        json={"model": target.model, "messages": FRANCE, "max_tokens": 24, "temperature": 0.0, "top_p": 1.0},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=120,
    ).json()
    assert direct["choices"][0]["message"]["content"] == text


def test_stop_closes_the_stream(test_keyring, llama_server: str) -> None:  # noqa: ANN001
    keyring.set_password(KEYRING_SERVICE, "box", KEY)
    target = RemoteTarget("box", llama_server, served_model(llama_server))
    with EngineClient() as client:
        client.load(target.ref())
        reply = client.generate([{"role": "user", "content": "Write a long story."}], GenerationParams(max_tokens=500))
        for event in reply:
            if isinstance(event, Delta):
                reply.cancel()
            if isinstance(event, Finished):
                break
    assert event.finish_reason == "cancelled" and event.stats.generated_tokens < 500


def test_a_wrong_key_and_a_missing_model_are_sentences(test_keyring, llama_server: str) -> None:  # noqa: ANN001
    keyring.set_password(KEYRING_SERVICE, "box", "wrong")
    with EngineClient() as client:
        with pytest.raises(RemoteError, match="box refused the API key"):
            client.load(RemoteTarget("box", llama_server, served_model(llama_server)).ref())
        keyring.set_password(KEYRING_SERVICE, "box", KEY)
        with pytest.raises(RemoteError, match="box has no model called 'nope'"):
            client.load(RemoteTarget("box", llama_server, "nope").ref())


def test_nothing_answering_is_a_sentence(test_keyring) -> None:  # noqa: ANN001
    with EngineClient() as client, pytest.raises(RemoteError, match="Parlour cannot reach gone at"):
        client.load(RemoteTarget("gone", f"http://127.0.0.1:{free_port()}/v1", "m").ref())


def test_a_server_that_never_answers_is_a_sentence(test_keyring) -> None:  # noqa: ANN001
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections; nobody ever answers
    try:
        target = RemoteTarget("silent", f"http://127.0.0.1:{silent.getsockname()[1]}/v1", "m")
        with EngineClient() as client, pytest.raises(RemoteError, match="silent did not answer within 10 s"):
            client.load(target.ref())
    finally:
        silent.close()


def test_parlour_serve_is_a_remote_too(test_keyring, start_server) -> None:  # noqa: ANN001
    from tests.support.parlour_server import GGUF_ID, TOKEN

    server = start_server()
    keyring.set_password(KEYRING_SERVICE, "other parlour", TOKEN)
    with EngineClient() as client:
        client.load(RemoteTarget("other parlour", server.url, GGUF_ID).ref())
        text, finished = client.generate(FRANCE, GREEDY).text()
    assert "Paris" in text and finished.stats.generated_tokens > 0
    assert finished.stats.prompt_tokens > 10  # usage from the server, which sends it


def test_a_damaged_reference_is_a_sentence() -> None:
    with EngineClient() as client, pytest.raises(Exception, match="remote model reference is damaged"):
        client.load("remote:{not json")
    assert os.environ.get("PARLOUR_TEST_KEYRING") is None  # no test keyring leaked out of its fixture


def test_a_response_format_reaches_the_remote_server(test_keyring, llama_server: str) -> None:  # noqa: ANN001
    import json

    keyring.set_password(KEYRING_SERVICE, "box", KEY)
    target = RemoteTarget("box", llama_server, served_model(llama_server))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    with EngineClient() as client:
        client.load(target.ref())
        any_object = GenerationParams(temperature=0.0, max_tokens=48, response_format={"type": "json_object"})
        text, finished = client.generate(FRANCE, any_object).text()
        assert finished.finish_reason in ("stop", "length"), finished.error
        # The server's own grammar holds the reply to an object (a long one may run out of tokens).
        assert text.lstrip().startswith("{") and (
            finished.finish_reason == "length" or isinstance(json.loads(text), dict)
        )
        # It is sent in the OpenAI shape, which this server does not take for schemas: its refusal is a
        # sentence naming the endpoint, and the next request works.
        with_schema = GenerationParams(max_tokens=48, response_format={"type": "json_schema", "schema": schema})
        text, finished = client.generate(FRANCE, with_schema).text()
        assert finished.finish_reason == "error" and finished.error.startswith("box answered")
        assert "json_schema" in finished.error
        assert client.generate(FRANCE, GREEDY).text()[1].finish_reason in ("stop", "length")
