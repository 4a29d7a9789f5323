"""Searching collections by words, and by meaning too where a collection has vectors and the question can
be embedded by the same model.

An `embed` runs one embedding model: a collection whose vectors come from another model (or that has
none yet) is searched by its words alone, as it is when the question cannot be embedded (the sentence
why goes to `problems`). Several collections' rankings are merged by reciprocal rank, so a collection
searched by words and one searched by words and meaning count alike.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.documents.embedding import Embed, ModelEmbedder, model_label
from app.documents.fusion import reciprocal_rank_fusion
from app.documents.index import CollectionError, DocumentIndex
from app.documents.passages import Passage
from app.documents.search_query import fts_query

log = logging.getLogger(__name__)


def embedding_models(index: DocumentIndex, names: Sequence[str]) -> list[str]:
    """The embedding models of those collections that have vectors, the most used first."""
    counts: dict[str, int] = {}
    for name in names:
        model = index.embedding_model(name)
        if model is not None and index.has_vectors(name):
            counts[model] = counts.get(model, 0) + 1
    return sorted(counts, key=lambda model: -counts[model])


def search_collections(
    index: DocumentIndex,
    query: str,
    names: Sequence[str],
    limit: int,
    embed: Embed | None = None,
    problems: list[str] | None = None,
) -> list[list[Passage]]:
    """Each collection's `limit` best passages for `query`, in the order of `names`. A collection that cannot
    be searched (deleted meanwhile) has none, and its sentence goes to `problems`."""
    vectors: dict[str, list[float] | None] = {}  # the question embedded once per model
    results: list[list[Passage]] = []
    for name in names:
        try:
            vector = None
            if embed is not None and fts_query(query) is not None:
                vector = _vector_for(index, name, query, embed, vectors, problems)
            results.append(index.search(query, name, limit, query_vector=vector))
        except CollectionError as error:
            if problems is not None:
                problems.append(str(error))
            results.append([])
    return results


def _vector_for(
    index: DocumentIndex,
    name: str,
    query: str,
    embed: Embed,
    vectors: dict[str, list[float] | None],
    problems: list[str] | None,
) -> list[float] | None:
    """The question's vector for the collection's model, or None where its words alone must do."""
    model = index.embedding_model(name)
    if model is None or not index.has_vectors(name):
        return None
    if getattr(embed, "model", model) != model:
        if problems is not None:
            problems.append(
                f"'{name}' was searched by its words alone: its embedding model, {model_label(model)}, "
                "is not the one in use for this question."
            )
        return None
    if model not in vectors:
        vectors[model] = _query_vector(embed, query, model, problems)
    return vectors[model]


def merged(rankings: Sequence[Sequence[Passage]], limit: int) -> list[Passage]:
    """Several collections' rankings as one, by reciprocal rank; a passage found twice counts once."""
    keyed = [[(passage.source, passage.ordinal) for passage in ranking] for ranking in rankings]
    first: dict[tuple[str, int], Passage] = {}
    for ranking in rankings:
        for passage in ranking:
            first.setdefault((passage.source, passage.ordinal), passage)
    chosen = reciprocal_rank_fusion(keyed)[:limit]
    return [_scored(first[key], score) for key, score in chosen]


def _query_vector(embed: Embed, query: str, model: str, problems: list[str] | None) -> list[float] | None:
    from engines.base import EngineError

    try:
        return embed([query])[0]
    except EngineError as error:
        if problems is not None:
            problems.append(
                f"The question could not be embedded with {model_label(model)} ({str(error).rstrip('.')}); "
                "the documents were searched by their words alone."
            )
        return None


def _scored(passage: Passage, score: float) -> Passage:
    return Passage(passage.source, passage.text, passage.ordinal, passage.page, passage.heading, score)


def question_embedder(collections: list[str]) -> ModelEmbedder | None:
    """An embedder for the model most of the chosen collections' vectors come from; None when none has any
    (then no engine host is started for it)."""
    if not collections:
        return None
    from app.documents.index import DocumentIndex, DocumentIndexError
    from app.documents.passages import DocumentError

    try:
        with DocumentIndex.default() as index:
            models = embedding_models(index, collections)
    except (DocumentError, DocumentIndexError):  # context_for meets the same failure and says it, once
        return None
    return ModelEmbedder(models[0]) if models else None
