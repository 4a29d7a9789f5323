"""The data folder is private, and the store's commands never clobber, hang on or leak a file.

Everything runs the installed `parlour` script in a real process, with PARLOUR_HOME pointing at a
temporary folder, against real FIFOs, device nodes, symlinks and sparse files. Each process has a
generous timeout, so a command that hangs fails its test instead of hanging the run.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.store.import_json import IMPORT_LIMIT

TIMEOUT_S = 60


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "parlour-home"


@pytest.fixture
def parlour(parlour_cmd: list[str], home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `parlour ARGS` with PARLOUR_HOME=home, from an empty working folder, under umask 022
    (a common default: whatever Parlour writes must be private regardless)."""
    workdir = tmp_path / "workdir"
    workdir.mkdir()

    def run(*argv: str | Path, **options) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*parlour_cmd, *map(os.fspath, argv)],
            env={**os.environ, "PARLOUR_HOME": str(home)},
            cwd=workdir,
            capture_output=True,
            timeout=TIMEOUT_S,
            preexec_fn=lambda: os.umask(0o022),
            **options,
        )

    run.workdir = workdir  # type: ignore[attr-defined]
    return run


def one_sentence(result: subprocess.CompletedProcess, status: int, phrase: str) -> str:
    """The single line on stderr, after checking the status and that no traceback came out."""
    err = result.stderr.decode("utf-8", "backslashreplace").strip()
    assert result.returncode == status, (result.returncode, err)
    assert phrase in err, err
    assert "\n" not in err and "Traceback" not in err and "Exception ignored" not in err, err
    return err


def count_conversations(parlour) -> int:
    listed = parlour("conversations")
    assert listed.returncode == 0, listed.stderr
    return len(listed.stdout.splitlines())


def a_document(content: str = "Hello there.", title: str = "Imported") -> dict:
    return {
        "format": "parlour-conversations",
        "format_version": 1,
        "conversations": [
            {
                "title": title,
                "messages": [
                    {"id": 1, "parent": None, "role": "user", "content": content},
                    {"id": 2, "parent": 1, "role": "assistant", "content": "Hi."},
                ],
            }
        ],
    }


def a_character_device(tmp_path: Path) -> Path:
    """A character device to aim at: our own copy of /dev/null where we may make one (root),
    otherwise /dev/null itself, which a user without root could not replace anyway."""
    if os.geteuid() == 0:
        node = tmp_path / "null-device"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return node
    return Path("/dev/null")


# --- 1. the data folder ----------------------------------------------------------------------------


def test_a_fresh_data_folder_is_private(parlour, home: Path) -> None:
    assert not home.exists()
    assert parlour("conversations").returncode == 0
    assert mode(home) == 0o700
    assert mode(home / "parlour.db") == 0o600
    assert mode(home / "logs") == 0o700
    assert mode(home / "logs" / "parlour.log") == 0o600
    for path in home.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, path


def test_an_old_install_left_readable_by_others_is_tightened(parlour, home: Path, tmp_path: Path) -> None:
    # An older Parlour, killed mid-session under umask 022: a store with its -wal and -shm left
    # behind, logs, settings, a model, all readable by everyone.
    crash = (
        "import os, sqlite3, sys\n"
        "os.umask(0o022)\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA journal_mode = WAL')\n"
        "db.execute('CREATE TABLE notes (text TEXT)')\n"
        "db.execute(\"INSERT INTO notes VALUES ('left in the log')\")\n"
        "os._exit(0)\n"
    )
    old_umask = os.umask(0o022)
    try:
        home.mkdir(mode=0o755)
        (home / "logs").mkdir(mode=0o755)
        (home / "logs" / "parlour.log").write_text("old log\n")
        (home / "logs" / "engine.log").write_text("old engine log\n")
        (home / "library-settings.json").write_text("{}")
        (home / "models" / "someone" / "model").mkdir(parents=True, mode=0o755)
        (home / "models" / "someone" / "model" / "weights.gguf").write_bytes(b"GGUF")
        # `parlour models import` may hard-link the user's own file, and a link may point anywhere:
        # neither original may change.
        original = tmp_path / "users-own-model.gguf"
        original.write_bytes(b"GGUF")
        os.link(original, home / "models" / "linked.gguf")
        outside = tmp_path / "outside.txt"
        outside.write_text("not Parlour's")
        (home / "models" / "shortcut").symlink_to(outside)
        outside_folder = tmp_path / "outside-folder"
        outside_folder.mkdir(mode=0o755)
        (home / "models" / "folder-shortcut").symlink_to(outside_folder, target_is_directory=True)
    finally:
        os.umask(old_umask)

    subprocess.run([sys.executable, "-c", crash, str(home / "parlour.db")], check=True, timeout=TIMEOUT_S)
    for name in ("parlour.db", "parlour.db-wal", "parlour.db-shm"):
        assert mode(home / name) == 0o644, name
    assert mode(home) == 0o755

    listed = parlour("conversations")
    assert listed.returncode == 0, listed.stderr

    assert mode(home) == 0o700
    for folder in ("logs", "models", "models/someone", "models/someone/model"):
        assert mode(home / folder) == 0o700, folder
    for name in (
        "parlour.db",
        "logs/parlour.log",
        "logs/engine.log",
        "library-settings.json",
        "models/someone/model/weights.gguf",
    ):
        assert mode(home / name) == 0o600, name
    for name in ("parlour.db-wal", "parlour.db-shm"):
        if (home / name).exists():  # SQLite may have folded and removed them on close
            assert mode(home / name) == 0o600, name
    assert mode(original) == 0o644 and os.stat(original).st_nlink == 2
    assert mode(outside) == 0o644 and mode(outside_folder) == 0o755


