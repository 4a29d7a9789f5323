"""Find a model's tool calls in its reply as it streams in, for the common families' formats.

Text that cannot be part of a call is passed on at once; only what could still be the start of a marker
is held back (as reasoning.py does with think markers). A call's JSON is collected until it is complete,
then becomes a ToolCall, or a MalformedToolCall carrying its raw text and one sentence why: a malformed
call is shown as text with a notice and never run. Every call is bounded: past MAX_CALL_CHARS it is
malformed and the rest of the reply is plain text. Formats and detection are in tool_call_formats.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from engines.reasoning import _partial_tail
from engines.tool_call_formats import (
    HERMES_CLOSE,
    HERMES_OPEN,
    NOT_JSON_SENTENCE,
    OPENING_MARKERS,
    PYTHON_TAG,
    ToolCall,
    ToolCallFormat,
    call_summary,
    calls_from_json,
    calls_from_value,
    detect_format,
    looks_like_llama_call,
    tool_calls_to_openai,
)

__all__ = [
    "MAX_CALL_CHARS",
    "MalformedToolCall",
    "TextPiece",
    "ToolCall",
    "ToolCallEvent",
    "ToolCallFormat",
    "ToolCallParser",
    "call_summary",
    "detect_format",
    "tool_calls_to_openai",
]

MAX_CALL_CHARS = 256 * 1024  # one call's JSON (after its marker); a longer one is a model stuck in a loop
# A Llama 3 call is a reply that opens with "{"; one that opens with this much blank space is not.
_MAX_LLAMA_LEAD = 1024

UNFINISHED_SENTENCE = "The reply ended before the tool call was complete."
TOO_LONG_SENTENCE = f"The tool call is longer than {MAX_CALL_CHARS // 1024} KB."


@dataclass(frozen=True)
class TextPiece:
    """Reply text that is safe to show now: it is not, and cannot become, part of a call."""

    text: str


@dataclass(frozen=True)
class MalformedToolCall:
    """Something the model meant as a tool call but got wrong: shown as its raw text, never run."""

    raw: str
    reason: str  # one plain sentence


ToolCallEvent = TextPiece | ToolCall | MalformedToolCall


class _State(Enum):
    TEXT = auto()  # looking for the opening marker
    LLAMA_START = auto()  # a Llama 3 reply (or what follows its call) not yet known to be a call or text
    TAGGED_BODY = auto()  # inside <tool_call>...</tool_call>
    JSON_BODY = auto()  # reading a JSON value whose end closes the call
    PASSTHROUGH = auto()  # no more calls can come: everything is text


class _Scan(Enum):
    OPEN = auto()
    CLOSED = auto()
    NOT_JSON = auto()


_OUTSIDE_STRING = re.compile(r'["{}\[\]]')
_INSIDE_STRING = re.compile(r'["\\]')
_NON_SPACE = re.compile(r"\S")
# How a Llama 3 call attempt opens, for one too broken to parse: a JSON answer rarely starts with these keys.
_LLAMA_CALL_OPENING = re.compile(r'\{\s*"(?:name|type|function)"\s*:')


class _JsonExtent:
    """Where a JSON object or array ends, read from pieces as they come, each character once.

    Only brackets and strings are tracked; whether the JSON is valid is json.loads's job at the end.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._in_string = False
        self._skip_next = False  # a backslash ended the last piece: its escaped character comes first

    def scan(self, piece: str) -> tuple[_Scan, int]:
        """OPEN (all of `piece` read), or CLOSED / NOT_JSON with the index in `piece` where that was seen."""
        position = 0
        if self._skip_next and piece:
            self._skip_next, position = False, 1
        while position < len(piece):
            if self._depth == 0:  # before the value: blank space, then "{" or "["
                found = _NON_SPACE.search(piece, position)
                if found is None:
                    break
                if found.group() not in "{[":
                    return _Scan.NOT_JSON, found.start()
                self._depth, position = 1, found.end()
                continue
            found = (_INSIDE_STRING if self._in_string else _OUTSIDE_STRING).search(piece, position)
            if found is None:
                break
            char, position = found.group(), found.end()
            if char == "\\":
                position += 1
                self._skip_next = position > len(piece)
            elif char == '"':
                self._in_string = not self._in_string
            elif char in "{[":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return _Scan.CLOSED, position
        return _Scan.OPEN, len(piece)


