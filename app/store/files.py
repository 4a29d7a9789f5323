"""Writing a file so that it is either complete or absent, even after a power cut.

The new contents go to a temporary file beside the target, are flushed to the
drive, and are renamed over the target; the folder is flushed too, so the
rename itself survives. This is what keeps an export from coming back full of
NUL bytes after a reboot.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path


def flush_to_drive(fd: int) -> None:
    """fsync, but on macOS F_FULLFSYNC: plain fsync there leaves data in the drive's cache."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass  # some file systems (network, FAT) refuse it; fsync is the best they offer
    os.fsync(fd)


def write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write the text chunks to `path` (UTF-8) all or nothing."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            flush_to_drive(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _flush_folder(path.parent)


def _flush_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return  # Windows cannot open a folder as a file; NTFS journals the rename itself
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
