"""One sandboxed, Hugging Face-compatible chat-template renderer for every engine.

Chat templates come from model files, so they are untrusted code: llama-cpp-python's
CVE-2024-34359 was a GGUF template run in a plain jinja2 Environment. Every template
is rendered in an ImmutableSandboxedEnvironment set up the way transformers 5.x sets up
its own (same globals, filters, `{% generation %}` tag and inputs), so the prompt is the
one `apply_chat_template(..., tokenize=False)` would give, byte for byte.

On top of that sandbox, a render is bounded: any access to a private or dunder attribute
raises instead of quietly giving an undefined, and a per-render budget stops templates
that loop for too long or build too much text (checked in loops, calls, filters,
operators and output, so loops that print nothing are caught too).
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import re
import time
import types
from collections import abc
from datetime import datetime
from functools import lru_cache
from typing import Any

from engines.base import EngineError

# Used only when a model carries no template of its own; the caller shows a notice.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

UNSAFE_MESSAGE = "This model's chat template tried an unsafe operation and was not used."
TOO_SLOW_MESSAGE = "This model's chat template took too long to render and was not used."
TOO_BIG_MESSAGE = "This model's chat template produced too much text and was not used."

# Read at each render, so tests can shorten them. Real templates render in milliseconds.
RENDER_SECONDS = 2.0
TEXT_LIMIT = 1_000_000  # characters in any one string, list or the output, plus 4x the input's size
WORK_FACTOR = 32  # all text built during one render, as a multiple of the text limit
MAX_TEMPLATE_CHARS = 256 * 1024  # the largest published templates are about 20 KB
_MAX_ITEMS = 100_000  # counts a filter may pad to (batch, slice), like jinja's range() cap
_MAX_INT_BITS = 100_000
_MAX_JSON_INDENT = 64
_EMIT_OVERHEAD = 8  # each output piece costs a list slot even when it is one character

# The fixed conversation the template editor previews.
PREVIEW_MESSAGES: tuple[dict[str, str], ...] = (
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello! What can you do?"},
    {"role": "assistant", "content": "I can answer questions, explain ideas and help you write."},
    {"role": "user", "content": "Write a haiku about tea."},
)

# transformers copies older names for a message's reasoning to the one templates read.
_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_NUMBER = re.compile(r"\d+")
_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*\d")


class TemplateError(EngineError):
    """The chat template failed: a syntax error, a raise_exception(), an unsafe operation or a budget."""

    code = "template_error"


class _TemplateRaised(Exception):
    """raise_exception() in a template: the template's own refusal, worded by its author."""


class _Unsafe(Exception):
    pass


class _TooSlow(Exception):
    pass


class _TooBig(Exception):
    pass


class _Budget:
    """Time and size allowance for one render; every guard in the environment draws on it."""

    __slots__ = ("deadline", "text_limit", "work_left")

    def __init__(self, input_size: int) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.text_limit = TEXT_LIMIT + 4 * input_size
        self.work_left = WORK_FACTOR * self.text_limit

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _TooSlow

    def fits(self, size: int) -> None:
        if size > self.text_limit:
            raise _TooBig

    def charge(self, size: int) -> None:
        """Count `size` characters of new text against the size limit and the whole render's allowance."""
        if size > self.text_limit:
            raise _TooBig
        self.work_left -= size
        if self.work_left < 0:
            raise _TooBig

    def account(self, value: Any) -> Any:
        """Charge a freshly built value (strings and containers; scalars are free) and pass it on."""
        if isinstance(value, _SIZED):
            self.charge(len(value))
        return value


_SIZED = (str, bytes, list, tuple, dict)


_ACTIVE: contextvars.ContextVar[_Budget] = contextvars.ContextVar("parlour_template_budget")


def _text_size(value: Any, cap: int, indent: int = 0) -> int:
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
        elif isinstance(item, list | tuple | set | frozenset | abc.MappingView):
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


