"""Finding the documents in a folder: every readable file below it, once, whatever links there are.

Links to files are followed; links to folders are followed too, but no folder is entered twice
(its device and inode are remembered), so a link back up the tree ends the walk there instead of
looping. Hidden files and folders (.git, .venv, .DS_Store) and folders of installed code
(node_modules, __pycache__) are skipped. Only regular files are taken: a FIFO would block the
reader forever and a device is not a document. A folder that cannot be read becomes a problem
sentence and the walk goes on.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "site-packages"})


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, through the links as found
    size: int
    mtime_ns: int


def walk_folder(
    root: Path,
    problems: list[tuple[str, str]],
    wanted: Callable[[Path], bool],
    seen: set[tuple[int, int]] | None = None,
) -> Iterator[FoundFile]:
    """The regular files under `root` that `wanted` accepts, in name order, each (device, inode) once.

    `seen` holds the folders' and files' (device, inode) already walked: share it between the folders
    of one collection, so a folder inside another, or a file linked from two places, is indexed once.
    Folders that cannot be read are appended to `problems` as (path, sentence).
    """
    seen = set() if seen is None else seen
    try:
        info = os.stat(root)
    except OSError as error:
        problems.append((str(root), _unreadable(root, error)))
        return
    if _first_time(seen, info):
        yield from _walk(root, problems, wanted, seen)


def _walk(
    root: Path, problems: list[tuple[str, str]], wanted: Callable[[Path], bool], seen: set[tuple[int, int]]
) -> Iterator[FoundFile]:
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            problems.append((folder, _unreadable(Path(folder), error)))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name in SKIPPED_FOLDERS:
                continue
            try:
                info = entry.stat()  # through a link, to what it points at
            except OSError:
                continue  # a dangling link, or gone since the listing: nothing to read
            if stat.S_ISDIR(info.st_mode):
                if _first_time(seen, info):
                    subfolders.append(entry.path)
            elif stat.S_ISREG(info.st_mode) and wanted(Path(entry.path)) and _first_time(seen, info):
                yield FoundFile(entry.path, info.st_size, info.st_mtime_ns)
        # Reversed onto the stack, so folders come out in name order too.
        pending.extend(reversed(subfolders))


def _first_time(seen: set[tuple[int, int]], info: os.stat_result) -> bool:
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _unreadable(folder: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"The folder {folder} is not there any more; add it again if it moved."
    reason = error.strerror or str(error)
    log.info("could not read the folder %s: %s", folder, reason)
    return f"Parlour could not read the folder {folder} ({reason}); check its permissions."
