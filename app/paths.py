"""Where Parlour keeps its files on this machine, and keeping them private.

`PARLOUR_HOME` overrides everything (tests point it at a temporary folder).

Chats, logs and settings are the user's alone: the first time a process asks for
the data folder, the folder is made 0700, everything already in it is tightened
(folders 0700, files 0600: an older Parlour left them 0755/0644), and the process
umask becomes 0o077 so that every file created afterwards (SQLite's -wal and -shm,
logs, exports, downloads, the engine host's files) starts private.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from pathlib import Path

PRIVATE_UMASK = 0o077
# Permission bits nobody but the owner may have on anything in the data folder.
_OTHERS = 0o077

_private_folders: set[str] = set()
_private_lock = threading.Lock()


def data_dir() -> Path:
    """The folder for the database, models and settings (created on first use, private to the user)."""
    override = os.environ.get("PARLOUR_HOME")
    if override:
        path = Path(override).expanduser()
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "Parlour"
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Parlour"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "parlour"
    key = str(path)
    if key not in _private_folders:
        with _private_lock:
            if key not in _private_folders:
                _restrict_umask()
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
                make_private(path)
                _private_folders.add(key)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def models_dir() -> Path:
    """Downloaded and imported models, laid out as publisher/repository/files."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def prompt_cache_dir() -> Path:
    """Saved KV caches of conversations, so the next message after a restart skips re-reading the chat."""
    path = data_dir() / "prompt-cache"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def log_dir() -> Path:
    """Log files: tracebacks go here, never to a dialog."""
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _restrict_umask() -> None:
    if sys.platform == "win32":
        return  # permissions there are ACLs inherited from the user's profile folder
    # Only ever add bits: a user whose umask is stricter still keeps it.
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)


def make_private(folder: Path) -> None:
    """Take group and other permissions off `folder` and everything under it.

    Symlinks are never followed (Linux cannot chmod a link itself, and its target is not ours),
    files with more than one hard link are left alone (`parlour models import` may link the
    user's own file, whose mode must not change), and so is anything we do not own. A folder
    shared by design (the home folder, /, a sticky or world-writable folder such as /tmp) is
    never walked: PARLOUR_HOME pointing there must not change other programs' files.
    """
    if sys.platform == "win32":
        return
    try:
        info = os.lstat(folder)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode) or _is_shared(folder, info):
        return
    _tighten(folder, info)
    pending = [os.fspath(folder)]
    while pending:
        current = pending.pop()
        try:
            entries = os.scandir(current)
        except OSError:
            continue  # unreadable or gone: nothing we can fix there
        with entries:
            for entry in entries:
                try:
                    if entry.is_symlink():
                        continue
                    entry_info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(entry_info.st_mode):
                    _tighten(entry.path, entry_info)
                    pending.append(entry.path)
                elif stat.S_ISREG(entry_info.st_mode) and entry_info.st_nlink == 1:
                    _tighten(entry.path, entry_info)


def _tighten(path: str | os.PathLike[str], info: os.stat_result) -> None:
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _OTHERS or info.st_uid != os.geteuid():
        return
    # A read-only file system, say, refuses: the umask still keeps new files private.
    with contextlib.suppress(OSError):
        os.chmod(path, mode & ~_OTHERS)


def _is_shared(folder: Path, info: os.stat_result) -> bool:
    if info.st_mode & (stat.S_ISVTX | stat.S_IWOTH):
        return True
    try:
        resolved = folder.resolve()
        return resolved == Path(resolved.anchor) or resolved == Path.home().resolve()
    except (OSError, RuntimeError):
        return True
