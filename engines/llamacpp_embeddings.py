"""Embeddings from a GGUF model on llama.cpp: texts in, one L2-normalized vector per text out.

A model loaded with LoadSettings(embedding=True) is for embeddings only: llama.cpp then pools each
text's hidden states into one vector and computes no logits, so such a load refuses to chat (one
sentence) rather than reply with nonsense. A real embedding model names its pooling in the GGUF
(`<arch>.pooling_type`); a decoder model without one (a chat model used for embeddings) is pooled by
the mean of its tokens, which is what llama.cpp's own embedding example does for such models.

Bounds: each text keeps at most as many tokens as one batch holds (the batch is never larger than the
context), and its characters are cut first so that tokenizing a huge text costs no more than needed;
the number of texts in one call is bounded by the protocol (engines.protocol.MAX_EMBED_TEXTS).
"""

from __future__ import annotations

from typing import Any

from engines.base import EngineError, InvalidRequestError, LoadSettings, ModelFileError
from engines.gguf_header import GGUFFormatError, read_gguf_header

# A token is rarely longer than this many characters (chunking.MAX_TOKEN_CHARS reasons alike): cutting a
# text at tokens x this before tokenizing loses nothing the token cap would have kept.
CHARS_PER_TOKEN_CAP = 16
# llama.cpp's enum llama_pooling_type.
POOLING_NONE, POOLING_MEAN, POOLING_RANK = 0, 1, 4
POOLING_UNSPECIFIED = -1

NOT_FOR_CHAT = (
    "This model was loaded for embeddings, so it cannot chat; load it again without embeddings to chat with it."
)
NOT_FOR_EMBEDDINGS = "This model was loaded to chat; load it with embeddings on to embed text."


def pooling_type(model_path: str) -> int:
    """The pooling to load with: the GGUF's own when it names one, else the mean of the tokens."""
    try:
        metadata = read_gguf_header(model_path).metadata
    except (GGUFFormatError, OSError) as err:  # inspect_model read it a moment ago; a race, or a bad file
        raise ModelFileError(f"Parlour cannot read this GGUF file's header ({err}).") from None
    own = metadata.get(f"{metadata.get('general.architecture')}.pooling_type")
    if own == POOLING_RANK:
        raise InvalidRequestError("This GGUF model is a reranker, not an embedding model; choose an embedding model.")
    if isinstance(own, int) and not isinstance(own, bool) and own != POOLING_NONE:
        return POOLING_UNSPECIFIED  # llama.cpp then uses the model's own
    return POOLING_MEAN


def load_options(model_path: str, settings: LoadSettings, n_ctx: int) -> dict[str, Any]:
    """llama_cpp.Llama's keyword arguments for the batch, and for embeddings when the load is for them."""
    batch = settings.batch_size or 512
    if not settings.embedding:
        return {"n_batch": batch}
    # A whole text must sit in one batch (and one micro-batch, for models that attend both ways),
    # and a batch never holds more than the context.
    batch = min(batch, n_ctx)
    return {"n_batch": batch, "n_ubatch": batch, "embedding": True, "pooling_type": pooling_type(model_path)}


def refuse_chat(llm: Any) -> None:
    """InvalidRequestError when the model was loaded for embeddings (llama.cpp computed no logits)."""
    if llm.context_params.embeddings:
        raise InvalidRequestError(NOT_FOR_CHAT)


def embed_texts(llm: Any, texts: list[str]) -> list[list[float]]:
    """One L2-normalized vector per text, each text cut to what one batch holds."""
    if not llm.context_params.embeddings:
        raise InvalidRequestError(NOT_FOR_EMBEDDINGS)
    if not texts:
        return []
    limit = int(llm.n_batch)
    # An empty text would be a sequence of no tokens on a model without a BOS token: pool a space instead.
    cut = [text[: limit * CHARS_PER_TOKEN_CAP] or " " for text in texts]
    try:
        vectors = llm.embed(cut, normalize=False, truncate=True)
    except (RuntimeError, ValueError) as err:
        raise EngineError(f"llama.cpp could not embed these texts ({err}).") from None
    finally:
        llm.reset()  # the KV cache and the token history no longer match any prompt
    return normalized(vectors)


def normalized(vectors: Any) -> list[list[float]]:
    """The vectors scaled to length 1 (a zero or broken vector stays zero), as plain Python floats."""
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise EngineError("llama.cpp returned token embeddings instead of one vector per text.")
    matrix[~np.isfinite(matrix)] = 0.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit.tolist()
