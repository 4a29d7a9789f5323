"""Structured output: a JSON Schema, a regular expression or a list of choices constrains generation, the
same way on both engines, through one grammar library: llguidance.

Why llguidance: it builds its token tables from both kinds of vocabulary Parlour meets (a Hugging Face
fast tokenizer, which MLX models carry, and a llama.cpp vocabulary, read from the loaded model), so the
same schema allows the same texts on either engine; it computes the mask of allowed tokens lazily per
step in tens of microseconds, with no per-schema precompilation over the vocabulary (xgrammar precompiles
per grammar; outlines-core builds a full index per regex, seconds for a large schema); and it is MIT
licensed, a single wheel with no dependency.

A request's `response_format` is a plain dict (it crosses the process boundary with the other
parameters): {"type": "json_object"}, {"type": "json_schema", "schema": {...}}, {"type": "regex",
"pattern": "..."} or {"type": "choice", "choices": ["...", ...]}. Without one, nothing here runs: the
engines' unconstrained loops are unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from engines.base import InvalidRequestError
from engines.response_format import response_format_problem


def grammar_of(fmt: dict[str, Any]) -> str:
    """The llguidance grammar for a well-formed response format."""
    from llguidance import LLMatcher

    kind = fmt["type"]
    if kind == "json_object":
        return str(LLMatcher.grammar_from_json_schema({"type": "object"}, defaults={"whitespace_flexible": False}))
    if kind == "json_schema":
        # Whitespace as a compact JSON writer puts it: a small model cannot pad the reply with newlines.
        return str(LLMatcher.grammar_from_json_schema(fmt["schema"], defaults={"whitespace_flexible": False}))
    if kind == "regex":
        return str(LLMatcher.grammar_from_regex(fmt["pattern"]))
    if kind == "tool_call":
        return str(LLMatcher.grammar_from_lark(tool_call_lark(fmt)))
    return str(LLMatcher.grammar_from_lark("start: " + " | ".join(json.dumps(c) for c in fmt["choices"])))


def tool_call_lark(fmt: dict[str, Any]) -> str:
    """A grammar for one call of one of the offered tools, written the way the model's format writes it:
    Hermes/Qwen's tags around {"name", "arguments"}, or Llama 3's bare {"name", "parameters"}."""
    llama = fmt["format"] == "llama3_json"
    arguments = "parameters" if llama else "arguments"
    options = []
    for tool in fmt["tools"]:
        function = tool["function"]
        parameters = dict(function.get("parameters") or {"type": "object"})
        # As OpenAI's strict mode does: arguments the schema does not name cannot be invented, so a small
        # model cannot wander through made-up keys until the reply runs out.
        parameters.setdefault("additionalProperties", False)
        options.append(
            {
                "type": "object",
                "properties": {"name": {"const": function["name"]}, arguments: parameters},
                "required": ["name", arguments],
                "additionalProperties": False,
            }
        )
    call = "call: %json " + json.dumps({"anyOf": options, "x-guidance": {"whitespace_flexible": False}})
    if llama:
        return "start: call\n" + call
    return 'start: "<tool_call>\\n" call "\\n</tool_call>"\n' + call


def refusal(fmt: dict[str, Any], message: str) -> str:
    """The sentence for a response format the library cannot compile, naming the part it stopped at."""
    what = {
        "json_object": "JSON",
        "json_schema": "The JSON Schema",
        "regex": "The regular expression",
        "tool_call": "The tools' parameters",
    }.get(fmt["type"], "The list of choices")
    # The library's message is its first line, then an echo of the source with a caret, then the cause.
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    detail = " ".join(lines[:1] + [line for line in lines[1:] if line.startswith("error:")]).rstrip(".")
    return f"{what} cannot be used for structured output: {detail}."


def checked_grammar(fmt: dict[str, Any], tokenizer: Any = None) -> str:
    """The grammar, after checking that the library compiles it; InvalidRequestError with a sentence if not."""
    from llguidance import LLMatcher

    problem = response_format_problem(fmt)
    if problem:
        raise InvalidRequestError(problem[0].upper() + problem[1:] + ".")
    try:
        grammar = grammar_of(fmt)
    except ValueError as err:
        raise InvalidRequestError(refusal(fmt, str(err))) from None
    message = LLMatcher.validate_grammar(grammar, tokenizer)
    if message:
        raise InvalidRequestError(refusal(fmt, message))
    return grammar


class TokenConstraint:
    """One reply's grammar state: which tokens may come next, and each sampled token taken in."""

    def __init__(self, tokenizer: Any, grammar: str, vocab_size: int) -> None:
        from llguidance import LLMatcher

        self._matcher = LLMatcher(tokenizer, grammar, log_level=0)
        if self._matcher.is_error():
            raise InvalidRequestError(f"The response format cannot be used: {self._matcher.get_error()}.")
        self.vocab_size = vocab_size
        words = (tokenizer.vocab_size + 31) // 32
        self._bitmask = np.full(words, -1, dtype=np.int32)

    def allowed(self, size: int | None = None) -> np.ndarray:
        """A boolean per token of the model's vocabulary (or of `size` logits): may it come next."""
        size = size or self.vocab_size
        self._matcher.unsafe_compute_mask_ptr(self._bitmask.ctypes.data, self._bitmask.nbytes)
        bits = np.unpackbits(self._bitmask.view(np.uint8), bitorder="little").astype(bool)
        if bits.size < size:  # the model's logits may be padded past its tokenizer's tokens
            bits = np.concatenate([bits, np.zeros(size - bits.size, dtype=bool)])
        return bits[:size]

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """The logits with every token the grammar forbids next set to minus infinity (in place)."""
        logits[~self.allowed()] = -np.inf
        return logits

    def take(self, token: int) -> None:
        self._matcher.consume_token(token)

    @property
    def finished(self) -> bool:
        """The grammar has nothing left to allow (the reply is complete, or the matcher failed)."""
        return bool(self._matcher.is_stopped() or self._matcher.is_error())

    @property
    def accepting(self) -> bool:
        return bool(self._matcher.is_accepting())
