"""`parlour export`, `parlour import` and `parlour conversations`, through argparse and a real process."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.commands import add_store_commands
from app.store.conversations import list_recent, rename_conversation
from app.store.db import open_store

from .conftest import REPO_ROOT
from .helpers import chat

DRIVER = (
    "import argparse, sys\n"
    "from app.store.commands import add_store_commands\n"
    "parser = argparse.ArgumentParser(prog='parlour')\n"
    "add_store_commands(parser.add_subparsers(required=True))\n"
    "arguments = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(arguments.func(arguments))\n"
)


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="parlour")
    add_store_commands(parser.add_subparsers(required=True))
    arguments = parser.parse_args(argv)
    return arguments.func(arguments)


@pytest.fixture
def two_conversations(home: Path) -> tuple[int, int]:
    with open_store() as store:
        first = chat(store, ("How tall is Everest?", "About 8,849 metres."))
        second = chat(store, ("Best way to brew oolong?", "Rinse once, then short steeps at 90 °C."))
        rename_conversation(store, second, "Tea notes")
    return first, second


def test_conversations_lists_the_most_recent_first(two_conversations, capsys) -> None:
    first, second = two_conversations
    assert _run("conversations") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(second), str(first)]
    assert lines[0].endswith("Tea notes") and lines[1].endswith("How tall is Everest?")


def test_conversations_search_shows_highlighted_matches(two_conversations, capsys) -> None:
    first, _ = two_conversations
    assert _run("conversations", "--search", "metres") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    conversation_id, title, where, snippet = out[0].split("\t")
    assert (int(conversation_id), title, where.startswith("message ")) == (
        first,
        "How tall is Everest?",
        True,
    )
    assert "[metres]" in snippet
    assert _run("conversations", "--search", "zeppelin") == 0
    assert "No conversation mentions" in capsys.readouterr().err


def test_export_one_as_markdown_and_all_as_json(two_conversations, tmp_path: Path, capsys) -> None:
    first, _ = two_conversations
    markdown = tmp_path / "everest.md"
    assert _run("export", str(first), "--format", "md", "-o", str(markdown)) == 0
    assert markdown.read_text(encoding="utf-8").startswith("# How tall is Everest?\n")
    assert f"Exported 1 conversation to {markdown}." in capsys.readouterr().out
    everything = tmp_path / "all.json"
    assert _run("export", "--all", "--format", "json", "-o", str(everything)) == 0
    document = json.loads(everything.read_text(encoding="utf-8"))
    assert [c["title"] for c in document["conversations"]] == ["How tall is Everest?", "Tea notes"]
    # The format follows the file name when --format is left out.
    guessed = tmp_path / "guessed.markdown"
    assert _run("export", str(first), "-o", str(guessed)) == 0
    assert guessed.read_text(encoding="utf-8").startswith("# ")


def test_export_to_standard_output(two_conversations, capsys) -> None:
    first, _ = two_conversations
    assert _run("export", str(first), "--format", "json", "-o", "-") == 0
    assert json.loads(capsys.readouterr().out)["conversations"][0]["id"] == first


def test_import_adds_the_conversations_again(two_conversations, tmp_path: Path, capsys) -> None:
    everything = tmp_path / "all.json"
    assert _run("export", "--all", "--format", "json", "-o", str(everything)) == 0
    assert _run("import", str(everything)) == 0
    assert "Imported 2 conversations." in capsys.readouterr().out
    with open_store() as store:
        assert len(list_recent(store)) == 4


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("export", "999", "--format", "md", "-o", "OUT"), "There is no conversation with the ID 999."),
        (("export", "tea", "--format", "md", "-o", "OUT"), "“tea” is not a conversation ID"),
        (("export", "--all", "--format", "json", "-o", "MISSING/all.json"), "could not write"),
        (("import", "MISSING.json"), "The file to import does not exist"),
        (("import", "NOT_JSON"), "is not valid JSON"),
    ],
)
def test_bad_input_gives_one_sentence_and_status_2(two_conversations, tmp_path: Path, capsys, argv, expected) -> None:
    (tmp_path / "NOT_JSON").write_text("{oops", encoding="utf-8")
    argv = tuple(str(tmp_path / a) if a in ("OUT", "MISSING/all.json", "MISSING.json", "NOT_JSON") else a for a in argv)
    assert _run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "OUT").exists()


def test_export_needs_an_id_or_all(two_conversations, capsys) -> None:
    from app.store.commands import cmd_export

    for which in ({"all": False, "id": None}, {"all": True, "id": "1"}):
        arguments = argparse.Namespace(**which, format="json", output="-")
        assert cmd_export(arguments) == 2
        assert "Give either a conversation ID or --all" in capsys.readouterr().err


def test_a_store_from_a_newer_parlour_fails_with_status_1(home: Path, capsys) -> None:
    with open_store() as store:
        store.connection.execute("PRAGMA user_version = 999")
    assert _run("conversations") == 1
    assert "newer version of Parlour" in capsys.readouterr().err


def test_commands_in_a_real_process(two_conversations, home: Path, tmp_path: Path) -> None:
    environment = {**os.environ, "PARLOUR_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}

    def parlour(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", DRIVER, *argv],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = parlour("conversations")
    assert listed.returncode == 0 and "Tea notes" in listed.stdout
    output = tmp_path / "all.json"
    exported = parlour("export", "--all", "--format", "json", "-o", str(output))
    assert exported.returncode == 0, exported.stderr
    imported = parlour("import", str(output))
    assert (imported.returncode, imported.stdout.strip()) == (0, "Imported 2 conversations.")
    missing = parlour("export", "12345", "--format", "md", "-o", str(tmp_path / "x.md"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == "There is no conversation with the ID 12345."
    usage = parlour("export", "--all", "7", "-o", "x")
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr
