"""llama.cpp through llama-cpp-python, for GGUF files.

`Llama` is not thread-safe, so the engine host drives it from one thread. The
reply loop is Parlour's own (tokens from `Llama.generate`, an incremental UTF-8
decoder, our stop strings) so cancel, stop strings and stats behave exactly as
on the MLX engine.
"""

from __future__ import annotations

import codecs
import logging
import random
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.base import (
    KV_CACHE_BYTES,
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
from engines.llamacpp_embeddings import embed_texts, load_options, refuse_chat
from engines.llamacpp_native import never_compile_model_templates, route_native_logs
from engines.llamacpp_speculative import LlamaDraftModel, SpeculativeSteps, load_draft_model
from engines.llamacpp_state_files import restore_state_file, save_state_file
from engines.process_memory import peak_resident_bytes
from engines.prompt_cache import StateCache, common_prefix
from engines.prompting import ModelVocabulary, Prompt, ReplyShaper, build_prompt
from engines.protocol import ReplyRequest
from engines.speculation import Drafter, FirstOf, PromptLookup
from engines.thread_choice import ThreadChoice

log = logging.getLogger(__name__)
# A state on disk is restored only when it saves this many more tokens than what memory already holds:
# reading a file and checking it costs about what prefilling a few dozen tokens does.
DISK_MIN_GAIN = 64

# Prompt tokens read between progress reports (and chances to stop): about a second on a small CPU.
PREFILL_CHUNK = 256


class LlamaCppEngine:
    name: EngineName = "llamacpp"

    def __init__(self) -> None:
        self._llm: Any = None
        self._info: ModelInfo | None = None
        self._states = StateCache(0)
        self._reuse = True
        self._threads = ThreadChoice(fixed=1)
        self._grammar_tokens: Any = None  # llguidance's token table of the loaded model, built when first needed
        self._drafter: Drafter | None = None  # speculative decoding's source of guesses; None: plain decoding
        self._draft_model: LlamaDraftModel | None = None
        self._max_draft = 16
        self._disk: DiskPromptCache | None = None  # the prompt cache kept across restarts
        self._disk_tokens = 0  # prompt tokens the current reply restored from it
        self._saved_tokens = -1  # how many tokens the last state written to disk held

    def load(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> ModelInfo:
        progress(0.05, "Starting llama.cpp")
        import llama_cpp

        route_native_logs()
        never_compile_model_templates()
        offload = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = settings.gpu_layers if settings.gpu_layers is not None else (-1 if offload else 0)
        n_ctx = context_size(info, settings)
        self._threads.stop()
        self._threads = ThreadChoice(fixed=settings.threads)
        threads = self._threads.current
        progress(0.2, "Reading weights")
        kv_type = {"f16": llama_cpp.GGML_TYPE_F16, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}
        flash = flash_attention(settings)  # first: a combination llama.cpp cannot run is the person's to fix
        try:
            self._llm = llama_cpp.Llama(
                model_path=info.path,
                n_ctx=n_ctx,
                n_gpu_layers=gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,
                flash_attn=flash,
                type_k=kv_type[settings.kv_cache_type],
                type_v=kv_type[settings.kv_cache_type],
                use_mmap=settings.memory_map,
                use_mlock=settings.memory_lock,
                verbose=False,
                **load_options(info.path, settings, n_ctx),  # the batch, and embedding's own options
            )
        except (ValueError, RuntimeError, OSError) as err:
            raise ModelFileError(f"llama.cpp could not load this model ({err}).") from None
        self._states = StateCache(settings.prompt_cache_bytes)
        self._grammar_tokens = None
        self._reuse = settings.prompt_cache_bytes > 0
        self._set_up_drafting(info, settings, n_ctx, gpu_layers, threads, progress)
        self._disk, self._saved_tokens = None, -1
        if settings.prompt_cache_dir and settings.prompt_cache_disk_bytes > 0 and self._reuse:
            shape = {"n_ctx": n_ctx, "kv": settings.kv_cache_type, "flash": flash, "llama_cpp": llama_cpp.__version__}
            key = model_key("llamacpp", info.path, shape)
            self._disk = DiskPromptCache(Path(settings.prompt_cache_dir), settings.prompt_cache_disk_bytes, key, ".kv")
        self._info = ModelInfo(**{**info.to_dict(), "context_length": self._llm.n_ctx()})
        self._threads.start()
        log.info("loaded %s: n_ctx=%s gpu_layers=%s threads=%s", info.path, n_ctx, gpu_layers, threads)
        progress(1.0, "Loaded")
        return self._info

    def _set_up_drafting(
        self,
        info: ModelInfo,
        settings: LoadSettings,
        n_ctx: int,
        gpu_layers: int,
        threads: int,
        progress: ProgressCallback,
    ) -> None:
        """Prompt lookup (unless switched off) and, when one is chosen, a draft model of the same vocabulary."""
        drafters: list[Drafter] = [PromptLookup()] if settings.prompt_lookup is not False else []
        self._max_draft = settings.max_draft_tokens
        if settings.draft_model:
            progress(0.8, "Loading the draft model")
            self._draft_model = load_draft_model(settings.draft_model, self._llm, info.name, n_ctx, gpu_layers, threads)
            drafters.append(self._draft_model)
        self._drafter = FirstOf(drafters) if drafters else None

    def describe(self) -> ModelInfo:
        if self._info is None:
            raise NotLoadedError("No model is loaded.")
        return self._info

    def after_reply(self) -> None:
        """Once the reply's end is sent: save a long conversation's KV state for after a restart."""
        llm, disk = self._llm, self._disk
        if llm is None or disk is None or llm.n_tokens < MIN_TOKENS or llm.n_tokens == self._saved_tokens:
            return
        save_state_file(disk, llm)
        self._saved_tokens = llm.n_tokens

    def unload(self) -> None:
        self._threads.stop()
        if self._disk is not None:
            self._disk.wait()  # a state being written is finished, not left half-written
        if self._llm is not None:
            self._llm.close()
        if self._draft_model is not None:
            self._draft_model.close()
        self._draft_model = self._drafter = None
        self._states.clear()
        self._llm = self._info = self._grammar_tokens = None

    def _special_token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return self._llm.detokenize([token_id], special=True).decode("utf-8", errors="replace")

    def _has_special_token(self, text: str) -> bool:
        ids = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        control_or_user_defined = (1 << 3) | (1 << 4)  # LLAMA_TOKEN_ATTR_CONTROL | _USER_DEFINED
        return len(ids) == 1 and self._llm._model.token_get_attr(ids[0]) & control_or_user_defined != 0

    def vocabulary(self) -> ModelVocabulary:
        info = self.describe()
        return ModelVocabulary(
            encode=lambda text: self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True),
            has_special_token=self._has_special_token,
            bos_token=self._special_token_text(self._llm.token_bos()),
            eos_token=self._special_token_text(self._llm.token_eos()),
            model_template=info.chat_template,
        )

    def prompt(self, request: ReplyRequest) -> Prompt:
        return build_prompt(request, self.vocabulary(), self._llm.n_ctx())

    def tokenize_prompt(self, messages: list[Message]) -> list[int]:
        return self.prompt(ReplyRequest(messages)).ids

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self._llm is None:
            raise NotLoadedError("No model is loaded.")
        return embed_texts(self._llm, texts)

    def greedy_trace(
        self, messages: list[Message], count: int, forced: list[int] | None = None
    ) -> tuple[list[int], list[float]]:
        """A diagnostic for engine parity: the greedy token at each step, and its lead over the runner-up.

        Without `forced`, the greedy reply up to the end of the turn. With it, each step is fed
        `forced` so far (teacher forcing), so one near tie does not end the comparison.
        """
        import llama_cpp
        import numpy as np

        llm = self._llm
        llm.reset()
        llm.eval(self.tokenize_prompt(messages))
        ids: list[int] = []
        margins: list[float] = []
        while len(ids) < count:
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
            runner_up, best = np.argpartition(logits, -2)[-2:]
            if logits[runner_up] > logits[best]:
                best, runner_up = runner_up, best
            token = int(best)
            if forced is None and llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                break
            ids.append(token)
            margins.append(float(logits[best] - logits[runner_up]))
            if forced is not None and len(ids) >= len(forced):
                break
            llm.eval([forced[len(ids) - 1] if forced is not None else token])
        llm.reset()  # the live cache no longer matches any conversation
        return ids, margins

    def _reuse_prefix(self, ids: list[int]) -> int:
        """Make the live KV cache hold the longest available prefix of `ids`; return its length.

        Llama.generate itself trims the live cache to the shared prefix (edit, regenerate);
        switching conversations restores a saved state when it shares more.
        """
        llm = self._llm
        if not self._reuse:
            llm.reset()
            return 0
        self._disk_tokens = 0
        live = llm._input_ids[: llm.n_tokens].tolist()
        live_shared = common_prefix(live, ids)
        saved_shared, saved = self._states.best_match(ids)
        if self._disk is not None:
            on_disk, entry = self._disk.best_match(ids)
            if entry is not None and on_disk >= max(live_shared, saved_shared) + DISK_MIN_GAIN:
                if live and live_shared < len(live):  # keep the live conversation for switching back
                    state = llm.save_state()
                    self._states.put(live, state, int(state.llama_state_size))
                if restore_state_file(self._disk, llm, entry):
                    self._disk_tokens = min(on_disk, len(ids) - 1)
                    self._saved_tokens = llm.n_tokens
                    return self._disk_tokens
                live_shared = 0  # refused: the context was emptied
        if saved is not None and saved_shared > live_shared:
            if live and live_shared < len(live):
                state = llm.save_state()
                self._states.put(live, state, int(state.llama_state_size))
            llm.load_state(saved.state)
            live_shared = saved_shared
        elif live and live_shared < len(live) and live_shared < len(ids) // 2:
            # Another conversation is about to overwrite the live one: keep it for switching back.
            state = llm.save_state()
            self._states.put(live, state, int(state.llama_state_size))
        return min(live_shared, len(ids) - 1)

    def generate(self, request: ReplyRequest, should_stop: Callable[[], bool]) -> Iterator[ReplyEvent]:
        llm = self._llm
        if llm is None:
            raise NotLoadedError("No model is loaded.")
        refuse_chat(llm)
        if self._disk is not None:
            self._disk.wait()  # the last reply's state file is complete before this one changes the cache
        start = time.perf_counter()
        constraint = self._constraint(request.params)  # first: a schema it cannot use costs no prefill
        prompt = self.prompt(request)
        cached = self._reuse_prefix(prompt.ids)
        self._threads.update(llm._ctx.ctx, force=True)  # others' load may have changed since the last reply
        params = request.params
        llm.set_seed(params.seed if params.seed is not None else random.getrandbits(31))
        yield Started(prompt.template.source, prompt.template.notice)
        if (yield from self._prefill(prompt.ids, cached, should_stop)):
            run = _DecodeRun(finish="cancelled", disk_tokens=self._disk_tokens)
            yield Finished("cancelled", _reply_stats(prompt, cached, start, run))
            return
        run = yield from self._decode(prompt, params, ReplyShaper(params, prompt.text), should_stop, constraint)
        run.disk_tokens = self._disk_tokens
        yield Finished(run.finish, _reply_stats(prompt, cached, start, run))

    def _constraint(self, params: GenerationParams) -> TokenConstraint | None:
        """The grammar state for a reply with a response format; None (and no cost) for any other."""
        if params.response_format is None:
            return None
        from llguidance.llamacpp import lltokenizer_from_vocab

        if self._grammar_tokens is None:
            self._grammar_tokens = lltokenizer_from_vocab(self._llm._model.vocab)
        grammar = checked_grammar(params.response_format, self._grammar_tokens)
        return TokenConstraint(self._grammar_tokens, grammar, self._llm.n_vocab())

    def _prefill(
        self, ids: list[int], cached: int, should_stop: Callable[[], bool]
    ) -> Generator[ReplyEvent, None, bool]:
        """Read a long prompt in chunks, saying how far it got and stopping between chunks when asked.

        Returns whether it was stopped. The last token is left for Llama.generate, which then finds
        the rest already in the KV cache and evaluates only that one before sampling.
        """
        llm = self._llm
        end = len(ids) - 1
        if end - cached <= PREFILL_CHUNK:
            return False  # short: llama-cpp-python reads it in one go, with nothing to report
        llm._ctx.kv_cache_seq_rm(-1, cached, -1)
        llm.n_tokens = cached
        position = cached
        while position < end:
            step = min(PREFILL_CHUNK, end - position)
            llm.eval(ids[position : position + step])
            position += step
            yield PromptProgress(position, len(ids))
            if should_stop():
                return True
            self._threads.update(llm._ctx.ctx)
        return False

    def _token_source(
        self, prompt: Prompt, params: GenerationParams, constraint: TokenConstraint | None
    ) -> tuple[SpeculativeSteps | None, Generator[int, Any, None]]:
        """The reply's tokens: llama-cpp-python's own loop, or Parlour's speculative one when drafting."""
        llm, greedy = self._llm, params.greedy
        sampling: dict[str, Any] = {
            "top_k": 1 if greedy else params.top_k,
            "top_p": 1.0 if greedy else params.top_p,
            "min_p": 0.0 if greedy else params.min_p,
            "temp": 0.0 if greedy else params.temperature,
            "repeat_penalty": params.repeat_penalty,
            "frequency_penalty": params.frequency_penalty,
            "presence_penalty": params.presence_penalty,
            # Only a constrained reply pays for a logits processor: the free path is llama.cpp's own.
            "logits_processor": None if constraint is None else [lambda _ids, logits: constraint.mask(logits)],
        }
        if self._drafter is not None:
            sampler = llm._init_sampler(**sampling)
            steps = SpeculativeSteps(
                llm, sampler, self._drafter, self._max_draft, lambda: self._threads.update(llm._ctx.ctx)
            )
            return steps, steps.tokens(prompt.ids)
        return None, llm.generate(prompt.ids, reset=True, **sampling)

    def _decode(
        self,
        prompt: Prompt,
        params: GenerationParams,
        shaper: ReplyShaper,
        should_stop: Callable[[], bool],
        constraint: TokenConstraint | None = None,
    ) -> Generator[ReplyEvent, None, _DecodeRun]:
        """Sample tokens until the end of the turn, a stop string, the length limit, a cancel, or the end of
        what the response format allows."""
        import llama_cpp

        llm = self._llm
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llm._model.vocab
        run = _DecodeRun()
        steps, tokens = self._token_source(prompt, params, constraint)
        try:
            for token in tokens:
                run.first_token_at = run.first_token_at or time.perf_counter()
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    run.finish = "stop"
                    break
                run.generated += 1
                yield from shaper.feed(decoder.decode(token_piece(llm, token)))
                if constraint is not None:
                    constraint.take(token)
                if shaper.stopped or (constraint is not None and constraint.finished):
                    run.finish = "stop"
                    break
                if run.generated >= prompt.max_tokens:
                    break
                if should_stop():
                    run.finish = "cancelled"
                    break
                self._threads.update(llm._ctx.ctx)
        finally:
            tokens.close()
            if steps is not None:
                steps.close()
                llm._requires_eval = True  # the logits llama-cpp-python keeps are not the last token's
                run.drafted, run.accepted = steps.score.drafted, steps.score.accepted
        yield from shaper.finish(decoder.decode(b"", final=True))
        run.ended_at = time.perf_counter()
        return run


def context_size(info: ModelInfo, settings: LoadSettings) -> int:
    """The context to allocate: as asked (checked against the model and free memory), else the model's own
    capped to what free memory holds, rounded up to llama.cpp's multiple of 256."""
    kv_per_token = kv_bytes_per_token(info.layers, info.kv_heads, info.head_dim, KV_CACHE_BYTES[settings.kv_cache_type])
    check_context_length(settings.context_length, info.context_length, info.file_size, kv_per_token, memory()[1])
    n_ctx = settings.context_length or default_context_length(
        info.context_length, info.file_size, kv_per_token, memory()[1]
    )
    # llama.cpp pads the context to a multiple of 256, while llama-cpp-python sizes its token
    # buffers from the number asked for: ask for the padded size so the two agree.
    return max(256, -(-n_ctx // 256) * 256)


def flash_attention(settings: LoadSettings) -> bool:
    """Whether llama.cpp runs flash attention: as asked, or (when not asked) exactly when the KV cache is
    quantized, since llama.cpp keeps a quantized V cache only with flash attention."""
    quantized = settings.kv_cache_type != "f16"
    if settings.flash_attention is None:
        return quantized
    if quantized and not settings.flash_attention:
        raise InvalidRequestError(
            f"A {settings.kv_cache_type} KV cache needs flash attention on llama.cpp: "
            "switch flash attention on, or keep the KV cache at f16."
        )
    return settings.flash_attention


# Control tokens that open a tool call in some families (Mistral, Granite, Llama 3): llama.cpp leaves control
# tokens out of the text, so these are written out, or the call would reach the parser without its marker.
TOOL_CALL_MARKERS = frozenset({"[TOOL_CALLS]", "<|tool_call|>", "<|python_tag|>", "<tool_call>", "</tool_call>"})


def token_piece(llm: Any, token: int) -> bytes:
    """The token's text as a reply shows it: control tokens left out, except those that mark a tool call."""
    piece = llm.detokenize([token])
    if not piece:
        special = llm.detokenize([token], special=True)
        if special.decode("utf-8", errors="replace") in TOOL_CALL_MARKERS:
            return bytes(special)
    return bytes(piece)


@dataclass
class _DecodeRun:
    """How one reply's decoding went, for its stats."""

    finish: FinishReason = "length"
    generated: int = 0
    first_token_at: float = 0.0
    ended_at: float = 0.0
    drafted: int = 0  # speculative decoding's draft tokens, and the ones kept
    accepted: int = 0
    disk_tokens: int = 0  # prompt tokens restored from the prompt cache on disk


def _reply_stats(prompt: Prompt, cached: int, started_at: float, run: _DecodeRun) -> GenerationStats:
    stats = GenerationStats(
        prompt_tokens=len(prompt.ids),
        cached_tokens=cached,
        dropped_turns=prompt.dropped_turns,
        generated_tokens=run.generated,
        peak_memory_bytes=peak_resident_bytes(),
        draft_tokens=run.drafted,
        accepted_draft_tokens=run.accepted,
        disk_cached_tokens=run.disk_tokens,
    )
    if run.first_token_at:
        prefill_s = run.first_token_at - started_at
        stats.ttft_ms = prefill_s * 1000
        stats.prompt_tps = (len(prompt.ids) - cached) / prefill_s if prefill_s > 0 else 0.0
        if run.generated > 1 and run.ended_at > run.first_token_at:
            stats.generation_tps = (run.generated - 1) / (run.ended_at - run.first_token_at)
    return stats
