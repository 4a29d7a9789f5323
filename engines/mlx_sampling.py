"""How a reply's sampling settings become mlx-lm's sampler and logits processors, the same for mlx-lm's own
token loop and Parlour's speculative one."""

from __future__ import annotations

from typing import Any

from engines.base import GenerationParams
from engines.constraints import TokenConstraint

# llama.cpp's repeat_last_n default; used for both engines so penalties mean the same thing.
PENALTY_WINDOW = 64


def sampler_for(params: GenerationParams) -> Any:
    from mlx_lm.sample_utils import make_sampler

    if params.greedy:
        return make_sampler(temp=0.0)
    return make_sampler(
        temp=params.temperature,
        top_p=params.top_p if params.top_p < 1.0 else 0.0,
        min_p=params.min_p,
        top_k=params.top_k,
    )


def logits_processors_for(params: GenerationParams) -> list[Any]:
    from mlx_lm.sample_utils import make_logits_processors

    return make_logits_processors(
        repetition_penalty=params.repeat_penalty if params.repeat_penalty != 1.0 else None,
        repetition_context_size=PENALTY_WINDOW,
        presence_penalty=params.presence_penalty or None,
        presence_context_size=PENALTY_WINDOW,
        frequency_penalty=params.frequency_penalty or None,
        frequency_context_size=PENALTY_WINDOW,
    )


def grammar_processor(constraint: TokenConstraint) -> Any:
    """An mlx-lm logits processor that lets only the tokens the grammar allows next be sampled.

    mlx-lm calls it with every token so far: first the prompt, then one sampled token per step, which the
    grammar takes in before the next mask is made.
    """
    import mlx.core as mx

    calls = 0

    def process(tokens: Any, logits: Any) -> Any:
        nonlocal calls
        if calls:
            constraint.take(int(tokens[-1].item()))
        calls += 1
        allowed = mx.array(constraint.allowed(int(logits.shape[-1])))
        return mx.where(allowed[None], logits, mx.array(float("-inf"), dtype=logits.dtype))

    return process


def processors_for(params: GenerationParams, constraint: TokenConstraint | None) -> list[Any]:
    """The penalties, and the grammar's mask when the reply has a response format."""
    return logits_processors_for(params) + ([grammar_processor(constraint)] if constraint else [])
