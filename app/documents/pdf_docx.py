"""PDF (pypdf) and Word .docx (python-docx) as Sections, each read with bounds that hold on hostile files.

A PDF is read one page at a time: a page that fails is skipped and counted, pages stop at a cap and at a
time limit (pypdf is pure Python, so a hostile page can be slow but cannot be interrupted; checking between pages
bounds the rest). A .docx is a zip: its declared unpacked size is checked before python-docx loads every part
into memory, since zipfile never inflates past the size an entry declares. Both libraries are imported here,
lazily, so the window's first paint never pays for them. Bad files are logged at INFO, with the traceback for
the log file: they are the person's files, not faults of ours.
"""

from __future__ import annotations

import logging
import time
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from app.documents.markup import SectionBuilder
from app.documents.passages import DocumentError, Section

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from pypdf import PdfReader

log = logging.getLogger(__name__)


def pdf_sections(
    stream: BinaryIO, name: str, notes: list[str], max_pages: int, max_seconds: float
) -> Iterator[Section]:
    """One Section per page that has text, `page` 1-based; DocumentError when no page has any."""
    reader = _open_pdf(stream, name)
    try:
        count = len(reader.pages)
    except Exception:
        log.info("could not count the pages of %s", name, exc_info=True)
        raise DocumentError(f"{name} is damaged or not a real PDF; Parlour could not read it.", "damaged") from None
    spent = 0.0  # pypdf's time only: the consumer's time between pages does not count
    found = failed = read = 0
    for index in range(min(count, max_pages)):
        if spent > max_seconds:
            notes.append(f"{name} took too long to read; it was indexed up to page {read:,}.")
            break
        read += 1
        started = time.monotonic()
        text = _page_text(reader, index, name)
        spent += time.monotonic() - started
        if text is None:
            failed += 1
        elif text.strip():
            found += 1
            yield Section(text=text, page=index + 1)
    _pdf_notes(name, notes, count=count, read=read, failed=failed, found=found, max_pages=max_pages)


def _open_pdf(stream: BinaryIO, name: str) -> PdfReader:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    damaged = DocumentError(f"{name} is damaged or not a real PDF; Parlour could not read it.", "damaged")
    encrypted = DocumentError(f"{name} is encrypted; Parlour cannot read it without its password.", "encrypted")
    try:
        reader = PdfReader(stream, strict=False)
        if not reader.is_encrypted:
            return reader
        # Many PDFs are encrypted with an empty user password (only editing is restricted): they open as is.
        if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise encrypted
        return reader
    except DocumentError:
        raise
    except DependencyError:
        log.info("%s needs a cipher this installation lacks", name, exc_info=True)
        raise encrypted from None
    except Exception:
        log.info("could not open %s as a PDF", name, exc_info=True)
        raise damaged from None


def _page_text(reader: PdfReader, index: int, name: str) -> str | None:
    """A page's text, or None where pypdf fails on it (one bad page must not lose the document)."""
    try:
        return reader.pages[index].extract_text().replace("\x00", "")
    except Exception:
        log.info("page %d of %s could not be read", index + 1, name, exc_info=True)
        return None


def _pdf_notes(name: str, notes: list[str], *, count: int, read: int, failed: int, found: int, max_pages: int) -> None:
    if found == 0 and failed and failed == read:
        raise DocumentError(f"{name} is damaged; Parlour could not read text from any of its pages.", "damaged")
    if found == 0:
        raise DocumentError(
            f"{name} has no text layer (a scanned document?); Parlour cannot read text from images yet (no OCR).",
            "no_text",
        )
    if failed:
        notes.append(f"{name}: {failed:,} of its {count:,} pages could not be read and were skipped.")
    if count > max_pages:
        notes.append(f"{name} has {count:,} pages; only its first {max_pages:,} were indexed.")


def docx_sections(stream: BinaryIO, name: str, max_unpacked: int) -> Iterator[Section]:
    """A Word document's paragraphs and tables in order, a Section per heading ("Title", "Heading N")."""
    _check_unpacked_size(stream, name, max_unpacked)
    import docx

    damaged = DocumentError(f"{name} is damaged or not a real Word (.docx) file; Parlour could not read it.", "damaged")
    try:
        document = docx.Document(stream)
    except Exception:
        log.info("could not open %s as a Word document", name, exc_info=True)
        raise damaged from None
    builder = SectionBuilder()
    try:
        for block in document.iter_inner_content():
            _add_block(builder, block)
            yield from builder.drain()
    except Exception:
        log.info("could not read all of %s", name, exc_info=True)
        raise damaged from None
    builder.flush()
    yield from builder.drain()


def _add_block(builder: SectionBuilder, block: Paragraph | Table) -> None:
    from docx.text.paragraph import Paragraph

    if isinstance(block, Paragraph):
        style = block.style.name if block.style is not None else None
        if style and (style == "Title" or style.startswith("Heading")):
            builder.start(block.text.strip())
        else:
            builder.add(block.text)
        return
    for row in block.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell comes back once per grid column it spans; say it once.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        builder.add(" | ".join(cells))
    builder.add("")


def _check_unpacked_size(stream: BinaryIO, name: str, limit: int) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, EOFError, ValueError):
        log.info("%s is not a zip archive", name, exc_info=True)
        raise DocumentError(
            f"{name} is damaged or not a real Word (.docx) file; Parlour could not read it.", "damaged"
        ) from None
    finally:
        stream.seek(0)
    if unpacked > limit:
        raise DocumentError(
            f"{name} unpacks to {unpacked / 1024**2:,.0f} MB; "
            f"Parlour reads Word files up to {limit / 1024**2:,.0f} MB.",
            "too_large",
        )
