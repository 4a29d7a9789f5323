"""`parlour docs ...` and `parlour chat --docs/--attach`, run as a person runs them, on real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import one_sentence, run_in

FACT = "The access code for project Heron is 7391."


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "projects").mkdir(parents=True)
    (docs / "projects" / "heron.md").write_text(f"# Heron\n\nNotes on the project.\n\n## Access\n\n{FACT}\n")
    (docs / "kettle.txt").write_text("The kettle is in the blue cupboard, behind the teapot.")
    for n in range(20):
        (docs / f"minutes{n}.txt").write_text(f"Minutes of meeting {n}: budgets, plans and schedules were discussed.")
    return docs


def _docs(private_home: Path, cmd: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_in(private_home / "parlour", cmd, "docs", *args)


def test_add_list_and_search(private_home: Path, parlour_cmd: list[str], folder: Path) -> None:
    added = _docs(private_home, parlour_cmd, "add", folder, "--collection", "work")
    assert added.returncode == 0, added.stderr
    assert "work: 22 added, 0 changed, 0 removed, 0 unchanged, 0 problems" in added.stderr
    assert "Indexed 22 of 22." in added.stderr  # the progress, on stderr
    assert added.stdout == ""

    [listed] = json.loads(_docs(private_home, parlour_cmd, "list", "--json").stdout)
    assert (listed["name"], listed["folders"], listed["documents"]) == ("work", [str(folder)], 22)
    assert listed["passages"] >= 22 and listed["problems"] == []
    plain = _docs(private_home, parlour_cmd, "list")
    assert plain.stdout.startswith("work  22 documents, ") and f"  {folder}\n" in plain.stdout

    found = _docs(private_home, parlour_cmd, "search", "access code for Heron?", "--json", "--limit", "3")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)
    assert 1 <= len(results) <= 3
    assert results[0]["source"] == str(folder / "projects" / "heron.md")
    assert (results[0]["heading"], results[0]["text"]) == ("Access", FACT)
    assert results[0]["score"] > 0
    text = _docs(private_home, parlour_cmd, "search", 'kettle NEAR("blue" *', "--collection", "work")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"[1] {folder / 'kettle.txt'}  (score ")


def test_update_sees_changes_and_rm_forgets(private_home: Path, parlour_cmd: list[str], folder: Path) -> None:
    assert _docs(private_home, parlour_cmd, "add", folder, "--collection", "work").returncode == 0
    (folder / "kettle.txt").unlink()
    (folder / "new.txt").write_text("The lighthouse keeper's logbook.")
    updated = _docs(private_home, parlour_cmd, "update", "work")
    assert "work: 1 added, 0 changed, 1 removed, 21 unchanged, 0 problems" in updated.stderr
    assert json.loads(_docs(private_home, parlour_cmd, "search", "kettle", "--json").stdout) == []
    assert _docs(private_home, parlour_cmd, "update").returncode == 0  # every collection

    removed = _docs(private_home, parlour_cmd, "rm", "work")
    assert removed.returncode == 0 and "Removed the collection work" in removed.stdout
    assert json.loads(_docs(private_home, parlour_cmd, "list", "--json").stdout) == []
    assert (folder / "new.txt").exists()


def test_a_single_file_is_indexed_alone(private_home: Path, parlour_cmd: list[str], folder: Path) -> None:
    added = _docs(private_home, parlour_cmd, "add", folder / "kettle.txt", "--collection", "one file")
    assert added.returncode == 0, added.stderr
    [listed] = json.loads(_docs(private_home, parlour_cmd, "list", "--json").stdout)
    assert (listed["name"], listed["folders"], listed["documents"]) == ("one file", [], 1)


def test_mistakes_are_one_sentence_with_status_2(private_home: Path, parlour_cmd: list[str], tmp_path: Path) -> None:
    home = private_home / "parlour"
    missing = one_sentence(run_in(home, parlour_cmd, "docs", "add", tmp_path / "nowhere", "--collection", "w"))
    assert missing == f"{tmp_path / 'nowhere'} does not exist; name a folder or a document file."
    (tmp_path / "song.mp3").write_bytes(b"ID3")
    unsupported = one_sentence(run_in(home, parlour_cmd, "docs", "add", tmp_path / "song.mp3", "--collection", "w"))
    assert "cannot read song.mp3" in unsupported
    assert json.loads(run_in(home, parlour_cmd, "docs", "list", "--json").stdout) == []  # no empty collection left
    unknown = one_sentence(run_in(home, parlour_cmd, "docs", "search", "x", "--collection", "nowhere"))
    assert unknown == "There is no collection called 'nowhere'; `parlour docs list` shows them."
    assert "no collection called" in one_sentence(run_in(home, parlour_cmd, "docs", "rm", "nowhere"))
    assert "no collection called" in one_sentence(run_in(home, parlour_cmd, "docs", "update", "nowhere"))
    bad_name = one_sentence(run_in(home, parlour_cmd, "docs", "add", tmp_path, "--collection", "x" * 101))
    assert "at most 100 characters" in bad_name


def test_a_damaged_index_is_set_aside_with_a_notice(private_home: Path, parlour_cmd: list[str]) -> None:
    home = private_home / "parlour"
    (home / "documents.sqlite3").write_bytes(b"not a database at all" * 500)
    listed = run_in(home, parlour_cmd, "docs", "list")
    assert listed.returncode == 0, listed.stderr
    assert "document index was damaged, so it was moved to" in listed.stderr
    assert list(home.glob("documents.sqlite3.damaged-*"))


def test_chat_with_docs_puts_the_passage_in_the_prompt(
    private_home: Path, parlour_cmd: list[str], folder: Path, starter_gguf: Path
) -> None:
    home = private_home / "parlour"
    assert run_in(home, parlour_cmd, "docs", "add", folder, "--collection", "work").returncode == 0
    question = "What is the access code for project Heron?"
    shown = run_in(home, parlour_cmd, "chat", "--model", starter_gguf, "--docs", "work", "--show-prompt", question)
    assert shown.returncode == 0, shown.stderr
    block = f"Passages from the person's documents (cite them as [n]):\n\n[1] heron.md, Access\n{FACT}"
    assert f"<|im_start|>user\n{block}" in shown.stdout
    assert shown.stdout.endswith(f"\n\n{question}<|im_end|>\n<|im_start|>assistant\n")

    replied = run_in(
        home, parlour_cmd, "chat", "--model", starter_gguf, "--docs", "work", "--temperature", "0", "--max-tokens", "8",
        question,
    )  # fmt: skip
    assert replied.returncode == 0, replied.stderr
    assert replied.stdout.strip() and "Sources:" not in replied.stdout  # stdout is the reply alone
    assert f"Sources:\n  [1] heron.md, Access: {FACT}" in replied.stderr


def test_chat_with_an_attachment(private_home: Path, parlour_cmd: list[str], folder: Path, starter_gguf: Path) -> None:
    home = private_home / "parlour"
    note = folder / "kettle.txt"
    shown = run_in(
        home, parlour_cmd, "chat", "--model", starter_gguf, "--attach", note, "--show-prompt", "--json", "Where?"
    )
    assert shown.returncode == 0, shown.stderr
    assert f"[1] kettle.txt\n{note.read_text()}\n\nWhere?" in json.loads(shown.stdout)["text"]


def test_chat_refuses_unknown_documents_before_loading(private_home: Path, parlour_cmd: list[str]) -> None:
    home = private_home / "parlour"
    unknown = one_sentence(run_in(home, parlour_cmd, "chat", "--docs", "nowhere", "question"))
    assert unknown == "There is no collection called 'nowhere'; `parlour docs list` shows them."
    missing = one_sentence(run_in(home, parlour_cmd, "chat", "--attach", "/nowhere/file.txt", "question"))
    assert missing == "The attachment /nowhere/file.txt does not exist."
    assert "work with one PROMPT" in one_sentence(run_in(home, parlour_cmd, "chat", "--docs", "x"))
