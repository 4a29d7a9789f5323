"""Bad files and failing disks: a damaged store is kept aside, a newer one is left alone, a full
disk loses nothing and corrupts nothing."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.conversations import create_conversation, list_recent
from app.store.db import Store, _probe, open_store
from app.store.errors import DISK_FULL_MESSAGE, DiskFullError, StoreDamagedError, StoreTooNewError
from app.store.export import export_json
from app.store.import_json import import_document
from app.store.messages import add_user_message, get_message
from app.store.recovery import check_integrity, find_damage
from app.store.replies import start_reply
from app.store.schema import LATEST_VERSION

from .conftest import ManualClock
from .helpers import chat


def _store_with_data(path: Path) -> None:
    with open_store(path) as store:
        for number in range(30):
            chat(store, (f"question {number} " * 50, f"answer {number} " * 200))


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(4).randbytes(3 * 4096))


def _truncated_to_half(path: Path) -> None:
    _store_with_data(path)
    os.truncate(path, path.stat().st_size // 2)


def _truncated_inside_the_header(path: Path) -> None:
    _store_with_data(path)
    os.truncate(path, 60)


def _truncated_inside_the_first_page(path: Path) -> None:
    _store_with_data(path)
    os.truncate(path, 1000)


def _wrong_header(path: Path) -> None:
    _store_with_data(path)
    with path.open("r+b") as file:
        file.write(b"NotSQLite form 3")


def _impossible_page_size(path: Path) -> None:
    _store_with_data(path)
    with path.open("r+b") as file:
        file.seek(16)
        file.write((3000).to_bytes(2, "big"))


def _text_file(path: Path) -> None:
    path.write_text("These are my notes, not a database.\n" * 200)


@pytest.mark.parametrize(
    "damage",
    [
        _random_bytes,
        _truncated_to_half,
        _truncated_inside_the_header,
        _truncated_inside_the_first_page,
        _wrong_header,
        _impossible_page_size,
        _text_file,
    ],
)
def test_a_damaged_store_is_moved_aside_and_a_fresh_one_opened(home: Path, damage) -> None:
    home.mkdir(parents=True)
    path = home / "parlour.db"
    damage(path)
    damaged_bytes = path.read_bytes()
    store = open_store()
    try:
        assert store.notice is not None
        moved = [p for p in home.iterdir() if p.name.startswith("parlour.db.damaged-") and not p.name.endswith("-shm")]
        assert len(moved) == 1
        assert str(moved[0]) in store.notice
        assert moved[0].read_bytes() == damaged_bytes  # kept exactly, never deleted
        assert list_recent(store) == []
        create_conversation(store, title="A fresh start")
        assert [c.title for c in list_recent(store)] == ["A fresh start"]
        assert check_integrity(store.connection) == []
    finally:
        store.close()
    with open_store() as again:  # the fresh store is sound: no second move
        assert again.notice is None


def test_a_second_damaged_store_does_not_overwrite_the_first(home: Path) -> None:
    home.mkdir(parents=True)
    for round_number in range(2):
        (home / "parlour.db").write_bytes(bytes([round_number]) * 5000)
        open_store().close()
    moved = sorted(p.read_bytes()[:1] for p in home.iterdir() if ".damaged-" in p.name and p.suffix != "-shm")
    assert moved == [b"\x00", b"\x01"]


def test_a_store_from_a_newer_parlour_is_refused_untouched(home: Path) -> None:
    path = home / "parlour.db"
    _store_with_data(path)
    with open_store(path) as store:
        store.connection.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    before = path.read_bytes()
    files_before = sorted(p.name for p in home.iterdir())
    with pytest.raises(StoreTooNewError, match="newer version of Parlour"):
        open_store()
    assert path.read_bytes() == before
    assert sorted(p.name for p in home.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        n for n in files_before if not n.endswith(("-wal", "-shm"))
    ]


def _fill_disk(store: Store) -> None:
    """Simulate a full disk: SQLite may not grow the file past its current size."""
    pages = store.read("PRAGMA page_count")[0][0]
    store.connection.execute(f"PRAGMA max_page_count = {pages}")


def _free_disk(store: Store) -> None:
    store.connection.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_disk_keeps_the_reply_in_memory_and_saves_it_when_space_is_back(
    store: Store, clock: ManualClock
) -> None:
    conversation = create_conversation(store)
    user = add_user_message(store, conversation.id, "Tell me everything about rivers")
    writer = start_reply(store, conversation.id, user.id, interval_s=0.5, clock=clock)
    writer.append("Rivers begin as springs. ")
    assert writer.flush()
    _fill_disk(store)
    streamed = ["Rivers begin as springs. "]
    for number in range(40):
        chunk = f"Paragraph {number} about deltas, meanders and floods. " * 20
        streamed.append(chunk)
        clock.advance(0.6)
        writer.append(chunk)
    assert writer.problem == DISK_FULL_MESSAGE
    assert not writer.saved
    assert writer.text == "".join(streamed)
    # What is on disk is the last checkpoint that fitted, and the file is sound.
    stored = get_message(store, writer.message_id).content
    assert stored.startswith("Rivers begin as springs. ")
    assert writer.text.startswith(stored) and len(stored) < len(writer.text)
    assert check_integrity(store.connection) == []
    assert not writer.finish()
    assert writer.problem == DISK_FULL_MESSAGE
    _free_disk(store)
    clock.advance(0.6)
    assert writer.flush_if_due()
    assert writer.problem is None and writer.saved
    message = get_message(store, writer.message_id)
    assert (message.content, message.status, message.finish_reason) == ("".join(streamed), "done", "stop")
    assert check_integrity(store.connection) == []


def test_a_full_disk_refuses_the_user_message_with_a_plain_sentence(store: Store) -> None:
    conversation = create_conversation(store)
    _fill_disk(store)
    with pytest.raises(DiskFullError) as raised:
        for _ in range(200):
            add_user_message(store, conversation.id, "a long question " * 400)
    assert str(raised.value) == DISK_FULL_MESSAGE
    assert not store.connection.in_transaction
    assert check_integrity(store.connection) == []
    _free_disk(store)
    add_user_message(store, conversation.id, "after cleaning up")


def test_an_import_that_hits_a_full_disk_imports_nothing(store: Store) -> None:
    source_id = chat(store, *[(f"q{n} " * 300, f"a{n} " * 300) for n in range(20)])
    document = __import__("json").loads("".join(export_json(store, [source_id] * 5)))
    before = store.read("SELECT count(*) FROM conversations")[0][0]
    _fill_disk(store)
    with pytest.raises(DiskFullError):
        import_document(store, document)
    assert store.read("SELECT count(*) FROM conversations")[0][0] == before
    assert check_integrity(store.connection) == []
    _free_disk(store)
    assert len(import_document(store, document)) == 5


def test_a_truncated_store_with_a_pending_log_is_caught_by_the_probe(tmp_path: Path) -> None:
    # After a crash the write-ahead log is still there, so the size check stands aside (a crash
    # mid-checkpoint can leave the main file legitimately short); reading both ends of every
    # table must still notice the missing pages.
    original = tmp_path / "original.db"
    _store_with_data(original)
    copy_folder = tmp_path / "copy"
    copy_folder.mkdir()
    with open_store(original) as store:
        chat(store, ("one more", "still in the log"))
        for suffix in ("", "-wal"):
            (copy_folder / f"parlour.db{suffix}").write_bytes(Path(f"{original}{suffix}").read_bytes())
    copy = copy_folder / "parlour.db"
    assert (copy_folder / "parlour.db-wal").stat().st_size > 0
    os.truncate(copy, copy.stat().st_size // 2)
    with open_store(copy) as store:
        assert store.notice is not None and "damaged" in store.notice
        assert list_recent(store) == []


@pytest.fixture
def tiny_file_system(tmp_path: Path):
    """A real 2 MiB file system (tmpfs), where the machine lets us mount one (root on Linux)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root on Linux")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_really_full_file_system_loses_nothing(tiny_file_system: Path) -> None:
    store = open_store(tiny_file_system / "parlour.db")
    try:
        conversation = create_conversation(store)
        user = add_user_message(store, conversation.id, "Fill the disk, please")
        status = os.statvfs(tiny_file_system)
        filler = tiny_file_system / "someone-elses-big-file"
        filler.write_bytes(b"\0" * (status.f_bavail * status.f_frsize - 300_000))
        writer = start_reply(store, conversation.id, user.id, interval_s=0)
        for number in range(2000):
            writer.append(f"chunk {number} " * 50)
            if writer.problem:
                break
        assert writer.problem == DISK_FULL_MESSAGE
        assert writer.text.startswith(get_message(store, writer.message_id).content)
        with pytest.raises(DiskFullError):
            add_user_message(store, conversation.id, "another question " * 10000)
        assert check_integrity(store.connection) == []
        filler.unlink()  # the person frees some space
        assert writer.finish()
        assert get_message(store, writer.message_id).content == writer.text
    finally:
        store.close()
    with open_store(tiny_file_system / "parlour.db") as reopened:
        assert check_integrity(reopened.connection) == []


