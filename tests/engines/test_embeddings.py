"""Embeddings through the engine host on the real llama.cpp engine, with the starter model pooled by its mean.

There is no embedding GGUF offline, so the starter (a decoder) stands in: llama.cpp embeds it under mean
pooling. Only what holds for any model is checked (width, length, determinism, bounds, refusals), never
how well it captures meaning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.base import EMBEDDINGS_NEED_GGUF, InvalidRequestError, LoadSettings
from engines.gguf_header import read_gguf_header
from engines.host_client import EngineClient
from engines.protocol import (
    MAX_EMBED_TEXTS,
    Embeddings,
    EmbedRequest,
    ProtocolError,
    decode_event,
    decode_request,
    encode_event,
    encode_request,
)
from tests.conftest import GREEDY

TEXTS = [
    "The kettle is in the blue cupboard, behind the teapot.",
    "Quarterly travel costs rose by twelve percent.",
    "The kettle is in the blue cupboard, behind the teapot.",
]


@pytest.fixture(scope="module")
def embedding_client(starter_gguf: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    client.load(str(starter_gguf), "llamacpp", LoadSettings(embedding=True, context_length=512))
    yield client
    client.close()


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_have_the_models_width_and_unit_length(embedding_client: EngineClient, starter_gguf: Path) -> None:
    metadata = read_gguf_header(starter_gguf).metadata
    width = metadata[f"{metadata['general.architecture']}.embedding_length"]
    vectors = embedding_client.embed(TEXTS)
    assert len(vectors) == len(TEXTS)
    assert {len(vector) for vector in vectors} == {width}
    assert all(abs(_norm(vector) - 1.0) < 1e-4 for vector in vectors)


def test_the_same_text_gives_the_same_vector_and_different_texts_differ(embedding_client: EngineClient) -> None:
    first, other, again = embedding_client.embed(TEXTS)
    [alone] = embedding_client.embed([TEXTS[0]])  # another batch, another call
    assert max(abs(x - y) for x, y in zip(first, again, strict=True)) < 1e-5
    assert max(abs(x - y) for x, y in zip(first, alone, strict=True)) < 1e-4
    assert _cosine(first, other) < 0.99  # far from the 1.0 of the same text


def test_long_empty_and_many_texts_are_bounded(embedding_client: EngineClient) -> None:
    long = "lantern " * 20_000  # far past the 512-token context: cut, not refused
    texts = [long, "", *(f"Note {n} about the harbour." for n in range(MAX_EMBED_TEXTS + 3))]
    vectors = embedding_client.embed(texts)  # more than one request's worth: the client splits them
    assert len(vectors) == len(texts)
    assert all(abs(_norm(vector) - 1.0) < 1e-4 for vector in vectors)
    assert embedding_client.embed([]) == []


def test_a_model_loaded_for_embeddings_refuses_to_chat(embedding_client: EngineClient) -> None:
    _text, finished = embedding_client.generate([{"role": "user", "content": "Hello"}], GREEDY).text()
    assert finished.finish_reason == "error"
    assert finished.error is not None and "loaded for embeddings" in finished.error


def test_a_model_loaded_to_chat_refuses_to_embed(llama_client: EngineClient) -> None:
    with pytest.raises(InvalidRequestError, match="load it with embeddings on"):
        llama_client.embed(["Hello"])


def test_an_mlx_folder_refuses_embeddings_with_a_sentence(mlx_dir: Path) -> None:
    with EngineClient() as client, pytest.raises(InvalidRequestError) as refused:
        client.load(str(mlx_dir), "auto", LoadSettings(embedding=True))
    assert str(refused.value) == EMBEDDINGS_NEED_GGUF
    assert "GGUF model on llama.cpp" in EMBEDDINGS_NEED_GGUF


def test_mlx_and_remote_engines_refuse_to_embed() -> None:
    from engines.mlx_engine import MlxEngine
    from engines.remote import RemoteEngine

    for engine in (MlxEngine(), RemoteEngine()):
        with pytest.raises(InvalidRequestError, match="embeddings need a GGUF model on llama.cpp"):
            engine.embed(["Hello"])


def test_embedding_is_a_true_or_false_load_setting() -> None:
    assert LoadSettings().embedding is False
    assert LoadSettings.from_dict({"embedding": True}).embedding is True
    with pytest.raises(InvalidRequestError, match="embedding must be true or false"):
        LoadSettings(embedding="yes")  # type: ignore[arg-type]


def test_embed_requests_and_answers_cross_the_wire() -> None:
    request_id, request = decode_request(encode_request("r1", EmbedRequest(["a", "b"])))
    assert (request_id, request) == ("r1", EmbedRequest(["a", "b"]))
    event = Embeddings([[0.6, 0.8], [1.0, 0.0]])
    assert decode_event(encode_event("r1", event)) == ("r1", event)
    for bad in ({"texts": "a"}, {"texts": [1]}, {"texts": ["a"] * (MAX_EMBED_TEXTS + 1)}):
        with pytest.raises(ProtocolError):
            decode_request({"op": "embed", "id": "r2", **bad})
    for vectors in ("x", [[1.0], [1.0, 2.0]], [["a"]], [[True]]):
        with pytest.raises(ProtocolError):
            decode_event({"event": "embeddings", "id": "r3", "vectors": vectors})