# --- 2. export ---------------------------------------------------------------------------------------


@pytest.fixture
def with_a_chat(parlour) -> None:
    source = parlour.workdir.parent / "seed.json"
    source.write_text(json.dumps(a_document()), encoding="utf-8")
    imported = parlour("import", source)
    assert imported.returncode == 0, imported.stderr
    source.unlink()


def test_export_refuses_a_fifo_without_opening_it(parlour, with_a_chat, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo, 0o600)
    one_sentence(parlour("export", "--all", "-o", fifo), 2, "named pipe")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    # Reached through a symlink, too.
    link = tmp_path / "out.json"
    link.symlink_to(fifo)
    one_sentence(parlour("export", "--all", "-o", link), 2, "named pipe")
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)


def test_export_refuses_a_device_and_a_folder(parlour, with_a_chat, tmp_path: Path) -> None:
    device = a_character_device(tmp_path)
    one_sentence(parlour("export", "--all", "-o", device), 2, "is a device")
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    link = tmp_path / "to-device.md"
    link.symlink_to(device)
    one_sentence(parlour("export", "--all", "-o", link), 2, "is a device")
    assert link.is_symlink() and stat.S_ISCHR(os.stat(link).st_mode)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    one_sentence(parlour("export", "--all", "-o", folder), 2, "is a folder")
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.parametrize("existing_mode", [0o600, 0o640])
def test_export_over_an_existing_file_keeps_its_mode(parlour, with_a_chat, tmp_path: Path, existing_mode) -> None:
    target = tmp_path / "chats.json"
    target.write_text("old")
    os.chmod(target, existing_mode)
    exported = parlour("export", "--all", "-o", target)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(target.read_text(encoding="utf-8"))["conversations"][0]["title"] == "Imported"
    assert mode(target) == existing_mode
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []  # no leftovers