def _as_text(value: Any, budget: _Budget) -> str:
    """str(value), refused before Python builds it when it would be too large."""
    if type(value) is str:
        return value
    budget.fits(_text_size(value, budget.text_limit))
    return str(value)


def _check_number(text: str, budget: _Budget) -> None:
    # Widths and precisions in format specs allocate that many characters.
    if len(text) > 9 or int(text) > budget.text_limit:
        raise _TooBig


def _check_printf(fmt: str, args: Any, budget: _Budget) -> None:
    for spec in _PRINTF_SPEC.finditer(fmt):
        for number in spec.groups():
            if number and number != "*":
                _check_number(number, budget)
    values = args.values() if isinstance(args, abc.Mapping) else args if isinstance(args, tuple) else (args,)
    for value in values:
        if isinstance(value, int) and abs(value) > budget.text_limit:  # a '*' width
            raise _TooBig
        budget.fits(_text_size(value, budget.text_limit))


def _check_binop(op: str, left: Any, right: Any, budget: _Budget) -> None:
    sized = str | bytes | list | tuple
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int):
                budget.fits(len(seq) * max(times, 0))
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise _TooBig
    elif op == "**":
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and right > 0 and abs(left) > 1 and right * left.bit_length() > _MAX_INT_BITS:
            raise _TooBig
    elif op == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            budget.fits(len(left) + len(right))
    elif op == "%" and isinstance(left, str):
        _check_printf(left, right, budget)


def _check_str_method(method: Any, args: tuple, kwargs: dict, budget: _Budget) -> tuple:
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
            budget.fits(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * max(size, 0))
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


def _precheck_filter(name: str, args: tuple, kwargs: dict, budget: _Budget) -> tuple:
    """Refuse filter calls that would build far more text than they were given; may materialize args."""
    if not args:
        return args
    value, rest = args[0], args[1:]

    def arg(index: int, key: str, default: Any) -> Any:
        return rest[index] if len(rest) > index else kwargs.get(key, default)

    if name in ("batch", "slice"):
        count = arg(0, "linecount" if name == "batch" else "slices", 0)
        if isinstance(count, int) and count > _MAX_ITEMS:
            raise _TooBig
    elif name == "sum":
        start = arg(1, "start", 0)
        if not isinstance(start, int | float):  # summing lists is quadratic and never needed
            raise _Unsafe
    elif name == "join":
        items = list(value) if not isinstance(value, list | tuple) else value
        separator = arg(0, "d", "")
        size = sum(_text_size(item, budget.text_limit) for item in items)
        budget.fits(size + len(_as_text(separator, budget)) * max(len(items) - 1, 0))
        return (items, *rest)
    elif name in ("tojson", "pprint"):
        # Indents and separators repeat once per nested line or item.
        indent = arg(1, "indent", None) if name == "tojson" else 1
        separators = arg(2, "separators", None) if name == "tojson" else None
        width = len(indent) if isinstance(indent, str) else indent or 0
        if isinstance(separators, list | tuple):
            width += sum(len(part) for part in separators if isinstance(part, str))
        if not isinstance(width, int) or width > _MAX_JSON_INDENT:
            raise _TooBig
        budget.fits(_text_size(value, budget.text_limit, indent=width))
    elif name == "format":
        _check_printf(_as_text(value, budget), rest if rest else kwargs, budget)
    else:
        text = _as_text(value, budget)
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
            old, new = _as_text(arg(0, "old", ""), budget), _as_text(arg(1, "new", ""), budget)
            count = text.count(old) if old else len(text) + 1
            budget.fits(len(text) + count * (len(new) - len(old)))
        elif name == "wordwrap":
            width, wrap = arg(0, "width", 79), arg(2, "wrapstring", None) or "\n"
            if isinstance(width, int) and width > 0:
                budget.fits(len(text) + (len(text) // width + 1) * len(_as_text(wrap, budget)))
    return args


# Filters that may build text far larger than their input, or stringify a large container.
_PRECHECKED = frozenset(
    {"batch", "slice", "sum", "join", "tojson", "pprint", "format", "center", "indent", "replace", "wordwrap",
     "string", "e", "escape", "forceescape", "safe", "urlize", "title", "capitalize", "upper", "lower", "trim",
     "striptags", "truncate", "wordcount", "urlencode", "xmlattr"}
)  # fmt: skip


def _raise_exception(message: Any) -> None:
    raise _TemplateRaised(str(message))


def _strftime_now(fmt: str) -> str:
    # C strftime honours field widths, so "%999999999Y" would allocate a gigabyte.
    if not isinstance(fmt, str) or len(fmt) > 256 or _STRFTIME_WIDTH.search(fmt):
        raise _Unsafe
    return datetime.now().strftime(fmt)


def _tojson(
    x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False
) -> str:
    # transformers' signature and defaults exactly: templates call `tojson(indent=4)` and `tojson` bare.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _plain_data(value: Any) -> Any:
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
            key if type(key) is str else _plain_data(key): item if type(item) is str else _plain_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) is str else _plain_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain_data(item) for item in value)
    if type(value).__module__ == "numpy" and callable(getattr(value, "item", None)):
        return _plain_data(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "model_dump", None)):
        return _plain_data(value.model_dump())
    return f"<{type(value).__name__}>"


