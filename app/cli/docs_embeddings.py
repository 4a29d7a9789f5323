"""`parlour docs`'s embeddings: a collection's embedding model, its vectors, and search by meaning too.

    parlour docs add PATH --collection NAME --embedding-model REF   # index, then embed every passage
    parlour docs embed NAME --model REF                            # name (or change) the model, embed now
    parlour docs embed NAME                                        # embed what has no vector yet
    parlour docs embed NAME --no-embeddings                        # words alone; the vectors are forgotten

REF is a model's name or path, as `--model` takes it; it must be a GGUF file (llama.cpp makes the vectors).
An engine host starts only when there is something to embed, or a question to embed for a collection that
has vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from app.cli.exit_codes import EXIT_FAILED, EXIT_OK
from app.cli.terminal_text import fail, note, printable, say

if TYPE_CHECKING:
    from app.documents.index import DocumentIndex
    from app.documents.passages import Passage


def add_embed_parser(actions: argparse._SubParsersAction) -> None:
    embed = actions.add_parser("embed", help="a collection's embedding model: search by meaning as well as words")
    embed.add_argument("name", metavar="NAME")
    which = embed.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="REF", help="the GGUF embedding model: a name or path (as --model takes)")
    which.add_argument("--no-embeddings", action="store_true", help="search by words alone; forget the vectors")


def embedding_model_path(ref: str) -> str:
    """The GGUF file `ref` names, as a collection keeps it; EngineError with a sentence when it cannot embed."""
    from app.cli.chat_setup import locate_model
    from engines.base import EMBEDDINGS_NEED_GGUF, InvalidRequestError
    from engines.inspect import inspect_model

    path, _label = locate_model(ref)
    if isinstance(path, str):
        raise InvalidRequestError("An embedding model must be a GGUF file on this computer, not a remote model.")
    if inspect_model(path).engine != "llamacpp":  # a missing or broken file is its own sentence here
        raise InvalidRequestError(EMBEDDINGS_NEED_GGUF)
    return os.path.abspath(path)


def cmd_embed(index: DocumentIndex, args: argparse.Namespace) -> int:
    from app.documents.embedding import embed_missing, model_label

    name = args.name.strip()
    index.collection_id(name)  # an unknown name is the person's to fix: one sentence
    if args.no_embeddings:
        index.set_embedding_model(name, None)
        say(f"{name} is searched by its words alone now (its vectors were forgotten).")
        return EXIT_OK
    if args.model:
        index.set_embedding_model(name, embedding_model_path(args.model))
    model = index.embedding_model(name)
    if model is None:
        return fail(f"{name} has no embedding model; name one with --model.")
    count, problem = embed_missing(index, name, progress=EmbeddingProgress())
    if problem is not None:
        return fail(problem, EXIT_FAILED)
    say(f"{name}: {count:,} passages embedded with {model_label(model)}.")
    return EXIT_OK


def search_passages(index: DocumentIndex, query: str, collection: str | None, limit: int) -> list[Passage]:
    """Words alone, or words and meaning where the collections searched have vectors (an engine host with
    their embedding model is started for the question only then)."""
    from app.documents.collection_search import embedding_models, merged, search_collections
    from app.documents.embedding import ModelEmbedder

    if collection is not None:
        index.collection_id(collection)  # an unknown name is the person's to fix: one sentence
    names = [collection] if collection is not None else [summary.name for summary in index.collections()]
    models = embedding_models(index, names)
    if not models:
        return index.search(query, collection, limit)
    problems: list[str] = []
    with ModelEmbedder(models[0]) as embed:
        ranked = search_collections(index, query, names, limit, embed, problems)
    for problem in problems:
        note(problem)
    return ranked[0] if collection is not None else merged(ranked, limit)


class EmbeddingProgress:
    """`Embedding 64 of 340 passages`: redrawn in place on a terminal, a line per batch otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        line = printable(f"Embedding {done:,} of {total:,} passages")
        if self.tty:
            sys.stderr.write("\r" + line.ljust(60) + ("\n" if done >= total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