def test_export_through_a_symlink_replaces_the_file_it_names(parlour, with_a_chat, tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert parlour("export", "--all", "-o", link).returncode == 0
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("# Imported")
    assert mode(real) == 0o640


def test_a_new_export_is_private_whatever_the_umask(parlour, with_a_chat, tmp_path: Path) -> None:
    target = tmp_path / "new.md"
    exported = parlour("export", "--all", "-o", target)
    assert exported.returncode == 0, exported.stderr
    assert mode(target) == 0o600


def _read_a_little_then_close(parlour_cmd: list[str], home: Path, *argv: str) -> tuple[int, bytes, bytes]:
    """Like `parlour ARGV | head -c 10`: the reader leaves while Parlour still has lots to write."""
    process = subprocess.Popen(
        [*parlour_cmd, *argv],
        env={**os.environ, "PARLOUR_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        head = process.stdout.read(10)
        process.stdout.close()
        process.stdout = None  # closed on purpose: communicate() must not read it
        _, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, head, err


def test_export_to_a_closed_pipe_is_quiet(parlour, parlour_cmd: list[str], home: Path, tmp_path: Path) -> None:
    # Far more than a pipe holds (64 KiB), so Parlour is still writing when the reader leaves.
    source = tmp_path / "big.json"
    source.write_text(json.dumps(a_document(content="word " * 400_000)), encoding="utf-8")
    assert parlour("import", source).returncode == 0
    status, head, err = _read_a_little_then_close(parlour_cmd, home, "export", "--all", "-o", "-")
    assert head == b'{"format":'
    assert (status, err) == (0, b"")


def test_conversations_into_a_closed_pipe_is_quiet(parlour, parlour_cmd: list[str], home: Path, tmp_path: Path) -> None:
    document = a_document()
    document["conversations"] = document["conversations"] * 300
    for conversation in document["conversations"]:
        conversation["title"] = "A long title " * 40
    source = tmp_path / "many.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    assert parlour("import", source).returncode == 0
    status, head, err = _read_a_little_then_close(parlour_cmd, home, "conversations")
    assert len(head) == 10
    assert (status, err) == (0, b"")


# --- 3. import ---------------------------------------------------------------------------------------


def _refused_import(parlour, path: Path, phrase: str) -> None:
    """The import is one sentence with status 2, the store is unchanged, and nothing is created
    outside the data folder."""
    before = count_conversations(parlour)
    beside = sorted(os.listdir(path.parent))
    one_sentence(parlour("import", path), 2, phrase)
    assert count_conversations(parlour) == before
    assert sorted(os.listdir(path.parent)) == beside
    assert list(parlour.workdir.iterdir()) == []


def test_import_refuses_a_symlink_to_dev_zero(parlour, with_a_chat, tmp_path: Path) -> None:
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    _refused_import(parlour, link, "is a device")


def test_import_refuses_a_fifo_without_waiting(parlour, with_a_chat, tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo, 0o600)
    _refused_import(parlour, fifo, "named pipe")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_import_refuses_a_folder(parlour, with_a_chat, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    _refused_import(parlour, folder, "is a folder")


def test_import_refuses_a_file_over_the_limit(parlour, with_a_chat, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as file:
        file.truncate(IMPORT_LIMIT + 1)  # sparse: no disk used
    _refused_import(parlour, huge, "larger than 512 MB")


def test_import_refuses_invalid_utf8(parlour, with_a_chat, tmp_path: Path) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes(json.dumps(a_document(content="caf\u00e9")).replace("\\u00e9", "\u00e9").encode("latin-1"))
    _refused_import(parlour, bad, "not UTF-8")


@pytest.mark.parametrize("field", ["content", "title"])
def test_import_refuses_a_lone_surrogate(parlour, with_a_chat, tmp_path: Path, field: str) -> None:
    document = a_document(**{field: "before \ud800 after"})
    bad = tmp_path / "surrogate.json"
    bad.write_text(json.dumps(document), encoding="ascii")  # the escape "\ud800", as another tool writes it
    assert "\\ud800" in bad.read_text()
    _refused_import(parlour, bad, "invalid character")


# --- 5. what the commands print ----------------------------------------------------------------------


def test_escape_sequences_in_stored_text_are_shown_not_obeyed(parlour, tmp_path: Path) -> None:
    source = tmp_path / "hostile.json"
    hostile = a_document(content="clear \x1b[2J the \x9b31m screen", title="evil \x1b]0;owned\x07 title")
    source.write_text(json.dumps(hostile), encoding="utf-8")
    assert parlour("import", source).returncode == 0
    for argv in (("conversations",), ("conversations", "--search", "screen"), ("conversations", "--search", "evil")):
        listed = parlour(*argv)
        assert listed.returncode == 0, listed.stderr
        text = listed.stdout.decode("utf-8")
        assert not any(ord(char) < 0x20 and char not in "\t\n" or 0x7F <= ord(char) <= 0x9F for char in text)
    assert "evil \\x1b]0;owned\\x07 title" in parlour("conversations").stdout.decode()
    assert "\\x1b[2J" in parlour("conversations", "--search", "screen").stdout.decode()


def test_arguments_that_are_not_utf8_are_one_sentence(parlour, with_a_chat, tmp_path: Path) -> None:
    one_sentence(parlour("conversations", "--search", os.fsdecode(b"caf\xff")), 2, "UTF-8")
    one_sentence(parlour("export", os.fsdecode(b"\xff\x1b[2J"), "-o", tmp_path / "x.md"), 2, "")
    missing = tmp_path / os.fsdecode(b"missing-\xff.json")
    err = one_sentence(parlour("import", missing), 2, "")
    assert "\x1b" not in err


# --- the data folder, in this process ------------------------------------------------------------------


def test_data_dir_tightens_once_per_process_and_sets_the_umask(tmp_path: Path, monkeypatch) -> None:
    from app import paths

    folder = tmp_path / "fresh-home"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    (folder / "notes.txt").write_text("x")
    os.chmod(folder / "notes.txt", 0o644)
    monkeypatch.setenv("PARLOUR_HOME", str(folder))
    assert paths.data_dir() == folder
    assert (mode(folder), mode(folder / "notes.txt")) == (0o700, 0o600)
    current = os.umask(0)
    os.umask(current)
    assert current & 0o077 == 0o077
    # Once per process: a second call does not walk the folder again.
    os.chmod(folder / "notes.txt", 0o644)
    assert paths.data_dir() == folder
    assert mode(folder / "notes.txt") == 0o644


def test_a_shared_folder_is_never_walked(tmp_path: Path) -> None:
    from app.paths import make_private

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    (shared / "someone-elses.txt").write_text("x")
    os.chmod(shared / "someone-elses.txt", 0o644)
    make_private(shared)
    assert (mode(shared), mode(shared / "someone-elses.txt")) == (0o1777, 0o644)