def _skip_space(text: str, index: int) -> int:
    found = _NON_SPACE.search(text, index)
    return found.start() if found else len(text)


def _llama_call_start(text: str, after_call: bool) -> int | None:
    """Where a Llama 3 call's JSON starts in `text`: -1 if `text` is not a call, None if it is too early to say.

    A call is "{" after blank space and an optional <|python_tag|>; after a call, a ";" may lead to the next.
    """
    index = _skip_space(text, 0)
    if after_call and text.startswith(";", index):
        index = _skip_space(text, index + 1)
    if text.startswith(PYTHON_TAG, index):
        index = _skip_space(text, index + len(PYTHON_TAG))
    elif index < len(text) and PYTHON_TAG.startswith(text[index:]):
        return None
    if index > _MAX_LLAMA_LEAD:
        return -1
    if index == len(text):
        return None
    return index if text[index] == "{" else -1


class ToolCallParser:
    """Split one streamed reply into text, tool calls and malformed calls; one parser per reply."""

    def __init__(self, fmt: ToolCallFormat) -> None:
        self.format = fmt
        self._opener = OPENING_MARKERS.get(fmt, "")  # "" for Llama 3, whose calls have no marker
        self._state = _State.LLAMA_START if fmt is ToolCallFormat.LLAMA3_JSON else _State.TEXT
        self._pending = ""  # text not yet passed on or moved into the call being read
        self._body: list[str] = []  # the call read so far, in pieces, so a long one is not copied per delta
        self._body_length = 0
        self._lead = ""  # a Llama 3 call's blank space, ";" and <|python_tag|> before its "{"
        self._after_call = False
        self._extent = _JsonExtent()

    def feed(self, text: str) -> Iterator[ToolCallEvent]:
        """Yield the events that `text` (the next delta of the reply) completes."""
        self._pending += text
        progressed = True
        while progressed:
            progressed = yield from self._step()

    def finish(self) -> Iterator[ToolCallEvent]:
        """Yield what is left when the reply has ended: held text, or a call that never closed."""
        body = "".join(self._body) + self._pending
        state, self._state = self._state, _State.PASSTHROUGH
        self._pending, self._body, self._body_length = "", [], 0
        unfinished_call = state is _State.TAGGED_BODY or (state is _State.JSON_BODY and bool(self._opener))
        if unfinished_call or (state is _State.JSON_BODY and self._looks_like_llama_attempt(body)):
            yield MalformedToolCall(self._opener + body, UNFINISHED_SENTENCE)
        elif body:
            yield TextPiece(body)

    def _step(self) -> Generator[ToolCallEvent, None, bool]:
        """Act on the pending text in the current state; True if there may be more to do at once."""
        if self._state is _State.TEXT:
            return (yield from self._find_opening())
        if self._state is _State.LLAMA_START:
            return self._start_llama_call()
        if self._state is _State.TAGGED_BODY:
            return (yield from self._read_tagged_body())
        if self._state is _State.JSON_BODY:
            return (yield from self._read_json_body())
        if self._pending:
            yield TextPiece(self._pending)
            self._pending = ""
        return False

    def _find_opening(self) -> Generator[ToolCallEvent, None, bool]:
        index = self._pending.find(self._opener)
        if index < 0:
            hold = _partial_tail(self._pending, self._opener)
            shown, self._pending = (
                self._pending[: len(self._pending) - hold],
                self._pending[len(self._pending) - hold :],
            )
            if shown:
                yield TextPiece(shown)
            return False
        if index:
            yield TextPiece(self._pending[:index])
        self._pending = self._pending[index + len(self._opener) :]
        self._extent = _JsonExtent()
        self._state = _State.TAGGED_BODY if self._opener == HERMES_OPEN else _State.JSON_BODY
        return True

    def _start_llama_call(self) -> bool:
        start = _llama_call_start(self._pending, self._after_call)
        if start is None:
            return False
        if start < 0:
            self._state = _State.PASSTHROUGH
            return True
        self._lead, self._pending = self._pending[:start], self._pending[start:]
        self._body, self._body_length = [self._lead], len(self._lead)  # the lead is part of the raw text
        self._extent = _JsonExtent()
        self._state = _State.JSON_BODY
        return True

    def _read_tagged_body(self) -> Generator[ToolCallEvent, None, bool]:
        index = self._pending.find(HERMES_CLOSE)
        if index >= 0 and self._body_length + index <= MAX_CALL_CHARS:
            json_text = self._take_body(index)
            self._pending = self._pending[len(HERMES_CLOSE) :]
            yield from self._judge(json_text, self._opener + json_text + HERMES_CLOSE)
            return True
        if self._body_length + len(self._pending) >= MAX_CALL_CHARS + len(HERMES_CLOSE):
            yield from self._give_up(self._take_body(MAX_CALL_CHARS - self._body_length))
            return True
        # The closing tag may start in the last few characters; everything before them is body.
        keep = len(HERMES_CLOSE) - 1
        if len(self._pending) > keep:
            self._move_to_body(len(self._pending) - keep)
        return False

    def _read_json_body(self) -> Generator[ToolCallEvent, None, bool]:
        room = MAX_CALL_CHARS - self._body_length
        scan, index = self._extent.scan(self._pending[:room])
        if scan is _Scan.CLOSED:
            json_text = self._take_body(index)
            yield from self._judge(json_text, self._opener + json_text)
            return True
        if scan is _Scan.NOT_JSON:  # only after a marker: a Llama 3 candidate starts at its "{"
            raw = self._opener + self._take_body(index)
            yield MalformedToolCall(raw, f"The tool-call marker {self._opener} is not followed by JSON.")
            self._state = _State.TEXT
            return True
        if len(self._pending) > room:
            yield from self._give_up(self._take_body(room))
            return True
        self._move_to_body(len(self._pending))
        return False

    def _move_to_body(self, length: int) -> None:
        self._body.append(self._pending[:length])
        self._body_length += length
        self._pending = self._pending[length:]

    def _take_body(self, length: int) -> str:
        """The call read so far plus the next `length` pending characters; the call's buffer is emptied."""
        body = "".join(self._body) + self._pending[:length]
        self._pending = self._pending[length:]
        self._body, self._body_length = [], 0
        return body

    def _judge(self, json_text: str, raw: str) -> Iterator[ToolCallEvent]:
        """Pass on the finished call's ToolCalls, or the malformed call, and go back to looking."""
        if self.format is ToolCallFormat.LLAMA3_JSON:
            yield from self._judge_llama(json_text)
            return
        self._state = _State.TEXT
        result = calls_from_json(json_text, self.format)
        if isinstance(result, str):
            yield MalformedToolCall(raw, result)
        else:
            yield from result

    def _judge_llama(self, body: str) -> Iterator[ToolCallEvent]:
        # A JSON reply that is not shaped like a call is an answer; it is shown, not lost.
        self._state = _State.PASSTHROUGH
        value: Any
        try:
            value = json.loads(body[len(self._lead) :])
        except (ValueError, RecursionError):
            if self._looks_like_llama_attempt(body):
                yield MalformedToolCall(body, NOT_JSON_SENTENCE)
            else:
                yield TextPiece(body)
            return
        if not (PYTHON_TAG in self._lead or looks_like_llama_call(value)):
            yield TextPiece(body)
            return
        result = calls_from_value(value, self.format)
        if isinstance(result, str):
            yield MalformedToolCall(body, result)
            return
        yield from result
        self._state, self._after_call = _State.LLAMA_START, True

    def _give_up(self, body: str) -> Iterator[ToolCallEvent]:
        """The call grew past the bound: it is malformed, and the rest of the reply is plain text."""
        self._state = _State.PASSTHROUGH
        if self._opener or self._looks_like_llama_attempt(body):
            yield MalformedToolCall(self._opener + body, TOO_LONG_SENTENCE)
        else:
            yield TextPiece(body)

    def _looks_like_llama_attempt(self, body: str) -> bool:
        """Whether broken Llama 3 JSON was meant as a call (so it is reported) rather than as an answer."""
        if self.format is not ToolCallFormat.LLAMA3_JSON:
            return False
        return PYTHON_TAG in self._lead or _LLAMA_CALL_OPENING.match(body, len(self._lead)) is not None
