"""One Parlour window owns the store at a time: an exclusive lock on a file in the data folder.

Chosen over "both windows work": two windows editing the same conversation would
each show a stale thread, and `mark_interrupted_replies` at start would cut off a
reply the other window is still streaming. So the app takes this lock at start;
if it is held, the app asks the running window to come forward (the UI's job)
and exits. The lock belongs to the open file, so the operating system releases
it when the process ends in any way, kill -9 included: no stale lock to clean up.

The store itself stays safe for several processes at once (WAL, a busy timeout,
write transactions that take the lock up front; see db.py). `parlour export`,
`import` and `conversations` rely on that and do not take this lock, so they work
while the app is open.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.paths import data_dir
from app.store.errors import StoreInUseError

LOCK_FILE_NAME = "parlour.lock"


class InstanceLock:
    """Held for the life of the app; `release` (or process exit) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path | None = None) -> InstanceLock:
        """Take the lock without waiting; StoreInUseError if another Parlour holds it."""
        path = data_dir() / LOCK_FILE_NAME if path is None else path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError as error:
            os.close(fd)
            raise StoreInUseError("Parlour is already open; switch to its window.") from error
        # The PID is only for people reading the file; the lock itself is what counts.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
