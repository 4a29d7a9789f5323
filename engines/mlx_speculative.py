"""Speculative decoding on MLX: Parlour's own token loop in place of mlx-lm's stream_generate.

One model call reads the tokens not yet in the KV cache together with the draft; each position is then
sampled in turn with the reply's own sampler and logits processors (given the same tokens mlx-lm's
generate_step gives them: the prompt tokens it was handed, then the reply), and draft tokens are kept
while they equal what was sampled. `trim_prompt_cache` cuts the rest off the cache, quantized or not.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from engines.base import InvalidRequestError
from engines.prompt_cache import common_prefix
from engines.speculation import Drafter, DraftLength, DraftScore


class MlxSpeculativeSteps:
    """One reply's speculative token stream on an MLX model; the cache ends holding the prompt and every
    token yielded (as with mlx-lm's stream_generate)."""

    def __init__(
        self,
        model: Any,
        cache: Any,
        sampler: Callable[[Any], Any],
        processors: Sequence[Callable[[Any, Any], Any]],
        drafter: Drafter,
        most: int,
        quantize_cache: Callable[[Any], None],
    ) -> None:
        self.model, self.cache = model, cache
        self.sampler, self.processors = sampler, list(processors)
        self.drafter = drafter
        self.length = DraftLength(most)
        self.score = DraftScore()
        self.quantize_cache = quantize_cache
        self._pending: list[int] = []  # the token yielded last, when it is not in the cache yet
        self._ahead = 0  # draft tokens in the cache past the last one yielded

    def tokens(self, prompt: Sequence[int], rest: Sequence[int]) -> Generator[int, None, None]:
        """Sample after `prompt`, whose last len(rest) tokens are not in the cache yet."""
        import mlx.core as mx

        history = list(prompt)
        context = list(rest)  # what the logits processors see, as in mlx-lm's generate_step
        unread = list(rest)
        while True:
            draft = self.drafter.draft(history, self.length.next())
            logits = self.model(mx.array([unread + draft]), cache=self.cache)[0, -(len(draft) + 1) :]
            self.quantize_cache(self.cache)
            self.score.drafted += len(draft)
            self._pending, self._ahead = [], len(draft)
            for index in range(len(draft) + 1):
                row = logits[index : index + 1]
                if self.processors:
                    seen = mx.array(context)
                    for processor in self.processors:
                        row = processor(seen, row)
                token = int(self.sampler(row - mx.logsumexp(row, keepdims=True)).item())
                history.append(token)
                context.append(token)
                kept = index < len(draft) and token == draft[index]
                if kept:
                    self._ahead -= 1
                else:
                    self._trim(len(draft) - index)
                    self.length.update(len(draft), index)
                    self._pending, self._ahead = [token], 0
                yield token
                if not kept:
                    break
                self.score.accepted += 1
            unread = [history[-1]]

    def _trim(self, count: int) -> None:
        from mlx_lm.models.cache import trim_prompt_cache

        if count > 0:
            trim_prompt_cache(self.cache, count)

    def finish(self) -> None:
        """Read the last yielded token into the cache, so it holds every token yielded."""
        import mlx.core as mx

        if self._ahead:
            self._trim(self._ahead)  # drafts read but never yielded: the reply stopped before them
            self._ahead = 0
        elif self._pending:
            self.model(mx.array([self._pending]), cache=self.cache)
            self.quantize_cache(self.cache)
            mx.eval([c.state for c in self.cache])
            self._pending = []


class MlxDraftModel:
    """A smaller MLX model of the same tokenizer, drafting greedily from a KV cache of its own that is
    cut back to the shared prefix before each draft."""

    def __init__(self, model: Any) -> None:
        from mlx_lm.models.cache import make_prompt_cache

        self.model = model
        self.cache = make_prompt_cache(model)
        self.tokens: list[int] = []  # what its cache holds

    def draft(self, tokens: Sequence[int], limit: int) -> list[int]:
        import mlx.core as mx
        from mlx_lm.models.cache import trim_prompt_cache

        keep = min(common_prefix(self.tokens, tokens), len(tokens) - 1)
        if keep < len(self.tokens):
            if not trim_prompt_cache(self.cache, len(self.tokens) - keep):
                from mlx_lm.models.cache import make_prompt_cache

                self.cache, keep = make_prompt_cache(self.model), 0
            self.tokens = self.tokens[:keep]
        unread = list(tokens[keep:])
        guess: list[int] = []
        while len(guess) < limit:
            logits = self.model(mx.array([unread]), cache=self.cache)[0, -1]
            self.tokens += unread
            guess.append(int(mx.argmax(logits).item()))  # type: ignore[arg-type]
            unread = guess[-1:]
        return guess


def check_same_tokenizer(target: Any, draft: Any, target_name: str, draft_name: str) -> None:
    """Refuse a draft model whose tokenizer differs from the target's."""
    ours, theirs = target.get_vocab(), draft.get_vocab()
    problem = None
    if len(ours) != len(theirs):
        problem = f"its vocabulary has {len(theirs):,} tokens, not {len(ours):,}"
    elif ours != theirs:
        problem = "its tokens differ"
    elif set(target.eos_token_ids) != set(draft.eos_token_ids):
        problem = "its end tokens differ"
    if problem:
        raise InvalidRequestError(
            f"The draft model {draft_name} cannot draft for {target_name}: {problem}. "
            "Choose a smaller model of the same family, with the same tokenizer."
        )
