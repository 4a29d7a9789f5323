"""What the store hands to a terminal or a file: printable text, refused surrogates, safe write targets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.store.conversations import list_recent
from app.store.errors import ImportFormatError
from app.store.files import NotARegularFileError, writable_target, write_atomically
from app.store.import_json import import_document
from app.store.terminal_text import has_surrogates, one_line, printable


def test_printable_escapes_controls_and_surrogates_but_keeps_tabs_and_text() -> None:
    assert printable("tab\tstays, café ✓ 中文") == "tab\tstays, café ✓ 中文"
    assert printable("\x1b[2J\x07\x00\x7f\x9b") == "\\x1b[2J\\x07\\x00\\x7f\\x9b"
    assert printable("line\nbreak\r") == "line\\nbreak\\r"
    assert printable(os.fsdecode(b"caf\xff") + "\ud800") == "caf\\xff\\ud800"
    assert printable("abc\u202edcba") == "abc\\u202edcba"
    assert one_line("  a\n\tb \x1b c ") == "a b \\x1b c"
    assert has_surrogates("x\udcff") and has_surrogates("\ud800") and not has_surrogates("é✓")


def test_a_lone_surrogate_in_an_import_is_refused_with_where_it_is(store) -> None:
    document = {
        "format": "parlour-conversations",
        "format_version": 1,
        "conversations": [
            {"title": "ok", "messages": [{"id": 1, "role": "user", "content": "ok"}]},
            {"title": "bad", "parameters": {"stop": ["\udc80"]}, "messages": []},
        ],
    }
    document = json.loads(json.dumps(document))  # as json.loads gives it from "\udc80"
    with pytest.raises(ImportFormatError, match="conversation 2 has a parameters field with an invalid character"):
        import_document(store, document, source="export.json")
    assert list_recent(store) == []


def test_a_character_device_is_refused_before_anything_is_written() -> None:
    with pytest.raises(NotARegularFileError, match="is a device"):
        writable_target("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file")
def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "keep.md"
    target.write_text("mine")
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError):
        write_atomically(target, ["new"])
    assert target.read_text() == "mine"


def test_write_atomically_takes_a_plain_string_path(tmp_path: Path) -> None:
    # The window passes the file dialog's string straight in.
    target = tmp_path / "chat.md"
    write_atomically(str(target), ["# chat\n"])
    assert target.read_text() == "# chat\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
