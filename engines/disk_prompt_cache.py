"""The prompt cache on disk: a conversation's KV state kept across restarts and model swaps.

When a long enough reply finishes, the engine writes the KV state of the prompt and reply to a
folder in the data folder; the next message of that conversation, even from a new process, restores
it and reads only what is new instead of the whole history.

An entry is two files, named by the loaded model's key and a hash of its tokens:
- `KEY-HASH.<engine suffix>`: the engine's own state (llama.cpp's state data, mlx-lm's prompt cache);
- `KEY-HASH.meta`: JSON saying what the payload is: format version, key, tokens, payload size and
  CRC-32. It is written last, so a payload without it is an interrupted write.

The key names the model file (path, size, modification time) and the load settings that shape the
KV cache, so a changed model file or another KV type never matches. A file that does not parse,
whose size or checksum is wrong, or that the engine refuses, is deleted, never trusted. The folder
is bounded in bytes: after each write the least recently used entries go (use touches the meta).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.prompt_cache import common_prefix

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_LIMIT = 8 << 20  # a meta holds at most a context's tokens as JSON; far past any real one
# Entries shorter than this are not worth a file: re-reading them takes well under a second.
MIN_TOKENS = 256
CHUNK = 8 << 20
ABANDONED_AFTER_S = 600  # a half-written file this old is left over from a crash


def model_key(engine: str, model_path: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What a saved state depends on: the engine, the model file as it is now, the KV-shaping settings."""
    stat = os.stat(model_path)
    if os.path.isdir(model_path):  # an MLX folder: its weights decide
        weights = sorted(Path(model_path).glob("*.safetensors"))
        sizes = [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights]
    else:
        sizes = [(os.path.basename(model_path), stat.st_size, stat.st_mtime_ns)]
    return {
        "engine": engine,
        "model": os.path.realpath(model_path),
        "files": sizes,
        "settings": settings,
    }


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class CacheEntry:
    meta: Path
    payload: Path
    tokens: tuple[int, ...]
    payload_bytes: int
    crc: int


