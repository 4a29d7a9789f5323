"""The structure inside a text stream: lines, Markdown headings, HTML's visible text, all as Sections.

Everything here works on a stream (lines or decoded chunks) and holds at most one section of text at a time, so
a big file costs no more memory than its largest section. extract.py decides what a file is and feeds it in.
"""

from __future__ import annotations

import html
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from app.documents.passages import Section

# A section is handed on once it holds this much text and a paragraph ends, and at four times this in any case,
# so one heading with a huge body (or a log file with no headings at all) still streams.
SECTION_CHARS = 100_000
# A "line" with no newline in sight (minified JSON, a base64 blob) is cut into pieces of this many characters.
MAX_LINE_CHARS = 65_536
# A setext heading is the paragraph just above its underline; longer "paragraphs" are body text.
_MAX_SETEXT_LINES = 3
# Headings are cut to this (every passage under one repeats it); in HTML, heading text past it is taken for body
# text that an unclosed <h1> swallowed.
_MAX_HEADING_CHARS = 500


class SectionBuilder:
    """Gathers lines under the current heading; finished Sections wait in `ready` until drained."""

    def __init__(self, heading: str | None = None) -> None:
        self.heading = heading
        self.ready: deque[Section] = deque()
        self._lines: list[str] = []
        self._chars = 0

    def add(self, line: str) -> None:
        blank = not line.strip()
        if (self._chars >= SECTION_CHARS and blank) or self._chars >= 4 * SECTION_CHARS:
            self.flush()
        if blank and not self._lines:
            return  # no leading blank lines in a section
        self._lines.append(line)
        self._chars += len(line) + 1

    def start(self, heading: str | None) -> None:
        """A new heading: what came before it is a finished section. Headings are kept on one line and short,
        since every passage under one carries it."""
        self.flush()
        self.heading = " ".join((heading or "").split())[:_MAX_HEADING_CHARS] or None

    def flush(self) -> None:
        text = "\n".join(self._lines).strip("\n")
        if text.strip():
            self.ready.append(Section(text=text, heading=self.heading))
        self._lines.clear()
        self._chars = 0

    def drain(self) -> Iterator[Section]:
        while self.ready:
            yield self.ready.popleft()


def lines_of(chunks: Iterable[str]) -> Iterator[str]:
    """Decoded chunks as lines without their line ends; NUL characters (padding in logs and sparse files) dropped."""
    pending = ""
    for chunk in chunks:
        pending += chunk.replace("\x00", "")
        *complete, pending = pending.split("\n")
        for line in complete:
            yield from _bounded(line.rstrip("\r"))
        if len(pending) > MAX_LINE_CHARS:  # no line end in sight: hand on whole pieces, keep the rest
            whole = len(pending) - len(pending) % MAX_LINE_CHARS
            yield from _bounded(pending[:whole])
            pending = pending[whole:]
    if pending:
        yield from _bounded(pending.rstrip("\r"))


def _bounded(line: str) -> Iterator[str]:
    if len(line) <= MAX_LINE_CHARS:
        yield line
        return
    for start in range(0, len(line), MAX_LINE_CHARS):
        yield line[start : start + MAX_LINE_CHARS]


def plain_sections(lines: Iterable[str]) -> Iterator[Section]:
    """Text with no structure we read (plain text, logs, data files, source code): sections by size only."""
    builder = SectionBuilder()
    for line in lines:
        builder.add(line)
        yield from builder.drain()
    builder.flush()
    yield from builder.drain()


