"""The Jinja side of the sandbox: the environment class and the guards compiled into every template.

Imported only when a template is compiled (jinja2 is not needed to start Parlour). Every
loop, output piece and `~` is routed through budget filters by `Guard`; every filter is
wrapped so it ticks the budget (and, being pass_context, is never run at compile time);
operators that build text are intercepted; `str.format` checks widths and counts the whole
result; a namespace may not hold underscore names, as in transformers.
"""

from __future__ import annotations

import types
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.runtime import markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum, pass_context
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from engines.templates.budget import (
    ACTIVE,
    NUMBER,
    PRECHECKED,
    Unsafe,
    as_text,
    check_binop,
    check_number,
    check_str_method,
    precheck_filter,
    text_size,
)
from engines.templates.compat import raise_exception, strftime_now, tojson

_EMIT_OVERHEAD = 8  # each output piece costs a list slot even when it is one character


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
            raise Unsafe


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
                "parlour_emit",
                [],
                [],
                None,
                None,
                lineno=child.lineno,
            )
            for child in node.nodes
        ]
        return node

    def visit_Concat(self, node: Any) -> Any:
        node = self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, "parlour_concat", [], [], None, None, lineno=node.lineno)


@pass_context
def loop_filter(context: Any, iterable: Any) -> Any:
    budget = ACTIVE.get()
    for item in iterable:
        budget.tick()
        yield item


@pass_context
def emit_filter(context: Any, value: Any) -> Any:
    budget = ACTIVE.get()
    if type(value) is not str:
        value = value if isinstance(value, Markup) else as_text(value, budget)
    budget.charge(len(value) + _EMIT_OVERHEAD)
    return value


@pass_context
def concat_filter(context: Any, parts: list) -> str:
    budget = ACTIVE.get()
    texts = [as_text(part, budget) if not isinstance(part, Markup) else part for part in parts]
    budget.charge(sum(map(len, texts)))
    return markup_join(parts) if context.eval_ctx.volatile or context.eval_ctx.autoescape else "".join(texts)


def guard_filter(name: str, func: Any) -> Any:
    # Every filter becomes pass_context: that also stops jinja from running it at compile time.
    pass_arg = _PassArg.from_obj(func)
    precheck = name in PRECHECKED

    @pass_context
    def guarded(context: Any, *args: Any, **kwargs: Any) -> Any:
        budget = ACTIVE.get()
        budget.tick()
        if precheck:
            args = precheck_filter(name, args, kwargs, budget)
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
    """str.format with widths checked before padding, and the whole result's size counted as it
    grows: a format naming one large value two thousand times fails at the first few."""

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.total = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = ACTIVE.get()
        width = 0
        for number in NUMBER.findall(format_spec):
            check_number(number, budget)
            width = max(width, int(number))
        self.total += max(width, text_size(value, budget.text_limit))
        budget.fits(self.total)
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
        raise Unsafe

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = ACTIVE.get()
        if operator == "+" and type(left) is str and type(right) is str:  # most of a real template's work
            budget.charge(len(left) + len(right))
            return left + right
        check_binop(operator, left, right, budget)
        return budget.account(self.binop_table[operator](left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = ACTIVE.get()
        budget.tick()
        if isinstance(__obj, types.BuiltinMethodType) and not isinstance(__obj.__self__, types.ModuleType):
            args = check_str_method(__obj, args, kwargs, budget)
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
                mapping = args[0]
                return ACTIVE.get().account(type(text)(vformat(text, (), mapping)))
            return ACTIVE.get().account(type(text)(vformat(text, args, kwargs)))

        return wrapper


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    budget = ACTIVE.get()
    if isinstance(n, int) and isinstance(max, int):
        budget.fits(n * max * 12)
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def build_environment() -> Environment:
    """The sandbox with its guards, helpers and budget filters, ready to compile templates."""
    env = Environment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, "jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.filters = {name: guard_filter(name, func) for name, func in env.filters.items()}
    env.filters.update(parlour_loop=loop_filter, parlour_emit=emit_filter, parlour_concat=concat_filter)
    env.globals.update(
        raise_exception=raise_exception,
        strftime_now=strftime_now,
        dict=TemplateDict(),
        namespace=TemplateNamespace,
        lipsum=bounded_lipsum,
    )
    return env