class DiskPromptCache:
    """The saved states of one loaded model, found by longest shared token prefix."""

    def __init__(self, folder: Path, max_bytes: int, key: dict[str, Any], suffix: str) -> None:
        self.folder, self.max_bytes, self.suffix = folder, max_bytes, suffix
        self.key = key
        self.digest = key_digest(key)
        self._entries: dict[Path, CacheEntry] = {}
        self._lock = threading.Lock()  # the writer thread adds entries while the engine looks them up
        self._writer: threading.Thread | None = None
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
        self._scan()

    # --- finding ----------------------------------------------------------------------------------

    def _scan(self) -> None:
        """Index this model's entries; delete ones that are damaged, half-written or for an older
        version of this model file."""
        for meta in self.folder.glob(f"{self.digest}-*.meta"):
            entry = self._read_meta(meta)
            if entry is None:
                self._delete(meta)
            else:
                self._entries[meta] = entry
        now = time.time()
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime < ABANDONED_AFTER_S:
                    continue  # perhaps another Parlour process writing it right now
                if path.suffix == ".tmp" or (path.suffix != ".meta" and not path.with_suffix(".meta").exists()):
                    self._delete(path)  # an interrupted write, or a file that is not ours
        self._drop_older_versions()

    def _drop_older_versions(self) -> None:
        """Entries saved for this model path under another key belong to a file that has changed since."""
        for meta in self.folder.glob("*.meta"):
            if meta.name.startswith(self.digest):
                continue
            try:
                data = json.loads(meta.read_bytes()[:META_LIMIT])
                same_model = data["key"]["model"] == self.key["model"] and data["key"]["engine"] == self.key["engine"]
                same_settings = data["key"]["settings"] == self.key["settings"]
            except (OSError, ValueError, KeyError, TypeError):
                same_model, same_settings = True, False  # unreadable: not worth keeping
            if same_model and same_settings:
                self._delete(meta)

    def _read_meta(self, meta: Path) -> CacheEntry | None:
        try:
            with open(meta, "rb") as handle:
                raw = handle.read(META_LIMIT + 1)
            if len(raw) > META_LIMIT:
                return None
            data = json.loads(raw)
            if data.get("version") != FORMAT_VERSION or key_digest(data["key"]) != self.digest:
                return None
            tokens = data["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(t, int) and t >= 0 for t in tokens):
                return None
            payload = meta.with_suffix(self.suffix)
            size, crc = int(data["payload_bytes"]), int(data["crc32"])
            if payload.stat().st_size != size:
                return None
            return CacheEntry(meta, payload, tuple(tokens), size, crc)
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def best_match(self, ids: Sequence[int]) -> tuple[int, CacheEntry | None]:
        """The entry sharing the longest prefix with `ids`, and that prefix's length."""
        best_len, best = 0, None
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            shared = common_prefix(entry.tokens, ids)
            if shared > best_len:
                best_len, best = shared, entry
        return best_len, best

    def verified_payload(self, entry: CacheEntry) -> Path | None:
        """The entry's payload after checking its size and checksum; None (and the entry deleted) if
        it is damaged."""
        try:
            crc = 0
            size = 0
            with open(entry.payload, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    crc = zlib.crc32(chunk, crc)
                    size += len(chunk)
            if size == entry.payload_bytes and crc == entry.crc:
                os.utime(entry.meta)  # recently used: evicted last
                return entry.payload
            log.warning("a saved prompt cache was damaged (%s); deleted", entry.payload.name)
        except OSError as err:
            log.warning("a saved prompt cache could not be read (%s); deleted", err)
        self.forget(entry)
        return None

    def forget(self, entry: CacheEntry) -> None:
        """Delete an entry, e.g. one the engine refused."""
        with self._lock:
            self._entries.pop(entry.meta, None)
        self._delete(entry.meta)

    # --- saving -----------------------------------------------------------------------------------

    def save(self, tokens: Sequence[int], write_payload: Callable[[Path], None]) -> None:
        """Write an entry now (on the calling thread): `write_payload(path)` writes the engine's state."""
        name = hashlib.sha256(json.dumps(list(tokens)).encode()).hexdigest()[:24]
        meta = self.folder / f"{self.digest}-{name}.meta"
        payload = meta.with_suffix(self.suffix)
        temporary = payload.with_name(payload.name + ".tmp")
        try:
            write_payload(temporary)
            if not temporary.exists() and temporary.with_name(temporary.name + self.suffix).exists():
                temporary.with_name(temporary.name + self.suffix).rename(temporary)  # a writer that adds its suffix
            os.chmod(temporary, 0o600)  # a conversation's state is as private as the conversation
            crc, size = _crc_and_size(temporary)
            os.replace(temporary, payload)
            data = {
                "version": FORMAT_VERSION,
                "key": self.key,
                "tokens": list(tokens),
                "payload_bytes": size,
                "crc32": crc,
            }
            meta_temporary = meta.with_name(meta.name + ".tmp")
            descriptor = os.open(meta_temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data))
            os.replace(meta_temporary, meta)
        except OSError as err:  # a full disk costs the saved state, nothing else
            log.warning("could not save the prompt cache: %s", err)
            for path in (temporary, payload, meta.with_name(meta.name + ".tmp")):
                with contextlib.suppress(OSError):
                    path.unlink()
            return
        entry = CacheEntry(meta, payload, tuple(tokens), size, crc)
        with self._lock:
            # An entry whose tokens are a prefix of this one's is now redundant (the same chat, earlier).
            redundant = [e for e in self._entries.values() if len(e.tokens) <= len(entry.tokens)]
            redundant = [e for e in redundant if entry.tokens[: len(e.tokens)] == e.tokens and e.meta != meta]
            for old in redundant:
                self._entries.pop(old.meta, None)
            self._entries[meta] = entry
        for old in redundant:
            self._delete(old.meta)
        self._evict()

    def save_in_background(self, tokens: Sequence[int], write_payload: Callable[[Path], None]) -> None:
        """Like save, on a thread of its own; a save still running is waited for first, so two never race."""
        self.wait()
        self._writer = threading.Thread(
            target=self.save, args=(list(tokens), write_payload), name="prompt-cache-writer", daemon=True
        )
        self._writer.start()

    def wait(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _evict(self) -> None:
        """Delete the least recently used entries (of any model) until the folder fits its budget."""
        metas = []
        for meta in self.folder.glob("*.meta"):
            with contextlib.suppress(OSError):
                size = meta.stat().st_size + sum(
                    p.stat().st_size for p in self.folder.glob(meta.stem + ".*") if p != meta
                )
                metas.append((meta.stat().st_mtime_ns, size, meta))
        total = sum(size for _, size, _ in metas)
        for _, size, meta in sorted(metas):
            if total <= self.max_bytes:
                break
            with self._lock:
                self._entries.pop(meta, None)
            self._delete(meta)
            total -= size

    def _delete(self, path: Path) -> None:
        """Delete a file, and with a meta its payload (whatever the engine's suffix)."""
        targets = [path]
        if path.suffix == ".meta":
            targets += [p for p in self.folder.glob(path.stem + ".*") if p != path]
        for target in targets:
            with contextlib.suppress(OSError):
                target.unlink()


def _crc_and_size(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size
