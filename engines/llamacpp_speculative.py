"""Speculative decoding on llama.cpp: Parlour's own token loop, drafts checked in one batch.

Each step evaluates the last sampled token and the draft together, with logits kept for every
position, then samples position by position with the reply's own llama.cpp sampler chain (the same
one `Llama.generate` builds, penalties, grammar mask and all). A draft token is kept while it equals
what was sampled; the first difference is itself the next token. The KV cache is then cut back to
the kept tokens. Each emitted token is sampled exactly once, in order, so the sampler sees the same
history as without drafting.

Where the batch and single-token kernels round differently (CPU matrix code takes other paths for a
batch), two near-equal logits can swap; llama.cpp's own speculative decoding has the same property.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from typing import Any

from engines.base import InvalidRequestError
from engines.prompt_cache import common_prefix
from engines.speculation import Drafter

log = logging.getLogger(__name__)


def evaluate_with_logits(llm: Any, tokens: Sequence[int]) -> None:
    """Evaluate `tokens` after what the cache holds, keeping logits for each of them (batch index i)."""
    n_past = llm.n_tokens
    llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
    llm._ctx.decode(llm._batch)
    llm.input_ids[n_past : n_past + len(tokens)] = tokens
    llm.n_tokens = n_past + len(tokens)


def cut_cache(llm: Any, keep: int) -> None:
    """Forget every position from `keep` on (the rejected draft tokens)."""
    if llm.n_tokens > keep:
        llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        llm.n_tokens = keep


def cache_up_to(llm: Any, ids: Sequence[int]) -> None:
    """Make the KV cache hold exactly ids[:-1], reusing what it already shares with them; the last
    token is evaluated with the first draft."""
    live = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), ids)
    keep = min(live, len(ids) - 1)
    cut_cache(llm, keep)
    if keep < len(ids) - 1:
        llm.eval(list(ids[keep:-1]))  # in batches of n_batch


class SpeculativeSteps:
    """One reply's speculative token stream on a llama.cpp model.

    `tokens()` yields sampled tokens one at a time, and samples the next only when asked, so a caller
    that takes each token (a grammar, a stop string) before the next is sampled sees the same order as
    without drafting. When the reply ends, `close()` leaves the cache holding the prompt and the
    tokens taken, less the last one, as `Llama.generate` leaves it.
    """

    def __init__(self, llm: Any, sampler: Any, drafter: Drafter, most: int, on_step: Callable[[], object]) -> None:
        from engines.speculation import DraftLength, DraftScore

        self.llm = llm
        self.sampler = sampler
        self.drafter = drafter
        self.length = DraftLength(min(most, llm.n_batch - 1))
        self.score = DraftScore()
        self.on_step = on_step  # between model calls: the thread count may change
        self.history: list[int] = []

    def tokens(self, ids: Sequence[int]) -> Generator[int, None, None]:
        llm = self.llm
        self.history = history = list(ids)
        cache_up_to(llm, history)
        while llm.n_tokens < llm.n_ctx() - 1:
            room = llm.n_ctx() - llm.n_tokens - 1
            draft = self.drafter.draft(history, min(self.length.next(), room))
            evaluate_with_logits(llm, [history[-1], *draft])
            base = llm.n_tokens - len(draft)  # the cache position of draft[0]
            self.score.drafted += len(draft)
            for index in range(len(draft) + 1):
                token = self.sampler.sample(llm._ctx, index)
                history.append(token)
                kept = index < len(draft) and token == draft[index]
                if not kept:
                    cut_cache(llm, base + index)  # the draft from here on is not what the model says
                    self.length.update(len(draft), index)  # the first `index` were kept
                yield token
                if not kept:
                    break
                self.score.accepted += 1
            self.on_step()

    def close(self) -> None:
        cut_cache(self.llm, len(self.history) - 1)


class LlamaDraftModel:
    """A smaller llama.cpp model of the same vocabulary, drafting greedily from its own KV cache,
    which follows the reply (cut back to the shared prefix before each draft)."""

    def __init__(self, draft: Any) -> None:
        self.llm = draft

    def draft(self, tokens: Sequence[int], limit: int) -> list[int]:
        import numpy as np

        llm = self.llm
        limit = min(limit, llm.n_ctx() - len(tokens) - 1)
        if limit <= 0:
            return []
        live = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        keep = min(live, len(tokens) - 1)
        cut_cache(llm, keep)
        llm.eval(list(tokens[keep:]))
        guess: list[int] = []
        vocab = llm.n_vocab()
        while True:
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(vocab,))
            guess.append(int(logits.argmax()))
            if len(guess) >= limit:
                return guess
            llm.eval([guess[-1]])

    def close(self) -> None:
        self.llm.close()


def load_draft_model(
    path: str, target: Any, target_name: str, n_ctx: int, gpu_layers: int, threads: int
) -> LlamaDraftModel:
    """Load a draft model for `target`, refusing one of another format or vocabulary with a sentence."""
    import llama_cpp

    from engines.base import ModelFileError
    from engines.inspect import inspect_model

    info = inspect_model(path)
    if info.format != "gguf":
        raise InvalidRequestError("A draft model for a GGUF model must be a GGUF file too.")
    try:
        draft = llama_cpp.Llama(
            model_path=info.path,
            n_ctx=n_ctx,
            n_batch=min(512, n_ctx),
            n_gpu_layers=gpu_layers,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as err:
        raise ModelFileError(f"llama.cpp could not load the draft model ({err}).") from None
    try:
        check_same_vocabulary(target, draft, target_name, info.name)
    except InvalidRequestError:
        draft.close()
        raise
    return LlamaDraftModel(draft)


def check_same_vocabulary(target: Any, draft: Any, target_name: str, draft_name: str) -> None:
    """Refuse a draft model whose tokens differ from the target's: its guesses would be other tokens."""
    problem = _vocabulary_difference(target, draft)
    if problem:
        raise InvalidRequestError(
            f"The draft model {draft_name} cannot draft for {target_name}: {problem}. "
            "Choose a smaller model of the same family, with the same tokenizer."
        )


def _vocabulary_difference(target: Any, draft: Any) -> str | None:
    if target.n_vocab() != draft.n_vocab():
        return f"its vocabulary has {draft.n_vocab():,} tokens, not {target.n_vocab():,}"
    if (target.token_bos(), target.token_eos()) != (draft.token_bos(), draft.token_eos()):
        return "its start and end tokens differ"
    ours, theirs = target._model, draft._model
    for token in range(target.n_vocab()):
        if ours.token_get_text(token) != theirs.token_get_text(token):
            return f"token {token:,} is {theirs.token_get_text(token)!r}, not {ours.token_get_text(token)!r}"
    return None
