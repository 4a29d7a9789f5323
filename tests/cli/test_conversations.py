"""`parlour export`, `parlour import` and `parlour conversations`, as the installed command runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.store.conversations import list_recent, rename_conversation
from app.store.db import open_store
from tests.cli.helpers import TIMEOUT_S, one_sentence, run_in
from tests.store.helpers import chat

Parlour = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data folder of the `parlour` runs, and of the store this test opens itself."""
    folder = tmp_path / "parlour-home"
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    return folder


@pytest.fixture
def parlour(parlour_cmd: list[str], home: Path) -> Parlour:
    return lambda *args, **options: run_in(home, parlour_cmd, *args, **options)


@pytest.fixture
def two_conversations(home: Path) -> tuple[int, int]:
    with open_store() as store:
        first = chat(store, ("How tall is Everest?", "About 8,849 metres."))
        second = chat(store, ("Best way to brew oolong?", "Rinse once, then short steeps at 90 °C."))
        rename_conversation(store, second, "Tea notes")
    return first, second


def test_conversations_lists_the_most_recent_first(two_conversations, parlour: Parlour) -> None:
    first, second = two_conversations
    listed = parlour("conversations")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(second), str(first)]
    assert lines[0].endswith("Tea notes") and lines[1].endswith("How tall is Everest?")
    assert parlour("conversations", "--limit", "1").stdout.splitlines() == lines[:1]


def test_conversations_search_shows_highlighted_matches(two_conversations, parlour: Parlour) -> None:
    first, _ = two_conversations
    found = parlour("conversations", "--search", "metres")
    assert found.returncode == 0, found.stderr
    out = found.stdout.splitlines()
    assert len(out) == 1
    conversation_id, title, where, snippet = out[0].split("\t")
    assert (int(conversation_id), title, where.startswith("message ")) == (first, "How tall is Everest?", True)
    assert "[metres]" in snippet
    missing = parlour("conversations", "--search", "zeppelin")
    assert missing.returncode == 0 and missing.stdout == ""
    assert missing.stderr == "parlour: No conversation mentions “zeppelin”.\n"


def test_export_one_as_markdown_and_all_as_json(two_conversations, parlour: Parlour, tmp_path: Path) -> None:
    first, _ = two_conversations
    markdown = tmp_path / "everest.md"
    exported = parlour("export", str(first), "--format", "md", "-o", markdown)
    assert exported.returncode == 0, exported.stderr
    assert markdown.read_text(encoding="utf-8").startswith("# How tall is Everest?\n")
    assert exported.stdout == f"Exported 1 conversation to {markdown}.\n"
    everything = tmp_path / "all.json"
    assert parlour("export", "--all", "--format", "json", "-o", everything).returncode == 0
    document = json.loads(everything.read_text(encoding="utf-8"))
    assert [c["title"] for c in document["conversations"]] == ["How tall is Everest?", "Tea notes"]
    # The format follows the file name when --format is left out.
    guessed = tmp_path / "guessed.markdown"
    assert parlour("export", str(first), "-o", guessed).returncode == 0
    assert guessed.read_text(encoding="utf-8").startswith("# ")


def test_export_to_standard_output(two_conversations, parlour: Parlour) -> None:
    first, _ = two_conversations
    exported = parlour("export", str(first), "--format", "json", "-o", "-")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["conversations"][0]["id"] == first


def test_import_adds_the_conversations_again(two_conversations, parlour: Parlour, tmp_path: Path) -> None:
    everything = tmp_path / "all.json"
    assert parlour("export", "--all", "--format", "json", "-o", everything).returncode == 0
    imported = parlour("import", everything)
    assert (imported.returncode, imported.stdout) == (0, "Imported 2 conversations.\n")
    with open_store() as store:
        assert len(list_recent(store)) == 4


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("export", "999", "--format", "md", "-o", "OUT"), "There is no conversation with the ID 999."),
        (("export", "tea", "--format", "md", "-o", "OUT"), "“tea” is not a conversation ID"),
        (("export", "--all", "--format", "json", "-o", "MISSING/all.json"), "could not write"),
        (("export", "-o", "-"), "Give either a conversation ID or --all, not both or neither."),
        (("import", "MISSING.json"), "The file to import does not exist"),
        (("import", "NOT_JSON"), "is not valid JSON"),
    ],
)
def test_bad_input_gives_one_sentence_and_status_2(
    two_conversations, parlour: Parlour, tmp_path: Path, argv, expected
) -> None:
    (tmp_path / "NOT_JSON").write_text("{oops", encoding="utf-8")
    files = ("OUT", "MISSING/all.json", "MISSING.json", "NOT_JSON")
    argv = tuple(str(tmp_path / a) if a in files else a for a in argv)
    assert expected in one_sentence(parlour(*argv))
    assert not (tmp_path / "OUT").exists()


def test_an_id_and_all_together_is_a_usage_error(two_conversations, parlour: Parlour) -> None:
    usage = parlour("export", "--all", "7", "-o", "x")
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr


def test_a_store_from_a_newer_parlour_fails_with_status_1(home: Path, parlour: Parlour) -> None:
    with open_store() as store:
        store.connection.execute("PRAGMA user_version = 999")
    assert "newer version of Parlour" in one_sentence(parlour("conversations"), code=1)


def test_a_search_that_is_not_utf8_is_one_sentence(two_conversations, parlour: Parlour) -> None:
    assert "not valid UTF-8" in one_sentence(parlour("conversations", "--search", b"caf\xff"))


def test_an_unforeseen_failure_is_one_sentence_and_its_traceback_is_in_the_log(two_conversations, home: Path) -> None:
    """A bug of ours (here: the listing made to raise) is a sentence on screen and a traceback in the log."""
    code = (
        "import sys\nimport app.store.conversations as conversations\nfrom app.cli import main\n"
        "def broken(*args, **kwargs):\n    raise RuntimeError('a bug')\n"
        "conversations.list_recent = broken\nsys.exit(main(['conversations']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "PARLOUR_HOME": str(home)},
    )
    assert one_sentence(result, code=1) == "Something went wrong (RuntimeError: a bug); details are in the log."
    log = (home / "logs" / "parlour.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError: a bug" in log


def test_titles_with_line_breaks_and_escapes_stay_on_one_printable_line(home: Path, parlour: Parlour) -> None:
    with open_store() as store:
        conversation = chat(store, ("hi", "hello"))
        rename_conversation(store, conversation, "two\nlines \x1b[31mred\t")
    listed = parlour("conversations")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("\n") == 1 and "\x1b" not in listed.stdout
    assert listed.stdout.rstrip("\n").endswith("two lines \\x1b[31mred")


def test_export_never_replaces_the_store_itself(two_conversations, home: Path, parlour: Parlour) -> None:
    database = home / "parlour.db"
    before = database.read_bytes()
    assert "Parlour's own conversation store" in one_sentence(parlour("export", "--all", "-o", database))
    assert database.read_bytes() == before
    with open_store() as store:
        assert len(list_recent(store)) == 2


@pytest.mark.parametrize("argv", [("conversations",), ("export", "--all", "-o", "-")])
def test_an_unusable_data_folder_is_one_sentence(tmp_path: Path, parlour_cmd: list[str], argv) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = run_in(not_a_folder / "parlour", parlour_cmd, *argv)
    assert one_sentence(result, code=1).startswith("Parlour cannot write to its data folder")
