"""A file's text as Sections: plain text and source code, Markdown, PDF, Word (.docx) and HTML.

pypdf (BSD-3-Clause) and python-docx (MIT) read PDF and DOCX; HTML needs only the standard library. markitdown
(MIT) was considered and not chosen: it pulls many converters and their dependencies for what three small
libraries do.

Every read is bounded whatever the file holds. Only regular files are opened (a FIFO would block forever, a
device could be endless). Text is streamed in chunks and at most MAX_TEXT_BYTES of it is read per file; a PDF
is read page by page, at most MAX_PDF_PAGES of them; a PDF or .docx over MAX_CONTAINER_BYTES is refused. A file
that cannot be read raises DocumentError (while iterating) with one plain sentence naming it. What was left out
of a file that could be read is not an error: it goes into `notes`, also as a sentence. An empty text file
simply has no sections; a PDF with no text on any page is an error (kind no_text), since that is a scan.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from app.documents.markup import html_sections, lines_of, markdown_sections, plain_sections
from app.documents.passages import DocumentError, Section
from app.documents.pdf_docx import docx_sections, pdf_sections

MAX_TEXT_BYTES = 64 * 1024**2  # read (and so indexed) per file at most
MAX_CONTAINER_BYTES = 512 * 1024**2  # a PDF or .docx on disk, and a .docx unpacked
MAX_PDF_PAGES = 5000
MAX_PARSE_SECONDS = 300.0  # PDF and HTML parsing time per file, checked between pages (PDF) and chunks (HTML)
SNIFF_BYTES = 8192  # looked at for NUL bytes (binary) and the encoding
_READ_BYTES = 1024**2

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mkdn"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PLAIN_SUFFIXES = frozenset(
    {".txt", ".text", ".rst", ".log", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml"}
    | {".ini", ".cfg", ".conf", ".properties", ".xml", ".tex", ".bib", ".org", ".adoc", ".srt", ".vtt"}
)
# Left out on purpose: .env files (they hold secrets, which must not reach a prompt) and notebooks (.ipynb is
# JSON whose outputs are mostly base64 images).
CODE_SUFFIXES = frozenset(
    {".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp"}
    | {".hh", ".m", ".mm", ".rs", ".go", ".java", ".kt", ".kts", ".scala", ".swift", ".rb", ".php", ".pl"}
    | {".lua", ".r", ".jl", ".cs", ".fs", ".dart", ".zig", ".nim", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj"}
    | {".el", ".lisp", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".sql", ".css", ".scss", ".less"}
    | {".vue", ".svelte", ".proto", ".graphql", ".gradle", ".cmake", ".mk", ".tf", ".nix"}
)
PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | HTML_SUFFIXES | PLAIN_SUFFIXES | CODE_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES
# Text files that by custom have no suffix (lower case).
TEXT_NAMES = frozenset(
    {"readme", "license", "licence", "copying", "notice", "authors", "changelog", "todo", "makefile"}
    | {"dockerfile", "containerfile", "justfile", "gemfile", "rakefile", "procfile", "vagrantfile"}
)
# Known not to be text: refused by name, without opening them.
BINARY_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".ico", ".psd", ".mp3"}
    | {".wav", ".flac", ".ogg", ".m4a", ".aac", ".mp4", ".mov", ".mkv", ".avi", ".webm", ".zip", ".gz"}
    | {".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".iso", ".dmg", ".exe", ".dll", ".so", ".dylib"}
    | {".o", ".a", ".class", ".jar", ".pyc", ".whl", ".bin", ".gguf", ".safetensors", ".pt", ".pth", ".onnx"}
    | {".npy", ".npz", ".db", ".sqlite", ".sqlite3", ".ttf", ".otf", ".woff", ".woff2", ".deb", ".rpm"}
)
# Documents people will try, with what to do instead.
_OTHER_DOCUMENTS = {
    ".doc": "is an older Word file; save it as .docx to use it",
    ".rtf": "is a Rich Text file; save it as .docx or plain text to use it",
    ".odt": "is an OpenDocument file; save it as .docx to use it",
    ".pages": "is a Pages file; export it as .docx or PDF to use it",
    ".epub": "is an e-book; Parlour cannot read e-books yet",
}
_WHAT_WE_READ = "Parlour reads text, Markdown, PDF, Word (.docx), HTML and source code"
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


def is_supported(path: Path | str) -> bool:
    """Whether extract_sections reads files of this name (by suffix; a few suffix-less names like README)."""
    path = Path(path)
    suffix = path.suffix.lower()
    return suffix in SUPPORTED_SUFFIXES or (not suffix and path.name.lower() in TEXT_NAMES)


def extract_sections(path: Path, notes: list[str] | None = None) -> Iterator[Section]:
    """The file's text as Sections, streamed; raises DocumentError while iterating where it cannot be read.

    `notes`, where given, receives a sentence for each thing left out (text past MAX_TEXT_BYTES, pages past
    MAX_PDF_PAGES, pages that failed), e.g. "big.log is 2.0 GB; only its first 64 MB were indexed."
    """
    path = Path(path)
    name = path.name or str(path)
    found_notes: list[str] = notes if notes is not None else []
    try:
        size = _regular_size(path, name)
        kind = _kind_of(path, name)
        if kind in ("pdf", "docx") and size > MAX_CONTAINER_BYTES:
            raise DocumentError(
                f"{name} is {_size_words(size)}; Parlour reads PDF and Word files up to "
                f"{_size_words(MAX_CONTAINER_BYTES)}.",
                "too_large",
            )
        with _open_regular(path, name) as stream:
            yield from _sections_of(stream, kind, name, found_notes)
    except OSError as error:
        raise _os_error(error, name) from None


def _sections_of(stream: BinaryIO, kind: str, name: str, notes: list[str]) -> Iterator[Section]:
    if kind == "pdf":
        pages = pdf_sections(stream, name, notes, MAX_PDF_PAGES, MAX_PARSE_SECONDS)
        yield from _capped(pages, name, notes)
    elif kind == "docx":
        yield from _capped(docx_sections(stream, name, MAX_CONTAINER_BYTES), name, notes)
    else:
        chunks = _decoded_chunks(stream, name, notes, html=kind == "html")
        if kind == "html":
            yield from html_sections(chunks, name, notes, MAX_PARSE_SECONDS)
        elif kind == "markdown":
            yield from markdown_sections(lines_of(chunks))
        else:
            yield from plain_sections(lines_of(chunks))


def _regular_size(path: Path, name: str) -> int:
    """The file's size, after making sure it is a regular file: stat never opens, so a FIFO cannot block."""
    mode = os.stat(path)
    if stat.S_ISDIR(mode.st_mode):
        raise DocumentError(f"{name} is a folder, not a file.", "unsupported")
    if not stat.S_ISREG(mode.st_mode):
        raise DocumentError(
            f"{name} is not a regular file (a pipe, socket or device); Parlour reads only files.", "unsupported"
        )
    return mode.st_size


def _kind_of(path: Path, name: str) -> str:
    suffix = path.suffix.lower()
    if suffix in BINARY_SUFFIXES:
        raise DocumentError(f"{name} is not a text document ({suffix} files are binary); {_WHAT_WE_READ}.", "binary")
    if suffix in _OTHER_DOCUMENTS:
        raise DocumentError(f"{name} {_OTHER_DOCUMENTS[suffix]}.", "unsupported")
    if not is_supported(path):
        what = f"{suffix} files" if suffix else "files without a suffix"
        raise DocumentError(f"{name} is not a kind of file Parlour reads ({what}); {_WHAT_WE_READ}.", "unsupported")
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in DOCX_SUFFIXES:
        return "docx"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    return "html" if suffix in HTML_SUFFIXES else "text"


# Non-blocking, so that a file swapped for a FIFO after the stat still cannot block the open; no-ops for files.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def _open_regular(path: Path, name: str) -> BinaryIO:
    descriptor = os.open(path, _OPEN_FLAGS | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise DocumentError(f"{name} is not a regular file; Parlour reads only files.", "unsupported")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _os_error(error: OSError, name: str) -> DocumentError:
    if isinstance(error, FileNotFoundError):
        return DocumentError(f"{name} is no longer there; it was moved or deleted.", "vanished")
    if isinstance(error, PermissionError):
        return DocumentError(f"{name} cannot be read: permission denied; check who may read it.", "unreadable")
    reason = error.strerror or type(error).__name__
    return DocumentError(f"{name} cannot be read ({reason}).", "unreadable")


def _decoded_chunks(stream: BinaryIO, name: str, notes: list[str], html: bool) -> Iterator[str]:
    """The file as decoded text, chunk by chunk, stopping at MAX_TEXT_BYTES read (with a note)."""
    limit = MAX_TEXT_BYTES
    head = stream.read(min(SNIFF_BYTES, limit))
    encoding = _encoding_of(head, html)
    if encoding is None:
        raise DocumentError(f"{name} looks like a binary file, not text; {_WHAT_WE_READ}.", "binary")
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    read = len(head)
    yield decoder.decode(head)
    while read < limit:
        block = stream.read(min(_READ_BYTES, limit - read))
        if not block:
            break
        read += len(block)
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)
    if read >= limit and stream.read(1):
        size = os.fstat(stream.fileno()).st_size
        notes.append(f"{name} is {_size_words(size)}; only its first {_size_words(limit)} were indexed.")


def _encoding_of(head: bytes, html: bool) -> str | None:
    """How to decode the file, judged from its start; None for binary (a NUL byte without a UTF-16/32 mark)."""
    for mark, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(mark):
            return encoding
    if b"\x00" in head:
        return None
    declared = _declared_charset(head) if html else None
    if declared:
        return declared
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        # Not UTF-8: most likely a Windows code page, where cp1252 is latin-1 plus the quotes and dashes.
        return "cp1252"


def _declared_charset(head: bytes) -> str | None:
    match = _DECLARED_CHARSET.search(head)
    if match is None:
        return None
    try:
        codec = codecs.lookup(match.group(1).decode("ascii"))
    except LookupError:
        return None
    # A page that says UTF-16 but has no NUL bytes is not UTF-16; browsers treat latin-1 and ASCII as cp1252.
    if codec.name.startswith(("utf-16", "utf-32")):
        return None
    return "cp1252" if codec.name in ("latin-1", "iso8859-1", "ascii") else codec.name


def _capped(sections: Iterable[Section], name: str, notes: list[str]) -> Iterator[Section]:
    """Stops a PDF or .docx at MAX_TEXT_BYTES of text (UTF-8), cutting the last section to fit."""
    left = MAX_TEXT_BYTES
    for section in sections:
        size = len(section.text.encode("utf-8", "replace"))
        if size > left:
            text = section.text.encode("utf-8", "replace")[:left].decode("utf-8", "ignore")
            if text.strip():
                yield Section(text=text, page=section.page, heading=section.heading)
            notes.append(
                f"{name} has more text than Parlour indexes from one file; only its first "
                f"{_size_words(MAX_TEXT_BYTES)} were indexed."
            )
            return
        left -= size
        yield section


def _size_words(size: int) -> str:
    """E.g. "2.0 GB", "64 MB", "1.5 MB", "512 bytes"."""
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    for unit, scale in (("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"
