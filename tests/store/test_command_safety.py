"""The store's commands in-process: one sentence for every failure, printable output, safe targets."""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from app.store import commands
from app.store.commands import add_store_commands
from app.store.conversations import list_recent, rename_conversation
from app.store.db import open_store
from app.store.errors import ImportFormatError
from app.store.files import NotARegularFileError, writable_target, write_atomically
from app.store.import_json import import_document
from app.store.terminal_text import has_surrogates, one_line, printable

from .helpers import chat


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="parlour")
    add_store_commands(parser.add_subparsers(required=True))
    arguments = parser.parse_args(argv)
    return arguments.func(arguments)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def a_chat(home: Path) -> int:
    with open_store() as store:
        return chat(store, ("Is the saffronaxolotl real?", "Only in tests."))


def test_printable_escapes_controls_and_surrogates_but_keeps_tabs_and_text() -> None:
    assert printable("tab\tstays, café ✓ 中文") == "tab\tstays, café ✓ 中文"
    assert printable("\x1b[2J\x07\x00\x7f\x9b") == "\\x1b[2J\\x07\\x00\\x7f\\x9b"
    assert printable("line\nbreak\r") == "line\\nbreak\\r"
    assert printable(os.fsdecode(b"caf\xff") + "\ud800") == "caf\\xff\\ud800"
    assert printable("abc\u202edcba") == "abc\\u202edcba"
    assert one_line("  a\n\tb \x1b c ") == "a b \\x1b c"
    assert has_surrogates("x\udcff") and has_surrogates("\ud800") and not has_surrogates("é✓")


def test_a_search_that_is_not_utf8_is_one_sentence(a_chat, capsys) -> None:
    assert _run("conversations", "--search", os.fsdecode(b"caf\xff")) == 2
    assert "not valid UTF-8" in _one_line_error(capsys)


def test_a_limit_beyond_sqlite_integers_still_lists(a_chat, capsys) -> None:
    assert _run("conversations", "--limit", str(10**30)) == 0
    assert capsys.readouterr().out.startswith(f"{a_chat}\t")


def test_an_unforeseen_failure_is_one_sentence_without_promising_a_log(a_chat, monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(commands, "list_recent", broken)
    # pytest's own handlers are on the root logger: records are kept, but not in Parlour's log file.
    assert _run("conversations") == 1
    err = _one_line_error(capsys)
    assert "RuntimeError" in err and "log" not in err


def test_an_unforeseen_failure_points_to_the_log_that_holds_it(a_chat, home: Path, monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(commands, "list_recent", broken)
    from app.paths import log_dir

    log_file = log_dir() / "parlour.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    try:
        assert _run("conversations") == 1
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert "details are in the log" in _one_line_error(capsys)
    assert "RuntimeError: a bug" in log_file.read_text(encoding="utf-8")


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


def test_titles_with_line_breaks_and_escapes_stay_on_one_printable_line(home: Path, capsys) -> None:
    with open_store() as store:
        conversation = chat(store, ("hi", "hello"))
        rename_conversation(store, conversation, "two\nlines \x1b[31mred\t")
    assert _run("conversations") == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "\x1b" not in line
    assert line.rstrip("\n").endswith("two lines \\x1b[31mred")


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


def test_export_never_replaces_the_store_itself(a_chat, home: Path, capsys) -> None:
    database = home / "parlour.db"
    before = database.read_bytes()
    assert _run("export", "--all", "--format", "json", "-o", str(database)) == 2
    assert "Parlour's own conversation store" in _one_line_error(capsys)
    assert database.read_bytes() == before
    with open_store() as store:
        assert [c.id for c in list_recent(store)] == [a_chat]


@pytest.mark.parametrize("argv", [("conversations",), ("export", "--all", "-o", "-")])
def test_an_unusable_data_folder_is_one_sentence(tmp_path: Path, monkeypatch, capsys, argv) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("PARLOUR_HOME", str(not_a_folder / "parlour"))
    assert _run(*argv) == 1
    assert "cannot use its data folder" in _one_line_error(capsys)
