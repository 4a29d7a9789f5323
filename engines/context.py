"""Fitting a conversation into the context window, and choosing the window's size.

The default policy keeps the system prompt and the newest turns and drops whole
older turns, so the model never sees half a message; the other policy refuses
with a plain message. Token counts come from the real template and tokenizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from engines.base import EngineError, InvalidRequestError, Message

DROP_OLDEST = "drop_oldest"
STOP = "stop"
MIN_REPLY_TOKENS = 16
MIN_CONTEXT = 16
MAX_CONTEXT = 1 << 24  # far past any model's training; a bound on what a setting may ask for
# A chosen context may use this share of the memory free at load, weights included.
CONTEXT_MEMORY_SHARE = 0.9


class ContextOverflowError(EngineError):
    code = "context_overflow"


@dataclass(frozen=True)
class FittedPrompt:
    messages: list[Message]
    ids: list[int]
    dropped_turns: int
    max_tokens: int  # what the reply may use: the request's max_tokens, or less where the window ends


def _turn_starts(messages: list[Message]) -> tuple[int, list[int]]:
    """(number of leading system messages, index where each later turn starts: every user message)."""
    lead = 0
    while lead < len(messages) and messages[lead].get("role") == "system":
        lead += 1
    starts = [i for i in range(lead, len(messages)) if messages[i].get("role") == "user"]
    if not starts or starts[0] != lead:
        starts.insert(0, lead)  # a conversation that opens with the assistant: that opening is a turn too
    return lead, starts


def fit_conversation(
    messages: list[Message],
    tokenize: Callable[[list[Message]], list[int]],
    context_length: int,
    max_tokens: int,
    policy: str = DROP_OLDEST,
) -> FittedPrompt:
    """Make prompt + reply fit in `context_length`, or raise ContextOverflowError.

    The reply is reserved `max_tokens`, but never more than half the window, so a large
    max_tokens on a small model does not throw the whole history away.
    """
    reserve = max(MIN_REPLY_TOKENS, min(max_tokens, context_length // 2))
    budget = context_length - reserve
    ids = tokenize(messages)
    if len(ids) <= budget:
        return FittedPrompt(messages, ids, 0, min(max_tokens, context_length - len(ids)))
    if policy == STOP:
        raise ContextOverflowError(
            f"This conversation ({len(ids)} tokens, plus {reserve} for the reply) no longer fits the model's "
            f"context window ({context_length} tokens); start a new chat or let Parlour drop the oldest turns."
        )
    lead, starts = _turn_starts(messages)

    def attempt(drop: int) -> list[int]:
        return tokenize(messages[:lead] + messages[starts[drop] :])

    # More dropped turns means a shorter prompt, so binary-search the fewest drops that fit.
    low, high = 1, len(starts) - 1
    best: tuple[int, list[int]] | None = None
    while low <= high:
        middle = (low + high) // 2
        candidate = attempt(middle)
        if len(candidate) <= budget:
            best, high = (middle, candidate), middle - 1
        else:
            low = middle + 1
    if best is None:
        # Even the newest turn alone is too long for the reserve; let it use what room is left.
        last = attempt(len(starts) - 1) if len(starts) > 1 else ids
        room = context_length - len(last)
        if room < MIN_REPLY_TOKENS:
            raise ContextOverflowError(
                f"The newest message is too long for this model ({len(last)} tokens in a "
                f"{context_length}-token context window); shorten it or load the model with a larger context."
            )
        dropped = len(starts) - 1
        return FittedPrompt(messages[:lead] + messages[starts[dropped] :], last, dropped, min(max_tokens, room))
    dropped, kept_ids = best
    return FittedPrompt(
        messages[:lead] + messages[starts[dropped] :],
        kept_ids,
        dropped,
        min(max_tokens, context_length - len(kept_ids)),
    )


def kv_bytes_per_token(layers: int | None, kv_heads: int | None, head_dim: int | None, dtype_bytes: float = 2) -> int:
    """Keys and values for one token across all layers (f16 by default; a quantized cache takes fewer)."""
    if not (layers and kv_heads and head_dim):
        return 0
    return math.ceil(2 * layers * kv_heads * head_dim * dtype_bytes)


def default_context_length(
    model_context: int | None,
    weights_bytes: int,
    per_token_bytes: int,
    available_bytes: int | None,
    memory_share: float = 0.7,
) -> int:
    """The model's own context, capped so weights plus KV cache stay within a share of free memory."""
    wanted = model_context or 4096
    if not (per_token_bytes and available_bytes):
        return wanted
    room = int(available_bytes * memory_share) - weights_bytes
    affordable = max(512, room // per_token_bytes)
    return max(512, min(wanted, affordable - affordable % 256))


def check_context_length(
    requested: int | None,
    model_context: int | None,
    weights_bytes: int,
    per_token_bytes: int,
    available_bytes: int | None,
) -> None:
    """Refuse, with a sentence, a context length the model or this machine's memory cannot hold."""
    if requested is None:
        return
    if not MIN_CONTEXT <= requested <= MAX_CONTEXT:
        raise InvalidRequestError(f"The context length must be between {MIN_CONTEXT} and {MAX_CONTEXT:,} tokens.")
    if model_context and requested > model_context:
        raise InvalidRequestError(
            f"This model handles at most {model_context:,} tokens of context; choose {model_context:,} or less."
        )
    if per_token_bytes and available_bytes:
        needed = weights_bytes + requested * per_token_bytes
        if needed > available_bytes * CONTEXT_MEMORY_SHARE:
            affordable = max(0, int(available_bytes * CONTEXT_MEMORY_SHARE) - weights_bytes) // per_token_bytes
            raise InvalidRequestError(
                f"A context of {requested:,} tokens needs about {needed / 1e9:.1f} GB of memory, more than this "
                f"machine has free ({available_bytes / 1e9:.1f} GB); choose {affordable:,} tokens or less."
            )
