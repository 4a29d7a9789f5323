"""extract_sections on real files made here: PDFs written with reportlab, DOCX with python-docx, and the bad
inputs people have on disk (encrypted, damaged, scanned, binary, FIFOs, unreadable, vanished, huge)."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pypdf
import pytest

from app.documents import extract
from app.documents.extract import extract_sections, is_supported
from app.documents.markup import MAX_LINE_CHARS, SECTION_CHARS
from app.documents.passages import DocumentError, Section


def _sections(path: Path, notes: list[str] | None = None) -> list[Section]:
    return list(extract_sections(path, notes))


def _error(path: Path) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        _sections(path)
    message = str(caught.value)
    assert path.name in message and "\n" not in message and "Traceback" not in message
    return caught.value


def _write_pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    for text in pages:
        y = 800
        for line in text.split("\n"):
            pdf.drawString(72, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return path


def _encrypt(source: Path, target: Path, user: str, owner: str | None = None) -> Path:
    writer = pypdf.PdfWriter(clone_from=source)
    writer.encrypt(user, owner_password=owner)
    writer.write(target)
    return target


# --- PDF ---------------------------------------------------------------------------------------------------


def test_a_pdf_gives_a_section_per_page_with_its_number(tmp_path: Path) -> None:
    pdf = _write_pdf(
        tmp_path / "fruit.pdf", ["Apples grow on trees.\nThey are red.", "Bananas are yellow.", "", "Cherry"]
    )
    sections = _sections(pdf)
    assert [s.page for s in sections] == [1, 2, 4]  # the blank third page gives nothing, numbers stay true
    assert "Apples grow on trees." in sections[0].text and "They are red." in sections[0].text
    assert "Bananas" in sections[1].text and "Cherry" in sections[2].text
    assert all(s.heading is None for s in sections)


def test_pages_past_the_cap_are_left_out_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_PDF_PAGES", 3)
    pdf = _write_pdf(tmp_path / "long.pdf", [f"Page number {n} here." for n in range(1, 6)])
    notes: list[str] = []
    assert [s.page for s in _sections(pdf, notes)] == [1, 2, 3]
    assert notes == ["long.pdf has 5 pages; only its first 3 were indexed."]


def test_pdf_text_past_the_cap_is_left_out_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_TEXT_BYTES", 30)
    pdf = _write_pdf(tmp_path / "wordy.pdf", ["The first page has these words on it.", "A second page."])
    notes: list[str] = []
    sections = _sections(pdf, notes)
    assert [s.page for s in sections] == [1]
    assert len(sections[0].text.encode()) <= 30 and sections[0].text.startswith("The first page")
    assert notes == [
        "wordy.pdf has more text than Parlour indexes from one file; only its first 30 bytes were indexed."
    ]


def test_an_encrypted_pdf_says_it_needs_its_password(tmp_path: Path) -> None:
    plain = _write_pdf(tmp_path / "plain.pdf", ["Secret plans."])
    error = _error(_encrypt(plain, tmp_path / "locked.pdf", user="hunter2"))
    assert error.kind == "encrypted"
    assert str(error) == "locked.pdf is encrypted; Parlour cannot read it without its password."


def test_a_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    plain = _write_pdf(tmp_path / "plain.pdf", ["Printable but not editable."])
    sections = _sections(_encrypt(plain, tmp_path / "restricted.pdf", user="", owner="owner-secret"))
    assert "Printable but not editable." in sections[0].text


def test_a_damaged_pdf_is_named_as_damaged(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    assert _error(garbage).kind == "damaged"
    whole = _write_pdf(tmp_path / "whole.pdf", ["Some text.", "More text."]).read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(whole[: len(whole) // 2])
    assert _error(truncated).kind == "damaged"
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert _error(empty).kind == "damaged"


def test_a_scanned_pdf_has_no_text_layer(tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    for _ in range(2):
        pdf.drawImage(ImageReader(Image.new("L", (300, 200), 128)), 72, 500)
        pdf.showPage()
    pdf.save()
    error = _error(path)
    assert error.kind == "no_text"
    assert str(error) == (
        "scan.pdf has no text layer (a scanned document?); Parlour cannot read text from images yet (no OCR)."
    )


def test_a_pdf_or_docx_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = _write_pdf(tmp_path / "big.pdf", ["Text."])
    monkeypatch.setattr(extract, "MAX_CONTAINER_BYTES", 1024)
    error = _error(pdf)
    assert error.kind == "too_large" and "up to 1 KB" in str(error)


# --- DOCX --------------------------------------------------------------------------------------------------


def test_a_docx_keeps_its_headings_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Annual Report", level=0)  # the "Title" style
    document.add_paragraph("An opening paragraph.")
    document.add_heading("Budget", level=1)
    document.add_paragraph("We spent less than planned.")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "Item"
    table.cell(0, 1).text = "Cost"
    table.cell(1, 0).text = "Paper"
    table.cell(1, 1).text = "12"
    merged = table.cell(0, 2).merge(table.cell(1, 2))
    merged.text = "Notes"
    document.add_heading("Staff", level=2)
    document.add_paragraph("Two people joined.")
    path = tmp_path / "report.docx"
    document.save(str(path))

    sections = _sections(path)
    assert [(s.heading, s.page) for s in sections] == [("Annual Report", None), ("Budget", None), ("Staff", None)]
    assert sections[0].text == "An opening paragraph."
    assert "We spent less than planned." in sections[1].text
    assert "Item | Cost | Notes" in sections[1].text and "Paper | 12 | Notes" in sections[1].text
    assert sections[2].text == "Two people joined."


def test_a_damaged_docx_is_named_as_damaged(tmp_path: Path) -> None:
    not_a_zip = tmp_path / "letter.docx"
    not_a_zip.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    assert _error(not_a_zip).kind == "damaged"
    empty_zip = tmp_path / "hollow.docx"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("hello.txt", "no document part here")
    assert _error(empty_zip).kind == "damaged"


def test_a_docx_that_unpacks_too_large_is_refused_unopened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import docx

    path = tmp_path / "bomb.docx"
    docx.Document().save(str(path))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", b"\0" * (4 * 1024**2))  # compresses to a few KB
    monkeypatch.setattr(extract, "MAX_CONTAINER_BYTES", 1024**2)
    assert path.stat().st_size < 1024**2
    error = _error(path)
    assert error.kind == "too_large" and "unpacks to " in str(error) and "up to 1 MB." in str(error)


# --- HTML, Markdown, text and code -------------------------------------------------------------------------


def test_html_gives_visible_text_under_its_headings(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<!doctype html><html><head><title>Hidden title</title><style>p { color: red }</style></head>"
        "<body><p>Before any heading &amp; still <b>visible</b>.</p>"
        "<h1>Getting <em>started</em></h1><p>Install it.</p><script>var secret = 'do not index';</script>"
        "<h2>Details</h2><ul><li>one</li><li>two</li></ul><pre>  indented\n    more</pre>"
        "<noscript>enable scripts</noscript><table><tr><td>a</td><td>b</td></tr></table></body></html>",
        encoding="utf-8",
    )
    sections = _sections(path)
    assert [s.heading for s in sections] == [None, "Getting started", "Details"]
    assert sections[0].text == "Before any heading & still visible."
    assert sections[1].text == "Install it."
    assert "one\ntwo" in sections[2].text and "  indented\n    more" in sections[2].text and "a b" in sections[2].text
    everything = " ".join(s.text for s in sections)
    for hidden in ("secret", "do not index", "color", "Hidden title", "enable scripts"):
        assert hidden not in everything


def test_html_in_its_declared_charset(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes(b'<html><head><meta charset="iso-8859-1"></head><body><p>caf\xe9 \x93quoted\x94</p></body></html>')
    assert _sections(path)[0].text == "café “quoted”"  # latin-1 read as browsers do: cp1252


def test_hostile_html_is_read_in_bounded_time(tmp_path: Path) -> None:
    # Each of these made html.parser rescan the rest of the file once per "<" (quadratic) or hold it all.
    path = tmp_path / "hostile.html"
    tail = "<h2>After</h2><p>still read</p>"
    path.write_text("<p>before</p><!--" + "x" * (3 * 1024**2) + tail, encoding="utf-8")
    sections = _sections(path)
    assert sections[0].text.startswith("before") and (sections[-1].heading, sections[-1].text) == (
        "After",
        "still read",
    )
    path.write_text("<p>before</p>" + "</" * 200_000, encoding="utf-8")
    assert _sections(path)[0].text.startswith("before")
    path.write_text("<p>" + "&" * (2 * 1024**2) + "</p><p>and after</p>", encoding="utf-8")
    text = "\n".join(s.text for s in _sections(path))
    assert text.count("&") == 2 * 1024**2 and text.endswith("\nand after")
    path.write_text("<p>a < b and c <= d</p>" + "<" * 100_000, encoding="utf-8")
    assert _sections(path)[0].text.startswith("a < b and c <= d\n")


def test_parsing_that_takes_too_long_stops_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_PARSE_SECONDS", 0.0)
    html = tmp_path / "slow.html"
    html.write_text("<p>first words</p>" + "<p>filler</p>" * 100_000 + "<p>last words</p>", encoding="utf-8")
    notes: list[str] = []
    text = " ".join(s.text for s in _sections(html, notes))
    assert "first words" in text and "last words" not in text
    assert notes == ["slow.html took too long to read; only its first part was indexed."]
    pdf = _write_pdf(tmp_path / "slow.pdf", ["One.", "Two.", "Three."])
    notes.clear()
    assert [s.page for s in _sections(pdf, notes)] == [1]
    assert notes == ["slow.pdf took too long to read; it was indexed up to page 1."]


def test_markdown_sections_follow_its_headings(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "---\ntitle: front matter\n---\nIntro text.\n\n"
        "# Budget #\nMoney talk.\n\n```sh\n# not a heading\n```\n"
        "Setext Title\n============\nUnder the setext.\n\n"
        "Smaller one\n-----------\nLast words.\n\n---\nAfter a rule.\n",
        encoding="utf-8",
    )
    sections = _sections(path)
    assert [s.heading for s in sections] == [None, "Budget", "Setext Title", "Smaller one"]
    assert sections[0].text == "---\ntitle: front matter\n---\nIntro text."
    assert sections[1].text == "Money talk.\n\n```sh\n# not a heading\n```"
    assert sections[2].text == "Under the setext."
    assert sections[3].text == "Last words.\n\n---\nAfter a rule."


def test_hostile_markdown_is_read_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "odd.md"
    # A closing-# pattern over a long run of spaces took a backtracking regex about 20 s on one line.
    path.write_text("# a" + " " * 60_000 + "#x\nbody\n\n" + "# " + "long " * 12_000 + "\nmore\n", encoding="utf-8")
    sections = _sections(path)
    assert [s.text for s in sections] == ["body", "more"]
    assert sections[0].heading == "a #x" and sections[1].heading is not None
    assert sections[1].heading.startswith("long long") and len(sections[1].heading) <= 500


def test_source_code_keeps_its_layout(tmp_path: Path) -> None:
    code = 'def greet(name: str) -> str:\n    """Say hello."""\n    return f"Hello, {name}"\n'
    path = tmp_path / "greet.py"
    path.write_text(code, encoding="utf-8")
    assert _sections(path) == [Section(text=code.rstrip("\n"))]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("naïve café".encode("utf-8-sig"), "naïve café"),
        ("naïve café".encode("utf-16"), "naïve café"),  # a BOM, then NUL bytes that are not binary
        ("naïve café".encode("cp1252"), "naïve café"),  # not UTF-8: the fallback
        (b"valid \xff\xfe half", "valid \ufffd\ufffd half"),  # broken UTF-8 later in a UTF-8 file is replaced
    ],
)
def test_text_in_various_encodings(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "words.txt"
    if expected.startswith("valid"):
        data = b"x" * 9000 + b"\n" + data  # past the sniffed start, so the file is taken as UTF-8
        expected = "x" * 9000 + "\n" + expected
    path.write_bytes(data)
    assert "\n".join(s.text for s in _sections(path)) == expected


def test_an_empty_text_file_has_no_sections(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("\n  \n\n", encoding="utf-8")
    assert _sections(tmp_path / "empty.txt") == [] and _sections(tmp_path / "blank.md") == []


def test_a_long_text_streams_as_bounded_sections(tmp_path: Path) -> None:
    paragraph = "word " * 200 + "\n\n"
    path = tmp_path / "long.txt"
    path.write_text(paragraph * 1500, encoding="utf-8")  # 1.5 MB, no headings
    sections = _sections(path)
    assert len(sections) > 5
    assert all(len(s.text) <= 4 * SECTION_CHARS for s in sections)
    assert sum(s.text.count("word") for s in sections) == 200 * 1500


def test_a_line_with_no_end_is_cut_into_bounded_lines(tmp_path: Path) -> None:
    path = tmp_path / "minified.json"
    path.write_text('{"k":"' + "v" * (3 * MAX_LINE_CHARS) + '"}', encoding="utf-8")
    text = "\n".join(s.text for s in _sections(path))
    assert all(len(line) <= MAX_LINE_CHARS for line in text.split("\n"))
    assert text.replace("\n", "") == '{"k":"' + "v" * (3 * MAX_LINE_CHARS) + '"}'


# --- limits ------------------------------------------------------------------------------------------------


def test_a_big_text_file_stops_at_the_cap_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_TEXT_BYTES", 1024**2)
    path = tmp_path / "big.log"
    with path.open("w", encoding="utf-8") as log:
        for number in range(60_000):  # 54 bytes a line: 3.1 MB
            log.write(f"line {number:08d} of the log, with a little more padding.\n")
    notes: list[str] = []
    text = "\n".join(s.text for s in _sections(path, notes))
    assert notes == ["big.log is 3.1 MB; only its first 1 MB were indexed."]
    assert "line 00000000 " in text and "line 00019000 " in text  # 19,418 lines fit in 1 MB
    assert "line 00019500 " not in text and len(text.encode()) <= 1024**2


def test_a_sparse_two_gigabyte_file_is_not_read_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_TEXT_BYTES", 1024**2)
    path = tmp_path / "huge.log"
    with path.open("wb") as log:
        log.write(b"".join(b"real line %04d\n" % n for n in range(1000)))  # 15 KB: text where it is sniffed
        log.truncate(2 * 1024**3)  # a hole: no disk used, and NUL bytes when read
        for offset, words in ((512 * 1024, b"within the cap"), (1536 * 1024**2, b"far past the cap")):
            log.seek(offset)
            log.write(b"\n" + words + b"\n")
    notes: list[str] = []
    text = "\n".join(s.text for s in _sections(path, notes))
    # NUL padding is dropped as it is read, and reading stopped at the cap, which the note says.
    assert text.startswith("real line 0000\nreal line 0001\n") and "real line 0999" in text
    assert "within the cap" in text and "far past the cap" not in text and "\x00" not in text
    assert notes == ["huge.log is 2.0 GB; only its first 1 MB were indexed."]


def test_the_cap_is_64_megabytes() -> None:
    assert extract.MAX_TEXT_BYTES == 64 * 1024**2 and extract.MAX_PDF_PAGES == 5000


# --- files that are not documents, or not there ------------------------------------------------------------


def test_binary_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"looks like text\x00\x01\x02 but is not")
    error = _error(path)
    assert error.kind == "binary" and str(error).startswith("data.txt looks like a binary file")


def test_a_binary_suffix_is_refused_without_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(path: Path, name: str) -> None:
        raise AssertionError(f"{name} was opened")

    monkeypatch.setattr(extract, "_open_regular", never)
    path = tmp_path / "photo.png"
    path.write_bytes(b"plain words")
    assert _error(path).kind == "binary"


def test_unsupported_kinds_say_so(tmp_path: Path) -> None:
    for name, words in (("sheet.xyz", "(.xyz files)"), ("old.doc", "save it as .docx"), ("NOSUFFIX", "suffix")):
        (tmp_path / name).write_text("text", encoding="utf-8")
        error = _error(tmp_path / name)
        assert error.kind == "unsupported" and words in str(error)


def test_is_supported() -> None:
    for name in ("a.md", "B.PDF", "c.docx", "d.HTML", "e.py", "f.rs", "g.log", "README", "Makefile", "x.csv"):
        assert is_supported(Path(name)), name
    for name in ("a.png", "b.doc", "c.exe", "noext", "d.gguf"):
        assert not is_supported(name), name
    assert ".py" in extract.SUPPORTED_SUFFIXES and isinstance(extract.SUPPORTED_SUFFIXES, frozenset)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    error = _error(path)  # opening it for reading would wait for a writer forever
    assert error.kind == "unsupported" and "not a regular file" in str(error)
    # A file swapped for a FIFO after the check: the open does not wait either, and the FIFO is refused.
    with pytest.raises(DocumentError, match="not a regular file"):
        extract._open_regular(path, path.name)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    assert _error(tmp_path / "folder.md").kind == "unsupported"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "private.txt"
    path.write_text("private", encoding="utf-8")
    path.chmod(0)
    try:
        error = _error(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert error.kind == "unreadable" and "permission denied" in str(error)


def test_permission_denied_says_so_even_for_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Path, name: str) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(extract, "_open_regular", denied)
    path = tmp_path / "private.md"
    path.write_text("private", encoding="utf-8")
    error = _error(path)
    assert error.kind == "unreadable"
    assert str(error) == "private.md cannot be read: permission denied; check who may read it."


def test_a_file_gone_before_reading_has_vanished(tmp_path: Path) -> None:
    error = _error(tmp_path / "gone.md")
    assert error.kind == "vanished" and str(error) == "gone.md is no longer there; it was moved or deleted."
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    assert _error(tmp_path / "dangling.txt").kind == "vanished"


@pytest.mark.skipif(os.name != "posix", reason="an open file cannot be deleted here")
def test_a_file_deleted_while_being_read_is_read_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "brief.txt"
    path.write_text("first\n\n" + "filler line\n" * 50_000 + "\nlast\n", encoding="utf-8")
    sections = extract_sections(path)
    first = next(sections)
    path.unlink()  # the open file stays readable where the system allows it (POSIX); nothing breaks
    rest = list(sections)
    assert first.text.startswith("first") and rest and rest[-1].text.endswith("last")


def test_a_symlink_to_a_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("# Title\nBody.", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(tmp_path / "real.md")
    assert _sections(tmp_path / "link.md") == [Section(text="Body.", heading="Title")]
