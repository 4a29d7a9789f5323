"""A grammar of chat templates for fuzzing: Jinja statements, filters, tests, operators and literals, nested.

Generated templates are syntactically plausible far more often than random text, so they
reach the renderer's sandbox and budget instead of stopping at the parser; some parts
reach for what the sandbox forbids (dunder attributes, globals, file access).
"""

from __future__ import annotations

from hypothesis import strategies as st

# A path no render may ever create: the property checks it is still absent afterwards.
SENTINEL = "/tmp/parlour-fuzz-template-sentinel"

NAMES = [
    "messages",
    "message",
    "m",
    "loop",
    "ns",
    "ns.x",
    "bos_token",
    "eos_token",
    "add_generation_prompt",
    "tools",
    "x",
    "item",
    "raise_exception",
    "strftime_now",
    "namespace",
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "self",
    "undefined_name",
]
FILTERS = [
    "length",
    "upper",
    "lower",
    "trim",
    "first",
    "last",
    "list",
    "reverse",
    "sort",
    "unique",
    "string",
    "int",
    "float",
    "abs",
    "round",
    "safe",
    "escape",
    "count",
    "sum",
    "min",
    "max",
    "dictsort",
    "items",
    "capitalize",
    "title",
    "wordcount",
    "tojson",
    "tojson(indent=2)",
    "join",
    "join(', ')",
    "replace('a', 'bb')",
    "center(20)",
    "indent(2)",
    "wordwrap(5)",
    "default('d')",
    "batch(2)",
    "slice(2)",
    "map(attribute='role')",
    "selectattr('role')",
    "rejectattr('content')",
    "map('upper')",
    "format(1, 2)",
    "attr('__class__')",
    "truncate(5)",
    "striptags",
    "urlize",
    "pprint",
    "xmlattr",
    "random",
    "filesizeformat",
    "groupby('role')",
]
TESTS = [
    "defined",
    "undefined",
    "none",
    "string",
    "number",
    "sequence",
    "mapping",
    "iterable",
    "even",
    "odd",
    "divisibleby(3)",
    "in([1, 2])",
    "sameas(none)",
    "true",
    "false",
    "callable",
]
ATTRIBUTES = ["role", "content", "upper()", "split()", "items()", "x", "get('a')", "__class__", "_private"]
BINARY = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or"]
HOSTILE = [
    "''.__class__",
    "messages.__class__.__mro__",
    "cycler.__init__.__globals__",
    "self._TemplateReference__context",
    f"lipsum.__globals__['os'].open('{SENTINEL}', 65)",
    f"raise_exception.__globals__['__builtins__']['open']('{SENTINEL}', 'w')",
    "'{0.__class__}'.format(messages)",
    "messages.pop()",
    "namespace(_x=1)",
    "strftime_now('%Y-%m-%d')",
    "range(100000) | list | length",
    "'x' * 1000000",
    "2 ** 200000",
    "[messages] * 1000",
]


def literals() -> st.SearchStrategy[str]:
    characters = st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="'\\{}%#")
    text = st.text(alphabet=characters, max_size=12)
    return st.one_of(
        text.map(lambda s: f"'{s}'"),
        st.integers(min_value=-(10**6), max_value=10**6).map(str),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
        st.sampled_from(["none", "true", "false", "[]", "{}", "()", "[1, 2, 3]", "{'a': 1}", "('a',)"]),
    )


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(literals(), st.sampled_from(NAMES), st.sampled_from(HOSTILE))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]} | {t[1]})"),
            st.tuples(inner, st.sampled_from(TESTS)).map(lambda t: f"({t[0]} is {t[1]})"),
            st.tuples(inner, st.sampled_from(ATTRIBUTES)).map(lambda t: f"{t[0]}.{t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, st.integers(-3, 3), st.integers(-3, 3)).map(lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
            st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
            st.tuples(inner, inner).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            inner.map(lambda e: f"(not {e})"),
            inner.map(lambda e: f"range({e})"),
            inner.map(lambda e: f"raise_exception({e})"),
            inner.map(lambda e: f"namespace(x={e})"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def templates() -> st.SearchStrategy[str]:
    expression = expressions()
    leaf_statements = st.one_of(
        expression.map(lambda e: "{{ " + e + " }}"),
        expression.map(lambda e: "{{- " + e + " -}}"),
        st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=0x2FF, blacklist_characters="{}%#"), max_size=20),
        expression.map(lambda e: "{% set x = " + e + " %}"),
        expression.map(lambda e: "{% set ns = namespace(x=" + e + ") %}"),
        expression.map(lambda e: "{% set ns.x = " + e + " %}"),
        st.just("{# a comment #}"),
        st.just("{% raw %}{{ not rendered }}{% endraw %}"),
        st.just("{% break %}"),
        st.just("{% continue %}"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        body = st.lists(inner, min_size=1, max_size=3).map("".join)
        return st.one_of(
            st.tuples(expression, body).map(lambda t: "{% if " + t[0] + " %}" + t[1] + "{% endif %}"),
            st.tuples(expression, body, body).map(
                lambda t: "{% if " + t[0] + " %}" + t[1] + "{% else %}" + t[2] + "{% endif %}"
            ),
            st.tuples(expression, body).map(lambda t: "{% for item in " + t[0] + " %}" + t[1] + "{% endfor %}"),
            body.map(lambda b: "{% for message in messages %}" + b + "{{ loop.index }}{% endfor %}"),
            body.map(lambda b: "{% macro f(a, b=1) %}" + b + "{% endmacro %}{{ f(1) }}"),
            body.map(lambda b: "{% generation %}" + b + "{% endgeneration %}"),
            body.map(lambda b: "{% filter upper %}" + b + "{% endfilter %}"),
            body,
        )

    return st.recursive(leaf_statements, extend, max_leaves=10)


def conversations() -> st.SearchStrategy[list[dict[str, str]]]:
    role = st.sampled_from(["system", "user", "assistant", "tool", "weird"])
    content = st.text(max_size=40)
    return st.lists(st.fixed_dictionaries({"role": role, "content": content}), max_size=4)
