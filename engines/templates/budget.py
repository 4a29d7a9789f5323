"""The per-render budget: time and size allowances, and the checks that refuse work before Python does it.

A template is arbitrary code from a model file. Inside the sandbox every loop, call,
filter, operator and output piece draws on one `Budget`; work that would build far
more text than it was given is refused before it is built. This bound is cooperative
(it runs only when the template reaches one of those points); the hard bound is the
render process of `isolation.py`, killed at its deadline and capped in memory.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections import abc
from typing import Any

# Read at each render, so tests can shorten them. Real templates render in milliseconds.
RENDER_SECONDS = 2.0
TEXT_LIMIT = 1_000_000  # characters in any one string, list or the output, plus 4x the input's size
WORK_FACTOR = 32  # all text built during one render, as a multiple of the text limit
_MAX_ITEMS = 100_000  # counts a filter may pad to (batch, slice), like jinja's range() cap
_MAX_INT_BITS = 100_000
_MAX_JSON_INDENT = 64

_PRINTF_SPEC = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
NUMBER = re.compile(r"\d+")


class Unsafe(Exception):
    """The template reached for something the sandbox forbids."""


class TooSlow(Exception):
    pass


class TooBig(Exception):
    pass


class Budget:
    """Time and size allowance for one render; every guard in the environment draws on it."""

    __slots__ = ("deadline", "text_limit", "work_left")

    def __init__(self, input_size: int) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.text_limit = TEXT_LIMIT + 4 * input_size
        self.work_left = WORK_FACTOR * self.text_limit

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooSlow

    def fits(self, size: int) -> None:
        if size > self.text_limit:
            raise TooBig

    def charge(self, size: int) -> None:
        """Count `size` characters of new text against the size limit and the whole render's allowance."""
        if size > self.text_limit:
            raise TooBig
        self.work_left -= size
        if self.work_left < 0:
            raise TooBig

    def account(self, value: Any) -> Any:
        """Charge a freshly built value (strings and containers; scalars are free) and pass it on."""
        if isinstance(value, SIZED):
            self.charge(len(value))
        return value


SIZED = (str, bytes, list, tuple, dict)


ACTIVE: contextvars.ContextVar[Budget] = contextvars.ContextVar("parlour_template_budget")


def text_size(value: Any, cap: int, indent: int = 0) -> int:
    """Roughly len(str(value)) (or of its JSON with `indent`), counting no further than just past `cap`.

    Containers can hold one large string many times over, so their text is estimated
    before Python builds it; the walk stops as soon as the estimate passes the cap.
    """
    if isinstance(value, str):
        return len(value)
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= cap:
        item, depth = stack.pop()
        total += indent * depth + (1 if indent else 0)
        if isinstance(item, str | bytes):
            total += len(item) + 3
        elif isinstance(item, abc.Mapping):
            total += 2 + 4 * len(item)
            if total <= cap:
                stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list | tuple | set | frozenset | abc.KeysView | abc.ValuesView | abc.ItemsView):
            total += 2 + 2 * len(item)
            if total <= cap:
                stack.extend((part, depth + 1) for part in item)
        elif (attrs := _namespace_attrs(item)) is not None:
            total += 16
            stack.append((attrs, depth + 1))
        else:
            total += 24
    return total


def _namespace_attrs(item: Any) -> dict | None:
    # A namespace() prints all it holds; jinja's Undefined raises on any attribute lookup, so test the type.
    from jinja2.utils import Namespace

    return object.__getattribute__(item, "_Namespace__attrs") if isinstance(item, Namespace) else None


def as_text(value: Any, budget: Budget) -> str:
    """str(value), refused before Python builds it when it would be too large."""
    if type(value) is str:
        return value
    budget.fits(text_size(value, budget.text_limit))
    return str(value)


def check_number(text: str, budget: Budget) -> None:
    # Widths and precisions in format specs allocate that many characters.
    if len(text) > 9 or int(text) > budget.text_limit:
        raise TooBig


def check_printf(fmt: str, args: Any, budget: Budget) -> None:
    """Refuse `fmt % args` when its result could pass the size limit, before Python builds it.

    Each conversion is charged the larger of its width and its value's text, so a format that
    names one large value two thousand times is charged two thousand times.
    """
    mapping = args if isinstance(args, abc.Mapping) else None
    values = list(args) if isinstance(args, tuple) else [] if mapping is not None else [args]
    position, total = 0, len(fmt)
    for spec in _PRINTF_SPEC.finditer(fmt):
        key, width, precision, conversion = spec.groups()
        if conversion == "%":
            continue
        size = 0
        for number in (width, precision):
            if number == "*":
                star = values[position] if position < len(values) else 0
                position += 1
                if not isinstance(star, int) or abs(star) > budget.text_limit:
                    raise TooBig
                size = max(size, abs(star))
            elif number:
                check_number(number, budget)
                size = max(size, int(number))
        if key is not None and mapping is not None:
            value = mapping.get(key, "")
        else:
            value = values[position] if position < len(values) else ""
            position += 1
        text = text_size(value, budget.text_limit)
        if conversion in ("r", "a"):
            text *= 10  # repr escapes a character as at most ten ("\\U0001f600")
        total += max(size, text)
        budget.fits(total)
    budget.fits(total)