_ATX = re.compile(r"^ {0,3}#{1,6}(?=[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class _MarkdownReader:
    """CommonMark's two heading forms (`# Title` and a setext underline), with code fences and front matter
    left alone, since a `#` comment in a code block or a `---` closing YAML front matter is not a heading."""

    def __init__(self) -> None:
        self.builder = SectionBuilder()
        self._fence: str | None = None  # the fence that opened the current code block
        self._front_matter = False
        self._front_matter_lines = 0
        self._paragraph: list[str] = []  # held back: an underline below would make them the heading
        self._long_paragraph = False
        self._first = True

    def feed(self, line: str) -> None:
        first, self._first = self._first, False
        if first and line.strip() == "---":
            self._front_matter = True
        elif self._front_matter:
            self._front_matter_lines += 1
            # A closing line ends it; so does a length no front matter has (the first `---` was a rule).
            self._front_matter = line.strip() not in ("---", "...") and self._front_matter_lines < 200
        elif self._fence is not None:
            if line.strip().startswith(self._fence) and not line.strip().strip(self._fence[0]):
                self._fence = None
        elif fence := _FENCE.match(line):
            self._end_paragraph()
            self._fence = fence.group(1)
        elif heading := _ATX.match(line):
            self._end_paragraph()
            self.builder.start(_atx_text(line[heading.end() :]))
            return
        elif self._paragraph and _SETEXT.match(line):
            heading_text = " ".join(part.strip() for part in self._paragraph)
            self._paragraph.clear()
            self.builder.start(heading_text)
            return
        else:
            self._paragraph_line(line)
            return
        self.builder.add(line)

    def _paragraph_line(self, line: str) -> None:
        if not line.strip():
            self._end_paragraph()
            self.builder.add(line)
        elif self._long_paragraph:
            self.builder.add(line)
        else:
            self._paragraph.append(line)
            if len(self._paragraph) > _MAX_SETEXT_LINES:
                self._end_paragraph()
                self._long_paragraph = True

    def _end_paragraph(self) -> None:
        for held in self._paragraph:
            self.builder.add(held)
        self._paragraph.clear()
        self._long_paragraph = False

    def close(self) -> None:
        self._end_paragraph()
        self.builder.flush()


def _atx_text(rest: str) -> str:
    """An ATX heading's text without its optional closing run of `#` (string methods: a regex for this
    backtracks quadratically on a long line of spaces)."""
    text = rest.strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed != text and (not unclosed or unclosed.endswith((" ", "\t"))):
        text = unclosed.rstrip(" \t")
    return text


def markdown_sections(lines: Iterable[str]) -> Iterator[Section]:
    """Markdown as one Section per heading's body, `heading` being the heading's text as written."""
    reader = _MarkdownReader()
    for line in lines:
        reader.feed(line)
        yield from reader.builder.drain()
    reader.close()
    yield from reader.builder.drain()


# What a reader never sees: code, styles, the head (title, metadata) and inert templates.
_HIDDEN = frozenset({"script", "style", "head", "template", "noscript"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Tags that end a line, and tags that end a paragraph (a blank line: a good place to cut passages).
_LINE_TAGS = frozenset({"br", "li", "tr", "dt", "dd", "option", "caption", "figcaption", "summary"})
_PARAGRAPH_TAGS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "blockquote", "pre", "table"}
    | {"ul", "ol", "dl", "figure", "form", "hr", "address", "details", "fieldset", "body"}
)
_SPACES = re.compile(r"\s+")


class _VisibleText(HTMLParser):
    """HTML's visible text as Sections, h1-h6 starting new ones; the standard library's tolerant parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = SectionBuilder()
        self._hidden: dict[str, int] = {}  # open hidden elements by tag
        self._pre = 0
        self._inline: list[str] = []
        self._inline_chars = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden.pop("head", None)  # an unclosed <head> ends where the body starts
        if tag in _HIDDEN:
            self._hidden[tag] = self._hidden.get(tag, 0) + 1
        elif not self._hidden:
            self._block_tag(tag, opening=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            count = self._hidden.get(tag, 0) - 1
            if count > 0:
                self._hidden[tag] = count
            else:
                self._hidden.pop(tag, None)
        elif not self._hidden:
            self._block_tag(tag, opening=False)

    def _block_tag(self, tag: str, opening: bool) -> None:
        if tag in _HEADINGS:
            self._end_heading()
            if opening:
                self._end_line()
                self._heading = []
        elif tag in _LINE_TAGS or tag in _PARAGRAPH_TAGS:
            self._end_line(collapse=not self._pre)
            if tag in _PARAGRAPH_TAGS:
                self.builder.add("")
            if tag == "pre":
                self._pre = max(0, self._pre + (1 if opening else -1))
        elif tag in ("td", "th"):
            self._inline.append(" ")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._heading is not None:
            self._heading.append(data)
            if sum(len(part) for part in self._heading) > _MAX_HEADING_CHARS:
                self._inline.extend(self._heading)  # no heading is this long: an unclosed tag swallowed body text
                self._heading = None
        elif self._pre:
            *lines, last = data.split("\n")
            for line in lines:
                self._inline.append(line)
                self._end_line(collapse=False)
            self._inline.append(last)
        else:
            self._inline.append(data)
        self._inline_chars += len(data)
        if self._inline_chars > MAX_LINE_CHARS:  # text with no block tags for a long way: a line of it now
            self._end_line(collapse=not self._pre)

    def _end_line(self, collapse: bool = True) -> None:
        line = "".join(self._inline)
        self._inline.clear()
        self._inline_chars = 0
        line = _SPACES.sub(" ", line).strip() if collapse else line.rstrip()
        for piece in _bounded(line):
            if piece:
                self.builder.add(piece)

    def _end_heading(self) -> None:
        if self._heading is not None:
            text = _SPACES.sub(" ", "".join(self._heading)).strip()
            self._heading = None
            self.builder.start(text)

    def unstick(self, keep: bool) -> None:
        """Unparsed text that no tag or comment closes: kept as plain text, or dropped (see _STRAY_LT)."""
        if self.cdata_elem is not None:
            self.rawdata = self.rawdata[-64:]  # hidden anyway; enough is kept for the closing tag to match
        elif keep:
            self.rawdata = self.rawdata.replace("<", "&lt;")
            self.feed("")
        elif self.rawdata.startswith("<"):
            self.rawdata = ""  # a construct that never ends
        else:
            # Text it holds back in case an "&" near its end begins a character reference: let it go.
            self.handle_data(html.unescape(self.rawdata))
            self.rawdata = ""

    def finish(self) -> None:
        self.unstick(keep=True)  # as close() would, without its rescan per "<"
        self.close()
        self._end_heading()
        self._end_line()
        self.builder.flush()


# html.parser hands each "<" that starts no tag to handle_data on its own (slow), and when a construct never
# ends it keeps the rest unparsed and, at close(), rescans it once per "<": quadratic. So stray "<" become
# "&lt;" before parsing; unparsed text held past _STUCK_CHARS (an unclosed comment or tag, a huge data: URI)
# is dropped, as a browser would not show it; and what is left unparsed at the end is kept as plain text.
_STRAY_LT = re.compile(r"<(?![A-Za-z/!?])")
_STUCK_CHARS = 1024**2


def html_sections(chunks: Iterable[str], name: str, notes: list[str], max_seconds: float) -> Iterator[Section]:
    """HTML's visible text (no script, style or head), one Section per h1-h6 heading's body; parsing stops
    with a note after `max_seconds` of its own time (the consumer's time between sections does not count)."""
    parser = _VisibleText()
    carry = ""  # a "<" at a chunk's end: whether it opens a tag depends on the next chunk
    spent = 0.0
    for chunk in chunks:
        if not chunk:
            continue
        if spent > max_seconds:
            notes.append(f"{name} took too long to read; only its first part was indexed.")
            break
        text = carry + chunk.replace("\x00", "")
        carry = "<" if text.endswith("<") else ""
        started = time.monotonic()
        parser.feed(_STRAY_LT.sub("&lt;", text[: len(text) - len(carry)]))
        if len(parser.rawdata) > _STUCK_CHARS:
            parser.unstick(keep=False)
        spent += time.monotonic() - started
        yield from parser.builder.drain()
    parser.feed(_STRAY_LT.sub("&lt;", carry))
    parser.finish()
    yield from parser.builder.drain()