def _prepare_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prepared = []
    for message in messages:
        if not isinstance(message, abc.Mapping):
            raise TemplateError("Each chat message must be a dictionary with a role and content.")
        # transformers drops None values first: many templates handle a missing key but not None.
        message = _plain_data({key: value for key, value in message.items() if value is not None})
        reasoning = next((message[key] for key in _REASONING_FIELDS if message.get(key) is not None), None)
        if reasoning is not None:
            message = {"thinking": reasoning, **message, "reasoning_content": reasoning}
        prepared.append(message)
    return prepared


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


@lru_cache(maxsize=1)
def _environment() -> Any:
    """The sandbox, built once on first use (jinja2 is imported only when a prompt is rendered)."""
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.runtime import markup_join
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
    from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum, pass_context
    from jinja2.visitor import NodeTransformer
    from markupsafe import EscapeFormatter, Markup

    class GenerationTag(Extension):
        # transformers' {% generation %} marks assistant text for training masks; the text itself is unchanged.
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

        def _render_body(self, caller: Any) -> str:
            return caller()

    class TemplateDict:
        # transformers' stand-in for dict(): callable and fromkeys(), with nothing to climb through.
        def __call__(self, *args: Any, **kwargs: Any) -> dict:
            return dict(*args, **kwargs)

        def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
            return dict.fromkeys(*args, **kwargs)

    class TemplateNamespace(Namespace):
        # As in transformers: a namespace may not hold underscore names.
        def __init__(*args: Any, **kwargs: Any) -> None:
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace.check_name(name)
            Namespace.__init__(self, attrs)

        def __setitem__(self, name: str, value: Any) -> None:
            TemplateNamespace.check_name(name)
            Namespace.__setitem__(self, name, value)

        @staticmethod
        def check_name(name: Any) -> None:
            if isinstance(name, str) and name.startswith("_"):
                raise _Unsafe

    class Guard(NodeTransformer):
        """Routes every loop, output piece and `~` through the budget filters below."""

        def visit_For(self, node: Any) -> Any:
            node = self.generic_visit(node)
            node.iter = nodes.Filter(node.iter, "parlour_loop", [], [], None, None, lineno=node.lineno)
            return node

        def visit_Output(self, node: Any) -> Any:
            node = self.generic_visit(node)
            node.nodes = [
                nodes.Filter(
                    nodes.Const(child.data) if isinstance(child, nodes.TemplateData) else child,
                    "parlour_emit", [], [], None, None, lineno=child.lineno,
                )
                for child in node.nodes
            ]  # fmt: skip
            return node

        def visit_Concat(self, node: Any) -> Any:
            node = self.generic_visit(node)
            parts = nodes.List(node.nodes, lineno=node.lineno)
            return nodes.Filter(parts, "parlour_concat", [], [], None, None, lineno=node.lineno)

    @pass_context
    def loop_filter(context: Any, iterable: Any) -> Any:
        budget = _ACTIVE.get()
        for item in iterable:
            budget.tick()
            yield item

    @pass_context
    def emit_filter(context: Any, value: Any) -> Any:
        budget = _ACTIVE.get()
        if type(value) is not str:
            value = value if isinstance(value, Markup) else _as_text(value, budget)
        budget.charge(len(value) + _EMIT_OVERHEAD)
        return value

    @pass_context
    def concat_filter(context: Any, parts: list) -> str:
        budget = _ACTIVE.get()
        texts = [_as_text(part, budget) if not isinstance(part, Markup) else part for part in parts]
        budget.charge(sum(map(len, texts)))
        return markup_join(parts) if context.eval_ctx.volatile or context.eval_ctx.autoescape else "".join(texts)

    def guard_filter(name: str, func: Any) -> Any:
        # Every filter becomes pass_context: that also stops jinja from running it at compile time.
        pass_arg = _PassArg.from_obj(func)
        precheck = name in _PRECHECKED

        @pass_context
        def guarded(context: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _ACTIVE.get()
            budget.tick()
            if precheck:
                args = _precheck_filter(name, args, kwargs, budget)
            if pass_arg is _PassArg.context:
                return budget.account(func(context, *args, **kwargs))
            if pass_arg is _PassArg.eval_context:
                return budget.account(func(context.eval_ctx, *args, **kwargs))
            if pass_arg is _PassArg.environment:
                return budget.account(func(context.environment, *args, **kwargs))
            return budget.account(func(*args, **kwargs))

        guarded.__name__ = getattr(func, "__name__", name)
        return guarded

    class GuardedFormatter(SandboxedFormatter):
        def format_field(self, value: Any, format_spec: str) -> Any:
            budget = _ACTIVE.get()
            for number in _NUMBER.findall(format_spec):
                _check_number(number, budget)
            budget.fits(_text_size(value, budget.text_limit))
            return super().format_field(value, format_spec)

    class GuardedEscapeFormatter(GuardedFormatter, EscapeFormatter):
        pass

    class Environment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"+", "*", "**", "%"})

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            tree = Guard().visit(super()._parse(source, name, filename))
            tree.set_environment(self)  # the guard's new nodes need it too
            return tree

        def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
            # jinja returns an undefined that fails only when printed; `{% if x.__class__ %}` would pass quietly.
            raise _Unsafe

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = _ACTIVE.get()
            if operator == "+" and type(left) is str and type(right) is str:  # most of a real template's work
                budget.charge(len(left) + len(right))
                return left + right
            _check_binop(operator, left, right, budget)
            return budget.account(self.binop_table[operator](left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _ACTIVE.get()
            budget.tick()
            if isinstance(__obj, types.BuiltinMethodType) and not isinstance(__obj.__self__, types.ModuleType):
                args = _check_str_method(__obj, args, kwargs, budget)
            return budget.account(super().call(__context, __obj, *args, **kwargs))

        def wrap_str_format(self, value: Any) -> Any:
            # Same as jinja's, with a formatter that checks widths before padding to them.
            if not isinstance(value, types.MethodType | types.BuiltinMethodType):
                return None
            if value.__name__ not in ("format", "format_map") or not isinstance(value.__self__, str):
                return None
            text, is_map = value.__self__, value.__name__ == "format_map"
            formatter = GuardedEscapeFormatter(self, escape=text.escape) if isinstance(text, Markup) else None
            vformat = (formatter or GuardedFormatter(self)).vformat

            def wrapper(*args: Any, **kwargs: Any) -> str:
                if is_map:
                    if kwargs or len(args) != 1:
                        raise TypeError("format_map() takes exactly one argument")
                    args, kwargs = (), args[0]
                return _ACTIVE.get().account(type(text)(vformat(text, args, kwargs)))

            return wrapper

    def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        budget = _ACTIVE.get()
        if isinstance(n, int) and isinstance(max, int):
            budget.fits(n * max * 12)
        return generate_lorem_ipsum(n=n, html=html, min=min, max=max)

    env = Environment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, "jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.filters = {name: guard_filter(name, func) for name, func in env.filters.items()}
    env.filters.update(parlour_loop=loop_filter, parlour_emit=emit_filter, parlour_concat=concat_filter)
    env.globals.update(
        raise_exception=_raise_exception,
        strftime_now=_strftime_now,
        dict=TemplateDict(),
        namespace=TemplateNamespace,
        lipsum=bounded_lipsum,
    )
    return env


@lru_cache(maxsize=32)
def _compile(source: str) -> Any:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError("This model's chat template is larger than 256 KB and was not used.")
    env = _environment()
    from jinja2 import TemplateSyntaxError

    try:
        return env.from_string(source)
    except TemplateSyntaxError as err:
        message = f"The chat template has a syntax error on line {err.lineno}: {err.message}"
        raise TemplateError(_sentence(message)) from None
    except RecursionError:
        raise TemplateError("The chat template is nested too deeply to read.") from None


def check_template(source: str) -> None:
    """Raise TemplateError with one plain sentence if `source` is not a usable chat template."""
    _compile(source)


def render_chat(
    template: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    tools: list[dict[str, Any]] | None = None,
    documents: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """Render `messages` as transformers' apply_chat_template(tokenize=False) would, or raise TemplateError.

    An empty bos/eos token is left undefined, as it is for a tokenizer without one;
    `extra` holds template variables such as `enable_thinking` or `date_string`.
    """
    compiled = _compile(template)
    from jinja2.exceptions import SecurityError

    if tools is not None and not all(isinstance(tool, abc.Mapping) for tool in tools):
        raise TemplateError("Each tool must be a JSON schema given as a dictionary.")
    if documents is not None and not all(isinstance(doc, abc.Mapping) for doc in documents):
        raise TemplateError("Each document must be a dictionary with a title and text.")
    variables = _plain_data({"tools": tools, "documents": documents, **extra})
    variables.update(
        {name: token for name, token in (("bos_token", bos_token), ("eos_token", eos_token)) if token},
        messages=_prepare_messages(messages),
        add_generation_prompt=add_generation_prompt,
    )
    # The allowance grows with the input: a long conversation legitimately renders long.
    budget = _Budget(len(repr(variables)))
    token = _ACTIVE.set(budget)
    try:
        pieces, size = [], 0
        for piece in compiled.generate(**variables):
            size += len(piece)
            budget.fits(size)
            pieces.append(piece)
        return "".join(pieces)
    except _TemplateRaised as err:
        raise TemplateError(_sentence(f"This model's chat template refused the conversation: {err}")) from None
    except (_Unsafe, SecurityError):
        raise TemplateError(UNSAFE_MESSAGE) from None
    except _TooSlow:
        raise TemplateError(TOO_SLOW_MESSAGE) from None
    except (_TooBig, MemoryError, OverflowError):
        raise TemplateError(TOO_BIG_MESSAGE) from None
    except Exception as err:  # a template is arbitrary code; any failure is the template's
        raise TemplateError(_sentence(f"The chat template failed: {str(err) or type(err).__name__}")) from None
    finally:
        _ACTIVE.reset(token)


def preview_template(source: str, *, bos_token: str = "", eos_token: str = "") -> str:
    """The prompt `source` builds for a fixed system/user/assistant/user conversation, for the template editor."""
    return render_chat(source, [dict(m) for m in PREVIEW_MESSAGES], bos_token=bos_token, eos_token=eos_token)


def render_for_model(
    model_template: str | None,
    messages: list[dict[str, Any]],
    *,
    bos_token: str | None,
    eos_token: str | None,
    tools: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """The prompt for a model: its own template, else ChatML (a later layer shows a notice)."""
    return render_chat(
        model_template or CHATML_TEMPLATE,
        messages,
        add_generation_prompt=True,
        bos_token=bos_token or "",
        eos_token=eos_token or "",
        tools=tools,
        **extra,
    )
