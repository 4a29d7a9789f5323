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
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from engines.base import (
    EMBEDDINGS_NEED_GGUF,
    EngineName,
    Finished,
    FinishReason,
    GenerationParams,
    GenerationStats,
    InvalidRequestError,
    LoadSettings,
    Message,
    ModelFileError,
    ModelInfo,
    NotLoadedError,
    ProgressCallback,
    PromptProgress,
    ReplyEvent,
    Started,
)
from engines.constraints import TokenConstraint, checked_grammar
from engines.context import check_context_length, default_context_length, kv_bytes_per_token
from engines.disk_prompt_cache import MIN_TOKENS, DiskPromptCache, model_key
from engines.hardware import memory
from engines.mlx_sampling import processors_for, sampler_for
from engines.mlx_speculative import MlxDraftModel, MlxSpeculativeSteps, check_same_tokenizer
from engines.prompting import ModelVocabulary, Prompt, ReplyShaper, build_prompt
from engines.protocol import ReplyRequest
from engines.speculation import Drafter, FirstOf, PromptLookup

log = logging.getLogger(__name__)


class MlxEngine:
    name: EngineName = "mlx"

    def __init__(self) -> None:
        self._model: Any = None
        self._tokenizer: Any = None
        self._info: ModelInfo | None = None
        self._context_length = 4096
        self._cache: Any = None  # mlx-lm's LRUPromptCache: longest-prefix reuse with a byte budget
        self._cache_key = ""
        self._kv_bits: int | None = None  # a quantized KV cache: 8 or 4 bits (mlx-lm's QuantizedKVCache)
        self._grammar_tokens: Any = None  # llguidance's token table of the loaded model, built when first needed
        self._drafter: Drafter | None = None  # speculative decoding's source of guesses; None: mlx-lm's own loop
        self._max_draft = 16
        self._disk: DiskPromptCache | None = None  # the prompt cache kept across restarts
        self._disk_tokens = 0  # prompt tokens the current reply restored from it
        self._last_kept: tuple[list[int], Any] | None = None  # the last reply's tokens and cache, to save

    def load(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> ModelInfo:
        # A local folder never needs the Hub; this stops mlx-lm from ever trying it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        progress(0.05, "Starting MLX")
        import mlx.core as mx
        from mlx_lm import load
        from mlx_lm.models.cache import LRUPromptCache

        check_context_length(
            settings.context_length,
            info.context_length,
            info.file_size,
            kv_bytes_per_token(info.layers, info.kv_heads, info.head_dim),
            memory()[1],
        )
        progress(0.2, "Reading weights")
        try:
            model, tokenizer = load(info.path)[:2]  # mlx-lm may return a config too
        except (ValueError, FileNotFoundError, OSError, KeyError) as err:
            raise ModelFileError(f"MLX could not load this model: {err}") from None
        mx.eval(model.parameters())
        self._model, self._tokenizer = model, tokenizer
        self._grammar_tokens = None
        self._context_length = settings.context_length or default_context_length(
            info.context_length,
            info.file_size,
            kv_bytes_per_token(info.layers, info.kv_heads, info.head_dim),
            memory()[1],
        )
        self._cache = LRUPromptCache(max_size=16, max_bytes=settings.prompt_cache_bytes)
        self._kv_bits = {"q8_0": 8, "q4_0": 4}.get(settings.kv_cache_type)
        self._reuse = settings.prompt_cache_bytes > 0
        # The cache lives in this engine instance, so it can only ever hold this model; the key
        # still names the model and its load settings, as mlx-lm's cache expects.
        self._cache_key = f"{info.path}|{settings.to_dict()}"
        self._set_up_drafting(info, settings, progress)
        self._disk = None
        if settings.prompt_cache_dir and settings.prompt_cache_disk_bytes > 0 and self._reuse:
            import mlx_lm

            shape = {"context": self._context_length, "kv_bits": self._kv_bits, "mlx_lm": mlx_lm.__version__}
            self._disk = DiskPromptCache(
                Path(settings.prompt_cache_dir),
                settings.prompt_cache_disk_bytes,
                model_key("mlx", info.path, shape),
                ".safetensors",
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

    def _set_up_drafting(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> None:
        """Prompt lookup and, when one is chosen, a draft model checked for the same tokenizer."""
        import mlx.core as mx
        from mlx_lm import load

        from engines.inspect import inspect_model

        lookup = settings.prompt_lookup if settings.prompt_lookup is not None else mx.default_device() == mx.gpu
        drafters: list[Drafter] = [PromptLookup()] if lookup else []
        self._max_draft = settings.max_draft_tokens
        if settings.draft_model:
            progress(0.8, "Loading the draft model")
            draft_info = inspect_model(settings.draft_model)
            if draft_info.format != "mlx":
                raise InvalidRequestError("A draft model for an MLX model must be an MLX folder too.")
            try:
                draft, draft_tokenizer = load(draft_info.path)[:2]
            except (ValueError, FileNotFoundError, OSError, KeyError) as err:
                raise ModelFileError(f"MLX could not load the draft model: {err}") from None
            check_same_tokenizer(self._tokenizer, draft_tokenizer, info.name, draft_info.name)
            drafters.append(MlxDraftModel(draft))
        self._drafter = FirstOf(drafters) if drafters else None

    def after_reply(self) -> None:
        """Once the reply's end is sent: save a long conversation's KV cache for after a restart."""
        kept, self._last_kept = self._last_kept, None
        if self._disk is None or kept is None or len(kept[0]) < MIN_TOKENS:
            return
        from mlx_lm.models.cache import save_prompt_cache

        tokens, cache = kept
        self._disk.save(tokens, lambda path: save_prompt_cache(str(path), cache))

    def describe(self) -> ModelInfo:
        if self._info is None:
            raise NotLoadedError("No model is loaded.")
        return self._info

    def unload(self) -> None:
        self._model = self._tokenizer = self._info = self._cache = self._grammar_tokens = None
        self._drafter = self._last_kept = self._disk = None
        try:
            import mlx.core as mx

            mx.clear_cache()
        except Exception:  # unloading must never fail
            log.debug("mlx clear_cache failed", exc_info=True)

    def _has_special_token(self, text: str) -> bool:
        added = getattr(self._tokenizer, "added_tokens_encoder", None) or {}
        return text in added

    def vocabulary(self) -> ModelVocabulary:
        info = self.describe()
        return ModelVocabulary(
            encode=lambda text: list(self._tokenizer.encode(text, add_special_tokens=False)),
            has_special_token=self._has_special_token,
            bos_token=info.bos_token or "",
            eos_token=info.eos_token or "",
            model_template=info.chat_template,
        )

    def prompt(self, request: ReplyRequest) -> Prompt:
        return build_prompt(request, self.vocabulary(), self._context_length)

    def tokenize_prompt(self, messages: list[Message]) -> list[int]:
        return self.prompt(ReplyRequest(messages)).ids

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise InvalidRequestError(EMBEDDINGS_NEED_GGUF)

    def greedy_trace(
        self, messages: list[Message], count: int, forced: list[int] | None = None
    ) -> tuple[list[int], list[float]]:
        """A diagnostic for engine parity: the greedy token at each step, and its lead over the runner-up.

        Without `forced`, the greedy reply up to the end of the turn. With it, each step is fed
        `forced` so far (teacher forcing), so one near tie does not end the comparison.
        """
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_sampler

        prompt = self.tokenize_prompt(messages)
        ids: list[int] = []
        margins: list[float] = []
        if forced is not None:
            logits = self._model(mx.array([prompt + list(forced[: count - 1])]))[0, len(prompt) - 1 :]
            for row in logits.astype(mx.float32).tolist()[:count]:
                best, runner_up = _top_two(row)
                ids.append(best[0])
                margins.append(best[1] - runner_up[1])
            return ids, margins
        for token, logprobs in generate_step(
            mx.array(prompt), self._model, max_tokens=count, sampler=make_sampler(temp=0.0)
        ):
            token_id = int(token)
            if token_id in self._tokenizer.eos_token_ids:
                break
            top: list[float] = mx.topk(logprobs.astype(mx.float32), 2).tolist()  # type: ignore[assignment]
            ids.append(token_id)
            margins.append(max(top) - min(top))
        return ids, margins

    def _cached_prefix(self, ids: list[int]) -> tuple[Any, list[int]]:
        """(a KV cache already holding the longest cached prefix of ids, the ids still to prefill)."""
        from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache

        cache, rest = (None, ids) if not self._reuse else self._cache.fetch_nearest_cache(self._cache_key, ids)
        self._disk_tokens = 0
        from_disk = self._from_disk(ids, len(ids) - len(rest) if cache is not None else 0)
        if from_disk is not None:
            cache, rest = from_disk
        if cache is None:
            return make_prompt_cache(self._model), ids
        if not rest:
            # The whole prompt is cached: step back one token so there is something to feed.
            trim_prompt_cache(cache, 1)
            rest = ids[-1:]
        return cache, list(rest)

    def _from_disk(self, ids: list[int], in_memory: int) -> tuple[Any, list[int]] | None:
        """A KV cache restored from disk holding more of `ids` than memory has, and the ids left to read."""
        from mlx_lm.models.cache import load_prompt_cache, trim_prompt_cache

        if self._disk is None:
            return None
        shared, entry = self._disk.best_match(ids)
        if entry is None or shared < in_memory + DISK_MIN_GAIN:
            return None
        payload = self._disk.verified_payload(entry)
        if payload is None:
            return None
        try:
            cache = load_prompt_cache(str(payload))
            if len(cache) != len(self._model.layers) or cache[0].offset != len(entry.tokens):
                raise ValueError("a cache of another shape")
        except Exception as err:  # whatever mlx makes of a foreign file, it is not used
            log.warning("a saved prompt cache was refused (%s); deleted", err)
            self._disk.forget(entry)
            return None
        shared = min(shared, len(ids) - 1)
        trim_prompt_cache(cache, len(entry.tokens) - shared)
        self._disk_tokens = shared
        return cache, ids[shared:]

    def generate(self, request: ReplyRequest, should_stop: Callable[[], bool]) -> Iterator[ReplyEvent]:
        import mlx.core as mx

        if self._model is None:
            raise NotLoadedError("No model is loaded.")
        params = request.params
        start = time.perf_counter()
        constraint = self._constraint(params)  # first: a schema it cannot use costs no prefill
        prompt = self.prompt(request)
        cache, rest = self._cached_prefix(prompt.ids)
        cached = len(prompt.ids) - len(rest)
        mx.random.seed(params.seed if params.seed is not None else random.getrandbits(32))
        mx.reset_peak_memory()
        stats = GenerationStats(
            prompt_tokens=len(prompt.ids),
            cached_tokens=cached,
            dropped_turns=prompt.dropped_turns,
            disk_cached_tokens=self._disk_tokens,
        )
        yield Started(prompt.template.source, prompt.template.notice)
        rest, stopped = yield from self._prefill(prompt.ids, rest, cache, should_stop)
        if stopped:  # while reading the prompt: keep what was read for the next turn
            self._keep_cache(prompt.ids[: len(prompt.ids) - len(rest)], cache)
            stats.peak_memory_bytes = int(mx.get_peak_memory())
            yield Finished("cancelled", stats)
            return
        finish, cache_tokens = yield from self._decode(
            prompt, rest, cache, params, stats, start, should_stop, constraint
        )
        self._keep_cache(cache_tokens, cache)
        stats.prompt_tps = (len(prompt.ids) - cached) / (stats.ttft_ms / 1000) if stats.ttft_ms else 0.0
        stats.peak_memory_bytes = int(mx.get_peak_memory())
        yield Finished(finish, stats)

    def _constraint(self, params: GenerationParams) -> TokenConstraint | None:
        """The grammar state for a reply with a response format; None (and no cost) for any other."""
        if params.response_format is None:
            return None
        from llguidance.hf import from_tokenizer

        if self._grammar_tokens is None:
            self._grammar_tokens = from_tokenizer(self._tokenizer._tokenizer)
        grammar = checked_grammar(params.response_format, self._grammar_tokens)
        return TokenConstraint(self._grammar_tokens, grammar, self._grammar_tokens.vocab_size)

    def _prefill(
        self, ids: list[int], rest: list[int], cache: Any, should_stop: Callable[[], bool]
    ) -> Generator[ReplyEvent, None, tuple[list[int], bool]]:
        """Read a long prompt in chunks, saying how far it got and stopping between chunks when asked.

        Returns the tokens still unread and whether it was stopped. What is left (at least one token)
        goes to mlx-lm's generation, which reads it and samples.
        """
        import mlx.core as mx

        step = prefill_step()
        if len(rest) <= step:
            return rest, False  # short: mlx-lm reads it in one go, with nothing to report
        while len(rest) > step:
            chunk, rest = rest[:step], rest[step:]
            self._model(mx.array([chunk]), cache=cache)
            mx.eval([c.state for c in cache])
            yield PromptProgress(len(ids) - len(rest), len(ids))
            if should_stop():
                return rest, True
        return rest, False

    def _decode(
        self,
        prompt: Prompt,
        rest: list[int],
        cache: Any,
        params: GenerationParams,
        stats: GenerationStats,
        start: float,
        should_stop: Callable[[], bool],
        constraint: TokenConstraint | None = None,
    ) -> Generator[ReplyEvent, None, tuple[FinishReason, list[int]]]:
        """Sample tokens until the end of the turn, a stop string, the length limit or a cancel (a reply with a
        response format ends when the grammar allows only the end of the turn)."""
        from mlx_lm import stream_generate

        if self._drafter is not None:
            return (yield from self._decode_drafted(prompt, rest, cache, params, stats, start, should_stop, constraint))
        shaper = ReplyShaper(params, prompt.text)
        finish: FinishReason = "length"
        response = None
        cache_tokens = list(prompt.ids)  # what the KV cache holds when generation stops
        for response in stream_generate(
            self._model,
            self._tokenizer,
            rest,
            max_tokens=prompt.max_tokens,
            sampler=sampler_for(params),
            logits_processors=processors_for(params, constraint),
            prompt_cache=cache,
            kv_bits=self._kv_bits,
            quantized_kv_start=0,  # quantized from the first token, so the cache's memory is what was asked
        ):
            cache_tokens.append(int(response.token))
            if stats.ttft_ms == 0.0:
                stats.ttft_ms = (time.perf_counter() - start) * 1000
            yield from shaper.feed(response.text)
            if shaper.stopped:
                finish = "stop"
                break
            if response.finish_reason:
                finish = "stop" if response.finish_reason == "stop" else "length"
                break
            if should_stop():
                finish = "cancelled"
                break
        yield from shaper.finish()
        if response is not None:
            stats.generated_tokens = int(response.generation_tokens)
            stats.generation_tps = float(response.generation_tps)
        return finish, cache_tokens

    def _decode_drafted(
        self,
        prompt: Prompt,
        rest: list[int],
        cache: Any,
        params: GenerationParams,
        stats: GenerationStats,
        start: float,
        should_stop: Callable[[], bool],
        constraint: TokenConstraint | None,
    ) -> Generator[ReplyEvent, None, tuple[FinishReason, list[int]]]:
        """As _decode, with speculative decoding: Parlour's own loop, drafts checked in one model call."""
        import functools

        from mlx_lm.generate import maybe_quantize_kv_cache

        assert self._drafter is not None
        processors = processors_for(params, constraint)
        quantize = functools.partial(
            maybe_quantize_kv_cache, quantized_kv_start=0, kv_group_size=64, kv_bits=self._kv_bits
        )
        steps = MlxSpeculativeSteps(
            self._model, cache, sampler_for(params), processors, self._drafter, self._max_draft, quantize
        )
        shaper = ReplyShaper(params, prompt.text)
        detokenizer = self._tokenizer.detokenizer
        detokenizer.reset()
        finish: FinishReason = "length"
        cache_tokens = list(prompt.ids)
        first_at = 0.0
        tokens = steps.tokens(prompt.ids, rest)
        try:
            for token in tokens:
                cache_tokens.append(token)
                first_at = first_at or time.perf_counter()
                if token in self._tokenizer.eos_token_ids:
                    finish = "stop"
                    break
                stats.generated_tokens += 1
                detokenizer.add_token(token)
                yield from shaper.feed(detokenizer.last_segment)
                if shaper.stopped:
                    finish = "stop"
                    break
                if stats.generated_tokens >= prompt.max_tokens:
                    break
                if should_stop():
                    finish = "cancelled"
                    break
        finally:
            tokens.close()
            steps.finish()
        detokenizer.finalize()
        yield from shaper.feed(detokenizer.last_segment)
        yield from shaper.finish()
        _timing(stats, start, first_at, time.perf_counter())
        stats.draft_tokens, stats.accepted_draft_tokens = steps.score.drafted, steps.score.accepted
        return finish, cache_tokens

    def _keep_cache(self, tokens: list[int], cache: Any) -> None:
        self._last_kept = (tokens, cache)
        if self._reuse:
            self._cache.insert_cache(self._cache_key, tokens, cache)


# A cache on disk is read only when it saves this many more tokens than memory already holds.
DISK_MIN_GAIN = 16

# Prompt tokens read at once, and between progress reports: about a second's work on the device in use.
# On a GPU large steps keep it busy; MLX on a CPU reads only a few tokens a second. The fit estimate
# (app/library/fit.py) sizes a prefill's scratch by these.
PREFILL_STEP_GPU = 512
PREFILL_STEP_CPU = 32


def prefill_step() -> int:
    """The most prompt tokens read in one go on the device in use."""
    import mlx.core as mx

    return PREFILL_STEP_GPU if mx.default_device() == mx.gpu else PREFILL_STEP_CPU


def _timing(stats: GenerationStats, start: float, first_at: float, ended: float) -> None:
    stats.ttft_ms = (first_at - start) * 1000 if first_at else 0.0
    if stats.generated_tokens > 1 and ended > first_at:
        stats.generation_tps = (stats.generated_tokens - 1) / (ended - first_at)


def _top_two(row: list[float]) -> tuple[tuple[int, float], tuple[int, float]]:
    best = max(range(len(row)), key=row.__getitem__)
    runner_up = max((i for i in range(len(row)) if i != best), key=row.__getitem__)
    return (best, row[best]), (runner_up, row[runner_up])
