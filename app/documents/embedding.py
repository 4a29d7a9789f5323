"""Embeddings for collections: an engine host running the collection's GGUF embedding model, and the pass
that gives every passage without a vector its vector.

The model runs in an engine host of its own (engines.host_client), like any model: llama.cpp can crash on
a bad file, and that must cost the vectors, never the index or the window. The host starts only when there
is something to embed, and is loaded with a small context (EMBED_CONTEXT: a passage is about 200 tokens, and
a longer text is cut to the context by the engine). Vectors are computed EMBED_BATCH passages at a time and
each batch is kept in its own transaction, so memory stays bounded and a stop or a crash loses one batch.
A failure is a sentence for the person; the collection is still searched by words meanwhile.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.documents.index import DocumentIndex
    from engines.host_client import EngineClient

log = logging.getLogger(__name__)

EMBED_BATCH = 32
EMBED_CONTEXT = 512

# texts -> one normalized vector each, from one embedding model.
Embed = Callable[[list[str]], list[list[float]]]


class Embedder(Protocol):
    """An Embed that says which model it runs (the path a collection names), and is closed when done."""

    model: str

    def __call__(self, texts: list[str]) -> list[list[float]]: ...

    def close(self) -> None: ...


def embedding_text(heading: str | None, text: str) -> str:
    """What is embedded for a passage: its heading too, which says what the passage is about."""
    return f"{heading.strip()}\n{text}" if heading and heading.strip() else text


def model_label(model: str) -> str:
    """How a sentence names an embedding model: its file name."""
    return os.path.basename(model.rstrip(os.sep)) or model


class ModelEmbedder:
    """An engine host with `model` loaded for embeddings, started when first asked to embed."""

    def __init__(self, model: str, log_file: str | None = None) -> None:
        self.model = model
        self._log_file = log_file
        self._client: EngineClient | None = None

    def __call__(self, texts: list[str]) -> list[list[float]]:
        """Raises EngineError (one sentence) when the model cannot be loaded or cannot embed."""
        if self._client is None:
            self._client = self._start()
        return self._client.embed(texts)

    def _start(self) -> EngineClient:
        from engines.base import LoadSettings
        from engines.host_client import EngineClient
        from engines.inspect import inspect_model

        info = inspect_model(self.model)  # a missing or broken file is its sentence now
        context = min(EMBED_CONTEXT, info.context_length or EMBED_CONTEXT)
        client = EngineClient(log_file=self._log_file)
        try:
            client.load(self.model, "auto", LoadSettings(embedding=True, context_length=context))
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> ModelEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def embed_missing(
    index: DocumentIndex,
    name: str,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[int, str | None]:
    """Give the collection's passages without a vector their vector, from its embedding model (nothing to
    do without one). Returns how many were embedded, and a sentence when embedding failed or None. Uses
    `embedder` when it runs the collection's model, else starts (and closes) one only if there is work."""
    model = index.embedding_model(name)
    if model is None:
        return 0, None
    total = index.missing_vectors(name)
    if total == 0:
        return 0, None
    own = None
    if embedder is None or embedder.model != model:
        embedder = own = ModelEmbedder(model)
    try:
        return _embed_batches(index, name, embedder, total, progress, should_stop), None
    except Exception as error:  # an engine's failure, or a bug: either costs the vectors, never the update
        return 0, _failure_sentence(model, error)
    finally:
        if own is not None:
            own.close()


def _embed_batches(
    index: DocumentIndex,
    name: str,
    embed: Embed,
    total: int,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool],
) -> int:
    done = 0
    while not should_stop():
        batch = index.passages_to_embed(name, EMBED_BATCH)
        if not batch:
            break
        found = embed([embedding_text(heading, text) for _, heading, text in batch])
        index.store_vectors([(passage, text, vector) for (passage, _, text), vector in zip(batch, found, strict=True)])
        done += len(batch)
        if progress is not None:
            progress(min(done, total), total)
        if done >= total:  # passages added meanwhile wait for the next update: this pass has an end
            break
    return done


def _failure_sentence(model: str, error: Any) -> str:
    from app.documents.index import DocumentIndexError
    from engines.base import EngineError

    if not isinstance(error, EngineError | DocumentIndexError):
        log.exception("embedding with %s failed", model, exc_info=error)
        error = "an unexpected error; details are in the log"
    reason = str(error).rstrip(".")
    return (
        f"The passages could not be embedded with {model_label(model)} ({reason}); "
        "they are searched by their words alone until the next update."
    )
