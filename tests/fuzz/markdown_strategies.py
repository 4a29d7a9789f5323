"""Markdown documents from a small grammar: the constructs a model writes, and the broken ones it
writes while streaming (unclosed fences, half tables, unbalanced markers), in odd scripts."""

from __future__ import annotations

from hypothesis import strategies as st

ODD_CHARACTERS = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\t",
    "\r",
    "\u2028",
    "\u2029",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\ufffd",
    "\u202e",
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\U0001f600",
    "\U0001f469\u200d\U0001f4bb",
    "e\u0301",
    "\u0915\u094d\u0937",
    "\u6f22\u5b57",
    "\ud800",
    "\udfff",
    "&amp;",
    "&#0;",
    "&lt;",
]
MARKERS = [
    "*",
    "**",
    "***",
    "_",
    "__",
    "`",
    "``",
    "~~",
    "[",
    "]",
    "(",
    ")",
    "](",
    "![",
    "<",
    ">",
    "\\",
    "|",
    "#",
    "<b>",
    "</b>",
    "<div>",
    "</div>",
    "<!--",
    "-->",
    "<http://x>",
    "http://example.com",
    "```",
]
LANGUAGES = [
    "",
    "python",
    "py",
    "bash",
    "c++",
    "javascript",
    "json",
    "rust",
    "diff",
    "no-such-language",
    "\U0001f4a5",
    "python {.class}",
    "x" * 200,
    "`",
    "~",
]

words = st.one_of(
    st.sampled_from(["word", "two words", "The", "a.", "1.", "end", " ", "  "]),
    st.sampled_from(ODD_CHARACTERS),
    st.text(max_size=8),
)


@st.composite
def inline(draw: st.DrawFn, max_pieces: int = 12) -> str:
    """A line of text with emphasis, code, links and markers, balanced or not."""
    pieces = []
    for _ in range(draw(st.integers(0, max_pieces))):
        kind = draw(st.sampled_from(["word", "word", "word", "marker", "span", "link"]))
        if kind == "word":
            pieces.append(draw(words))
        elif kind == "marker":
            pieces.append(draw(st.sampled_from(MARKERS)))
        elif kind == "span":
            mark = draw(st.sampled_from(["*", "**", "_", "`", "~~", "``"]))
            pieces.append(f"{mark}{draw(words)}{mark if draw(st.booleans()) else ''}")
        else:
            target = draw(st.sampled_from(["https://example.com", "", "javascript:alert(1)", "a b", "<x>", "(", "\n"]))
            pieces.append(f"[{draw(words)}]({target}{')' if draw(st.booleans()) else ''}")
    return "".join(pieces).replace("\n", " ")


@st.composite
def blocks(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(
        st.sampled_from(
            [
                "paragraph",
                "paragraph",
                "heading",
                "list",
                "code",
                "table",
                "quote",
                "rule",
                "long",
                "html",
                "deep",
                "run",
            ]
        )
    )
    if kind == "paragraph":
        return "\n".join(draw(st.lists(inline(), min_size=1, max_size=3)))
    if kind == "heading":
        return "#" * draw(st.integers(1, 8)) + draw(st.sampled_from([" ", "", "\t"])) + draw(inline(6))
    if kind == "list":
        lines = []
        for _ in range(draw(st.integers(1, 8))):
            indent = " " * draw(st.sampled_from([0, 0, 1, 2, 3, 4, 6, 8, 12]))
            marker = draw(st.sampled_from(["-", "*", "+", "1.", "2)", "10.", "999999999.", "0."]))
            lines.append(f"{indent}{marker}{draw(st.sampled_from([' ', ' ', '', '  ']))}{draw(inline(6))}")
            if depth < 2 and draw(st.integers(0, 5)) == 0:  # a block inside the item, indented under it
                inner = draw(blocks(depth + 1))
                lines.extend(indent + "   " + line for line in inner.split("\n"))
        return "\n".join(lines)
    if kind == "code":
        marker = draw(st.sampled_from(["```", "````", "~~~", "```", "``"]))
        body = draw(st.lists(st.one_of(inline(6), st.sampled_from(["", "    ", "```", "~~~", "\t}"])), max_size=50))
        closing = draw(st.sampled_from([marker, marker, "", "```", "~~~", marker + "`", " " + marker]))
        indent = " " * draw(st.sampled_from([0, 0, 2, 4]))
        lines = [indent + marker + draw(st.sampled_from(LANGUAGES)), *body] + ([closing] if closing else [])
        return "\n".join(lines)
    if kind == "table":
        columns = draw(st.integers(1, 5))
        rows = [
            "|"
            + "|".join(draw(inline(3)) for _ in range(draw(st.integers(0, columns + 2))))
            + draw(st.sampled_from(["|", ""]))
            for _ in range(draw(st.integers(0, 6)))
        ]
        delimiter = (
            "|"
            + "|".join(draw(st.sampled_from(["---", ":--", "--:", ":-:", "-", "", "x"])) for _ in range(columns))
            + "|"
        )
        header = "|" + "|".join(draw(inline(3)) for _ in range(columns)) + "|"
        return "\n".join([header, delimiter, *rows] if draw(st.integers(0, 4)) else [header, *rows])
    if kind == "quote":
        level = draw(st.integers(1, 6))
        return "\n".join(">" * level + " " + line for line in draw(st.lists(inline(6), min_size=1, max_size=3)))
    if kind == "rule":
        return draw(st.sampled_from(["---", "***", "___", "- - -", "-- -", "* * *", "____________", "--"]))
    if kind == "run":  # one marker over and over, as a model stuck in a loop writes it
        return "a " + draw(st.sampled_from(MARKERS)) * draw(st.integers(50, 1500))
    if kind == "long":
        return draw(inline(4)) * draw(st.integers(1, 50)) + "x" * draw(st.sampled_from([100, 5_000, 20_000]))
    if kind == "html":
        return draw(
            st.sampled_from(
                [
                    "<details><summary>More</summary>",
                    "</details>",
                    "<br>",
                    "<img src=x onerror=y>",
                    "<table><tr><td>x</td></tr></table>",
                    "<!-- comment",
                    "<script>alert(1)</script>",
                ]
            )
        )
    # deep nesting of quotes or lists
    level = draw(st.sampled_from([10, 40, 100]))
    if draw(st.booleans()):
        return "> " * level + draw(inline(4))
    return "\n".join("  " * i + "- " + draw(words) for i in range(level))


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = draw(st.lists(blocks(), min_size=1, max_size=8))
    separators = [draw(st.sampled_from(["\n\n", "\n\n", "\n", "\r\n\r\n", "\n\n\n", "\n \n"])) for _ in parts]
    text = "".join(part + sep for part, sep in zip(parts, separators, strict=True))
    return text if draw(st.booleans()) else text.rstrip("\n")


@st.composite
def chunkings(draw: st.DrawFn, length: int) -> list[int]:
    """Where a stream of `length` characters is cut: increasing positions ending at `length`."""
    cuts, position = [], 0
    small = draw(st.booleans())
    while position < length:
        position = min(length, position + draw(st.integers(1, 8 if small else 200)))
        cuts.append(position)
        if len(cuts) >= 120:  # bounded work per example: the rest arrives at once
            cuts.append(length)
            break
    return cuts
