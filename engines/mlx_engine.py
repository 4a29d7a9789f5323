"""MLX through mlx-lm, for MLX model folders.

Since mlx 0.31.2 a model belongs to the thread that loaded it, so the engine host
calls every method here from one long-lived thread. No mx.array leaves this module:
events carry plain Python values only.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from engines.base import (
    Delta,
    Event,
    Finished,
    GenerationParams,
    GenerationStats,
    InvalidRequestError,
    LoadSettings,
    Message,
    ModelFileError,
    ModelInfo,
    NotLoadedError,
    ProgressCallback,
    Started,
)
from engines.stopping import StopMatcher
from engines.templates import render_for_model

log = logging.getLogger(__name__)

DEFAULT_CONTEXT_CAP = 8192
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


class MlxEngine:
    name = "mlx"

    def __init__(self) -> None:
        self._model: Any = None
        self._tokenizer: Any = None
        self._info: ModelInfo | None = None
        self._context_length = DEFAULT_CONTEXT_CAP

    def load(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> ModelInfo:
        # A local folder never needs the Hub; this stops mlx-lm from ever trying it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        progress(0.05, "Starting MLX")
        import mlx.core as mx
        from mlx_lm import load

        progress(0.2, "Reading weights")
        try:
            model, tokenizer = load(info.path)
        except (ValueError, FileNotFoundError, OSError, KeyError) as err:
            raise ModelFileError(f"MLX could not load this model: {err}") from None
        mx.eval(model.parameters())
        self._model, self._tokenizer = model, tokenizer
        self._context_length = settings.context_length or min(
            info.context_length or DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP
        )
        template = info.chat_template or getattr(tokenizer, "chat_template", None)
        self._info = ModelInfo(
            **{
                **info.to_dict(),
                "chat_template": template,
                "bos_token": info.bos_token or getattr(tokenizer, "bos_token", None),
                "eos_token": info.eos_token or getattr(tokenizer, "eos_token", None),
                "context_length": self._context_length,
            }
        )
        progress(1.0, "Loaded")
        return self._info

    def describe(self) -> ModelInfo:
        if self._info is None:
            raise NotLoadedError("No model is loaded.")
        return self._info

    def unload(self) -> None:
        self._model = self._tokenizer = self._info = None
        try:
            import mlx.core as mx

            mx.clear_cache()
        except Exception:  # unloading must never fail
            log.debug("mlx clear_cache failed", exc_info=True)

    def tokenize_prompt(self, messages: list[Message]) -> list[int]:
        info = self.describe()
        prompt = render_for_model(info.chat_template, messages, bos_token=info.bos_token, eos_token=info.eos_token)
        return list(self._tokenizer.encode(prompt, add_special_tokens=False))

    def greedy_token_ids(self, messages: list[Message], count: int) -> list[int]:
        """Greedy reply as token ids, up to the end of the turn (a diagnostic for engine parity)."""
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_sampler

        out: list[int] = []
        prompt = mx.array(self.tokenize_prompt(messages))
        for token, _ in generate_step(prompt, self._model, max_tokens=count, sampler=make_sampler(temp=0.0)):
            token = int(token)
            if token in self._tokenizer.eos_token_ids:
                break
            out.append(token)
        return out

    def generate(
        self, messages: list[Message], params: GenerationParams, should_stop: Callable[[], bool]
    ) -> Iterator[Event]:
        import mlx.core as mx
        from mlx_lm import stream_generate

        start = time.perf_counter()
        ids = self.tokenize_prompt(messages)
        room = self._context_length - len(ids)
        if room <= 0:
            raise InvalidRequestError(
                f"The conversation ({len(ids)} tokens) is longer than the context window "
                f"({self._context_length} tokens)."
            )
        mx.random.seed(params.seed if params.seed is not None else random.getrandbits(32))
        mx.reset_peak_memory()
        stops = StopMatcher(params.stop)
        stats = GenerationStats(prompt_tokens=len(ids))
        yield Started()
        finish = "length"
        response = None
        for response in stream_generate(
            self._model,
            self._tokenizer,
            ids,
            max_tokens=min(params.max_tokens, room),
            sampler=sampler_for(params),
            logits_processors=logits_processors_for(params),
        ):
            if stats.ttft_ms == 0.0:
                stats.ttft_ms = (time.perf_counter() - start) * 1000
            text = stops.feed(response.text)
            if text:
                yield Delta(text)
            if stops.stopped:
                finish = "stop"
                break
            if response.finish_reason:
                finish = response.finish_reason
                break
            if should_stop():
                finish = "cancelled"
                break
        if finish != "stop":
            tail = stops.flush()
            if tail:
                yield Delta(tail)
        if response is not None:
            stats.prompt_tps = float(response.prompt_tps)
            stats.generated_tokens = int(response.generation_tokens)
            stats.generation_tps = float(response.generation_tps)
        stats.peak_memory_bytes = int(mx.get_peak_memory())
        yield Finished(finish, stats)  # type: ignore[arg-type]
