"""Reading small files a person or a model hands us, bounded by type and size before any byte is read.

A path can name a FIFO (opening it for reading waits for a writer that never comes),
/dev/zero or another device (reading never ends), a folder, or a file of gigabytes.
Every config, template and import Parlour reads goes through here: the file is
opened without blocking, checked to be a regular file of a sane size on the open
descriptor (so a swap between the check and the read changes nothing), and read
no further than the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engines.base import EngineError

KIB = 1024
MIB = 1024 * KIB


class FileRefusedError(EngineError):
    """The file is missing, not a regular file, too large or unreadable. str() is one sentence."""

    code = "invalid_request"


def describe_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def human_limit(limit: int) -> str:
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MB"
    if limit >= KIB and limit % KIB == 0:
        return f"{limit // KIB} KB"
    return f"{limit} bytes"


def read_bounded_bytes(path: str | os.PathLike[str], limit: int, what: str = "The file") -> bytes:
    """The whole content of the regular file at `path`, at most `limit` bytes, or FileRefusedError.

    `what` starts the sentence, e.g. "The template file" or "This model folder's config.json".
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise FileRefusedError(f"{what} does not exist ({name}).") from None
    except IsADirectoryError:
        raise FileRefusedError(f"{what} is a folder, not a file ({name}).") from None
    except OSError as err:
        raise FileRefusedError(f"{what} cannot be opened ({err.strerror or err.__class__.__name__}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefusedError(f"{what} is {describe_kind(info.st_mode)}, not a regular file ({name}).")
        if info.st_size > limit:
            raise FileRefusedError(f"{what} is larger than {human_limit(limit)}, so it was not read ({name}).")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 * MIB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while we read
            raise FileRefusedError(f"{what} is larger than {human_limit(limit)}, so it was not read ({name}).")
        return b"".join(chunks)
    except OSError as err:
        raise FileRefusedError(f"{what} cannot be read ({err.strerror or err.__class__.__name__}).") from None
    finally:
        os.close(fd)


def read_bounded_text(path: str | os.PathLike[str], limit: int, what: str = "The file") -> str:
    """As read_bounded_bytes, decoded as UTF-8 (a byte-order mark is dropped), or FileRefusedError."""
    data = read_bounded_bytes(path, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefusedError(f"{what} is not UTF-8 text.") from None


def regular_file_size(path: Path) -> int | None:
    """The size of `path` if it is a regular file (following links), else None; never opens it."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