def _damage_an_interior_page(path: Path) -> None:
    """Overwrite the header of a table page that the cheap checks at open do not read (one in
    the middle of a B-tree), found by anything that reads the whole table."""
    original = path.read_bytes()
    page_size = int.from_bytes(original[16:18], "big")
    for page in range(1, len(original) // page_size):
        if original[page * page_size] != 0x0D:  # only leaf pages of tables
            continue
        damaged = bytearray(original)
        damaged[page * page_size : page * page_size + 12] = b"\xff" * 12
        path.write_bytes(bytes(damaged))
        if find_damage(path) is None and _probe(path) is None:
            return
    raise AssertionError("every table page is one the cheap checks read")


def _read_everything(store: Store) -> None:
    tables = store.read("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")
    for (name,) in tables:
        store.read(f'SELECT * FROM "{name}"')


def test_damage_found_later_is_checked_fully_and_moved_aside_at_the_next_start(home: Path) -> None:
    path = home / "parlour.db"
    _store_with_data(path)
    _damage_an_interior_page(path)
    with open_store() as store:
        assert store.notice is None  # the cheap checks at open cannot see it
        with pytest.raises(StoreDamagedError, match="restart Parlour to move it aside"):
            _read_everything(store)
    with open_store() as store:  # the restart the sentence asked for
        assert store.notice is not None and "moved to" in store.notice
        assert list_recent(store) == []
    assert [p for p in home.iterdir() if p.name.endswith(".damage-seen")] == []
    with open_store() as store:
        assert store.notice is None


def test_a_damage_mark_on_a_sound_store_is_dropped(home: Path) -> None:
    path = home / "parlour.db"
    _store_with_data(path)
    (home / "parlour.db.damage-seen").touch()  # e.g. a damaged page that SQLite since rewrote
    with open_store() as store:
        assert store.notice is None
        assert len(list_recent(store, limit=100)) == 30
    assert not (home / "parlour.db.damage-seen").exists()
