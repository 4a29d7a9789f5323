"""Hostile JSON values: wrong types, huge and odd numbers, odd text, nesting, for every JSON reader."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ufeff",
    "\u202eevil",
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\U0001f600\u200d\U0001f525",
    "e\u0301",
    "\n",
    "line\nbreak",
    "\r\n",
    "\t",
    "{{ x }}",
    "<script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    "0x10",
]
ODD_NUMBERS = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    2**70,
    -(2**63),
    -(2**64),
    10**30,
    0.5,
    -0.0,
    1e308,
    -1e308,
    5e-324,
    float("inf"),
    float("-inf"),
    float("nan"),
]

odd_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None, categories=["Cc", "Cs", "Zl", "Zp", "Mn", "So"]), max_size=12),
)
numbers = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (NaN and Infinity included, as Python's json writes them), a few levels deep."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)),
        max_leaves=max_leaves,
    )


class Blob(bytes):
    """File contents that print briefly when a failing example is reported."""

    def __repr__(self) -> str:
        if len(self) <= 120:
            return f"Blob({bytes(self)!r})"
        return f"Blob({bytes(self[:80])!r} ... {bytes(self[-20:])!r}, {len(self)} bytes)"


def nested_text(depth: int, kind: str = "list") -> str:
    """JSON text nested `depth` levels deep, built as text (json.dumps would exhaust the stack)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def dumps(value: Any) -> str:
    """JSON text as Python writes it by default: NaN and Infinity as bare words, lone surrogates escaped."""
    return json.dumps(value)
