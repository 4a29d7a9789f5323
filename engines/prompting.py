"""From a conversation to prompt tokens, and from generated text to reply events.

Both engines share this so that templates, context fitting, stop strings and the
thinking/answer split behave the same whichever engine runs the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engines.base import Delta, GenerationParams, Message
from engines.context import fit_conversation
from engines.protocol import ReplyRequest
from engines.reasoning import ReasoningSplitter
from engines.stopping import StopMatcher
from engines.template_choice import ChosenTemplate, choose_template
from engines.templates import render_chat


@dataclass(frozen=True)
class Prompt:
    text: str
    ids: list[int]
    template: ChosenTemplate
    dropped_turns: int
    max_tokens: int


@dataclass(frozen=True)
class ModelVocabulary:
    """What prompt building needs from a loaded model's tokenizer."""

    encode: Callable[[str], list[int]]  # rendered text -> ids, special tokens parsed, no BOS added
    has_special_token: Callable[[str], bool]
    bos_token: str
    eos_token: str
    model_template: str | None


def build_prompt(request: ReplyRequest, vocab: ModelVocabulary, context_length: int) -> Prompt:
    template = choose_template(request.template_override, vocab.model_template, vocab.has_special_token)
    rendered: dict[int, str] = {}

    continuing = request.continue_final and request.messages[-1].get("role") == "assistant"

    def render(messages: list[Message]) -> str:
        text = render_chat(
            template.text,
            messages,
            add_generation_prompt=not continuing,
            bos_token=vocab.bos_token,
            eos_token=vocab.eos_token,
            **request.template_vars,
        )
        if continuing:
            # As transformers' continue_final_message: cut what the template adds after the
            # final message's text (its end-of-turn), so the model carries on from there.
            final = str(messages[-1].get("content", "")).rstrip()
            cut = text.rfind(final) if final else -1
            if cut >= 0:
                text = text[: cut + len(final)]
        return text

    def tokenize(messages: list[Message]) -> list[int]:
        text = render(messages)
        rendered[len(messages)] = text
        return vocab.encode(text)

    fitted = fit_conversation(
        request.messages, tokenize, context_length, request.params.max_tokens, request.params.context_policy
    )
    text = rendered.get(len(fitted.messages)) or render(fitted.messages)
    return Prompt(text, fitted.ids, template, fitted.dropped_turns, fitted.max_tokens)


class ReplyShaper:
    """Generated text in, Delta events out: stop strings hidden, thinking separated."""

    def __init__(self, params: GenerationParams, prompt_text: str) -> None:
        self._stops = StopMatcher(params.stop)
        self._thinking = ReasoningSplitter(prompt_text)

    @property
    def stopped(self) -> bool:
        return self._stops.stopped

    def feed(self, text: str) -> list[Delta]:
        visible = self._stops.feed(text)
        return [Delta(piece, reasoning) for piece, reasoning in self._thinking.feed(visible)] if visible else []

    def finish(self, tail: str = "") -> list[Delta]:
        """The reply ended: release held-back text (unless a stop string ended it)."""
        out = self.feed(tail) if tail else []
        if not self._stops.stopped:
            rest = self._stops.flush()
            out += [Delta(p, r) for p, r in self._thinking.feed(rest)] if rest else []
        out += [Delta(p, r) for p, r in self._thinking.flush()]
        return out