def check_binop(op: str, left: Any, right: Any, budget: Budget) -> None:
    sized = str | bytes | list | tuple
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int):
                budget.fits(len(seq) * max(times, 0))
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise TooBig
    elif op == "**":
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and right > 0 and abs(left) > 1 and right * left.bit_length() > _MAX_INT_BITS:
            raise TooBig
    elif op == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            budget.fits(len(left) + len(right))
    elif op == "%" and isinstance(left, str):
        check_printf(left, right, budget)


def check_str_method(method: Any, args: tuple, kwargs: dict, budget: Budget) -> tuple:
    """Refuse str/bytes/int methods whose result would be far larger than their inputs."""
    owner, name = method.__self__, method.__name__
    if isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int):
            budget.fits(length)
        return args
    if not isinstance(owner, str | bytes):
        return args
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int):
            budget.fits(width)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            budget.fits(len(owner) + tabs * max(size, 0))
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, type(owner)) for a in args[:2]):
        old, new = args[0], args[1]
        count = owner.count(old) if old else len(owner) + 1
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        budget.fits(len(owner) + count * (len(new) - len(old)))
    elif name == "join" and args:
        items = list(args[0]) if not isinstance(args[0], list | tuple) else args[0]
        sizes = sum(len(item) if isinstance(item, str | bytes) else 0 for item in items)
        budget.fits(sizes + len(owner) * max(len(items) - 1, 0))
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], abc.Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        budget.fits(len(owner) * max(longest, 1))
    return args


def precheck_filter(name: str, args: tuple, kwargs: dict, budget: Budget) -> tuple:
    """Refuse filter calls that would build far more text than they were given; may materialize args."""
    if not args:
        return args
    value, rest = args[0], args[1:]

    def arg(index: int, key: str, default: Any) -> Any:
        return rest[index] if len(rest) > index else kwargs.get(key, default)

    if name in ("batch", "slice"):
        count = arg(0, "linecount" if name == "batch" else "slices", 0)
        if isinstance(count, int) and count > _MAX_ITEMS:
            raise TooBig
    elif name == "sum":
        start = arg(1, "start", 0)
        if not isinstance(start, int | float):  # summing lists is quadratic and never needed
            raise Unsafe
    elif name == "join":
        items = list(value) if not isinstance(value, list | tuple) else value
        separator = arg(0, "d", "")
        size = sum(text_size(item, budget.text_limit) for item in items)
        budget.fits(size + len(as_text(separator, budget)) * max(len(items) - 1, 0))
        return (items, *rest)
    elif name in ("tojson", "pprint"):
        # Indents and separators repeat once per nested line or item.
        indent = arg(1, "indent", None) if name == "tojson" else 1
        separators = arg(2, "separators", None) if name == "tojson" else None
        width = len(indent) if isinstance(indent, str) else indent or 0
        if isinstance(separators, list | tuple):
            width += sum(len(part) for part in separators if isinstance(part, str))
        if not isinstance(width, int) or width > _MAX_JSON_INDENT:
            raise TooBig
        budget.fits(text_size(value, budget.text_limit, indent=width))
    elif name == "format":
        check_printf(as_text(value, budget), rest if rest else kwargs, budget)
    else:
        text = as_text(value, budget)
        if name == "center":
            width = arg(0, "width", 80)
            if isinstance(width, int):
                budget.fits(width)
        elif name == "indent":
            width = arg(0, "width", 4)
            width = len(width) if isinstance(width, str) else width
            if isinstance(width, int):
                budget.fits(len(text) + (text.count("\n") + 1) * width)
        elif name == "replace":
            old, new = as_text(arg(0, "old", ""), budget), as_text(arg(1, "new", ""), budget)
            count = text.count(old) if old else len(text) + 1
            budget.fits(len(text) + count * (len(new) - len(old)))
        elif name == "wordwrap":
            width, wrap = arg(0, "width", 79), arg(2, "wrapstring", None) or "\n"
            if isinstance(width, int) and width > 0:
                budget.fits(len(text) + (len(text) // width + 1) * len(as_text(wrap, budget)))
    return args


# Filters that may build text far larger than their input, or stringify a large container.
PRECHECKED = frozenset(
    {
        "batch",
        "slice",
        "sum",
        "join",
        "tojson",
        "pprint",
        "format",
        "center",
        "indent",
        "replace",
        "wordwrap",
        "string",
        "e",
        "escape",
        "forceescape",
        "safe",
        "urlize",
        "title",
        "capitalize",
        "upper",
        "lower",
        "trim",
        "striptags",
        "truncate",
        "wordcount",
        "urlencode",
        "xmlattr",
    }
)
