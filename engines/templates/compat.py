"""What Hugging Face templates expect around the sandbox, as transformers provides it.

The helpers (`raise_exception`, `strftime_now`, `tojson` with transformers' argument
order), the plain data a template may see, and the message preparation transformers
does before rendering. Also the error type and the sentences a refusal becomes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections import abc
from datetime import datetime
from typing import Any

from engines.base import TemplateError
from engines.templates.budget import Unsafe

UNSAFE_MESSAGE = "This model's chat template tried an unsafe operation and was not used."
TOO_SLOW_MESSAGE = "This model's chat template took too long to render and was not used."
TOO_BIG_MESSAGE = "This model's chat template produced too much text and was not used."
TOO_COMPLEX_MESSAGE = "The chat template is nested too deeply or is too complex to read."

# transformers copies older names for a message's reasoning to the one templates read.
_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")
_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*\d")
_MAX_QUOTED = 300  # characters of a template's own refusal quoted to the user


class TemplateRaised(Exception):
    """raise_exception() in a template: the template's own refusal, worded by its author."""


def printable(text: str) -> str:
    """`text` without control characters or bidirectional overrides: a template's words reach terminals."""
    return "".join(
        " " if char in "\t\n\r" else "" if unicodedata.category(char) in ("Cc", "Cf", "Cs") else char for char in text
    )


def sentence(text: str) -> str:
    text = " ".join(printable(text).split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def quoted(text: str) -> str:
    """A template's own words, made safe to print and cut to a readable length."""
    text = " ".join(printable(text).split())
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 1] + "…"


def raise_exception(message: Any) -> None:
    raise TemplateRaised(str(message)[:10_000])


def strftime_now(fmt: str) -> str:
    # C strftime honours field widths, so "%999999999Y" would allocate a gigabyte.
    if not isinstance(fmt, str) or len(fmt) > 256 or _STRFTIME_WIDTH.search(fmt):
        raise Unsafe
    return datetime.now().strftime(fmt)


def tojson(
    x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False
) -> str:
    # transformers' signature and defaults exactly: templates call `tojson(indent=4)` and `tojson` bare.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def plain_data(value: Any) -> Any:
    """What the template may see: plain JSON-like data, as transformers' `_plain_template_data` builds it."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, abc.Mapping):
        return {
            key if type(key) is str else plain_data(key): item if type(item) is str else plain_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) is str else plain_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_data(item) for item in value)
    if type(value).__module__ == "numpy" and callable(getattr(value, "item", None)):
        return plain_data(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "model_dump", None)):
        return plain_data(value.model_dump())
    return f"<{type(value).__name__}>"


def prepare_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prepared = []
    for message in messages:
        if not isinstance(message, abc.Mapping):
            raise TemplateError("Each chat message must be a dictionary with a role and content.")
        # transformers drops None values first: many templates handle a missing key but not None.
        message = plain_data({key: value for key, value in message.items() if value is not None})
        reasoning = next((message[key] for key in _REASONING_FIELDS if message.get(key) is not None), None)
        if reasoning is not None:
            message = {"thinking": reasoning, **message, "reasoning_content": reasoning}
        prepared.append(message)
    return prepared
