"""Writing a file so that it is either complete or absent, even after a power cut.

The new contents go to a temporary file beside the target, are flushed to the
drive, and are renamed over the target; the folder is flushed too, so the
rename itself survives. This is what keeps an export from coming back full of
NUL bytes after a reboot.

A rename replaces whatever the name pointed to, so the target is looked at
first: a named pipe, a device, a socket or a folder is refused (renaming over
/dev/null would turn it into a file of chats), a symlink is written through to
the file it names, and an existing file keeps its permissions and, where we may
set it, its owner. A new file is private (0600).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from engines.bounded_files import describe_kind

NEW_FILE_MODE = 0o600
_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class NotARegularFileError(OSError):
    """The target exists and is not a regular file (a FIFO, a device, a socket, a folder).

    str() is one sentence for the person.
    """


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


def writable_target(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """The real path to replace (symlinks followed) and what is there now (None when nothing is).

    Raises NotARegularFileError for anything but a regular file, PermissionError for a file we
    may not write: replacing it by renaming would get round its permissions.
    """
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target, None
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFileError(
            f"{os.fspath(path)} is {describe_kind(info.st_mode)}, not a regular file; give the name of a file to write."
        )
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
    return target, info


def write_atomically(path: str | os.PathLike[str], chunks: Iterable[str]) -> None:
    """Write the text chunks to `path` (UTF-8) all or nothing."""
    target, existing = writable_target(path)
    folder = target.parent
    temporary, fd = _create_temporary(folder, target.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            if existing is not None:
                _take_over_permissions(file.fileno(), existing)
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            flush_to_drive(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _flush_folder(folder)


def _create_temporary(folder: Path, name: str) -> tuple[Path, int]:
    # O_EXCL | O_NOFOLLOW: in a folder others can write to (/tmp), a name planted in advance (a
    # symlink to someone's file) is never followed or reused. 0600 until the rename.
    for _ in range(100):
        temporary = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
        try:
            return temporary, os.open(temporary, _TEMPORARY_FLAGS, NEW_FILE_MODE)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(folder))


def _take_over_permissions(fd: int, existing: os.stat_result) -> None:
    """Give the replacement the old file's owner (where we may) and permission bits."""
    if not hasattr(os, "fchmod"):
        return  # Windows: the new file inherits the folder's permissions
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:  # only root may give a file away; a group we belong to is allowed
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, existing.st_gid)
    os.fchmod(fd, stat.S_IMODE(existing.st_mode) & 0o777)


def _flush_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return  # Windows cannot open a folder as a file; NTFS journals the rename itself
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
