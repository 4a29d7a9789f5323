"""A local stand-in for the Hugging Face Hub, for tests and benchmarks.

It speaks the part of the Hub that huggingface_hub 2.4 really calls, as the Hub
answers it:

- GET  /api/models                      search: filter, search, author, sort, limit, cursor;
                                        a `Link: <...>; rel="next"` header when more remain
- GET  /api/models/{repo}[/revision/{rev}]   model info; `blobs=true` adds size, blobId and lfs
- HEAD|GET /{repo}/resolve/{rev}/{path}  a regular file: 307 to /api/resolve-cache/... (relative);
                                        an LFS file: 302 to the CDN (another origin) with
                                        X-Linked-Size, X-Linked-Etag, X-Repo-Commit
- HEAD|GET /api/resolve-cache/models/{repo}/{commit}/{path}, and the CDN's /blobs/{sha256}:
                                        ETag, Accept-Ranges, Range -> 206 with Content-Range

Errors carry X-Error-Code / X-Error-Message like the Hub's (RepoNotFound, EntryNotFound,
RevisionNotFound, GatedRepo). Faults can be injected: a dropped connection mid-file,
wrong bytes, a stall, a throttled link, or any status on any path. Every request is
recorded, so a test can check that nothing beyond the needed requests was made.

Two servers on 127.0.0.1 (random ports): the Hub itself and its CDN, so that, as on the
real Hub, the file redirect leaves the Hub's origin and carries no Authorization header.

Run as a program (`python -m tests.support.fake_hub --starter`) it serves until killed and
prints its endpoint and counters as JSON lines; the download benchmark uses that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

SEND_CHUNK = 1024 * 1024
POINTER_SIZE = 134  # an LFS pointer file's size, as the Hub reports it


@dataclass
class HubFile:
    """One file in a repository: small ones inline, big ones read from disk."""

    path: str
    data: bytes | None = None
    source: Path | None = None
    lfs: bool = False
    declared_size: int | None = None  # pretend to be this big in the metadata (the full-disk check)
    _sha256: str | None = None
    _git_sha1: str | None = None

    @property
    def size(self) -> int:
        if self.declared_size is not None:
            return self.declared_size
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]

    def read(self, offset: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        with open(self.source, "rb") as stream:  # type: ignore[arg-type]
            stream.seek(offset)
            return stream.read(length)

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = _digest(self, hashlib.sha256())
        return self._sha256

    @property
    def git_sha1(self) -> str:
        if self._git_sha1 is None:
            self._git_sha1 = _digest(self, hashlib.sha1(f"blob {self.size}\0".encode()))
        return self._git_sha1


_DIGESTS: dict[tuple[str, str, int, float], str] = {}  # big files are hashed once per process


def _digest(file: HubFile, hasher: Any) -> str:
    if file.data is not None:
        hasher.update(file.data)
        return hasher.hexdigest()
    stat = file.source.stat()  # type: ignore[union-attr]
    key = (str(file.source), hasher.name, stat.st_size, stat.st_mtime)
    if key not in _DIGESTS:
        with open(file.source, "rb") as stream:  # type: ignore[arg-type]
            while chunk := stream.read(SEND_CHUNK):
                hasher.update(chunk)
        _DIGESTS[key] = hasher.hexdigest()
    return _DIGESTS[key]


@dataclass
class HubRepo:
    repo_id: str
    files: list[HubFile]
    tags: list[str] = field(default_factory=list)
    library_name: str | None = None
    downloads: int = 0
    likes: int = 0
    trending: int = 0
    gated: bool | str = False
    card_data: dict[str, Any] = field(default_factory=dict)
    gguf: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    safetensors: dict[str, Any] | None = None
    created_at: str = "2024-11-01T10:00:00.000Z"
    last_modified: str = "2024-12-01T10:00:00.000Z"

    @property
    def sha(self) -> str:
        return hashlib.sha1(("commit:" + self.repo_id).encode()).hexdigest()

    def file(self, path: str) -> HubFile | None:
        return next((f for f in self.files if f.path == path), None)

    def list_item(self) -> dict[str, Any]:
        return {
            "_id": self.sha[:24],
            "id": self.repo_id,
            "likes": self.likes,
            "trendingScore": self.trending,
            "private": False,
            "downloads": self.downloads,
            "tags": self.tags,
            "pipeline_tag": "text-generation",
            "library_name": self.library_name,
            "createdAt": self.created_at,
            "modelId": self.repo_id,
        }

    def info(self, blobs: bool) -> dict[str, Any]:
        siblings = []
        for f in self.files:
            entry: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                entry["size"] = f.size
                entry["blobId"] = hashlib.sha1(f.path.encode()).hexdigest() if f.lfs else f.git_sha1
                if f.lfs:
                    entry["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": POINTER_SIZE}
            siblings.append(entry)
        data: dict[str, Any] = {
            **self.list_item(),
            "author": self.repo_id.split("/")[0],
            "sha": self.sha,
            "lastModified": self.last_modified,
            "gated": self.gated,
            "disabled": False,
            "cardData": self.card_data,
            "siblings": siblings,
            "spaces": [],
            "usedStorage": sum(f.size for f in self.files),
        }
        if self.config is not None:
            data["config"] = self.config
        if self.gguf is not None:
            data["gguf"] = self.gguf
        if self.safetensors is not None:
            data["safetensors"] = self.safetensors
        return data


@dataclass
class Recorded:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def range(self) -> str | None:
        return self.headers.get("range")


@dataclass
class Faults:
    """What goes wrong, and how often. Counters count down as faults fire."""

    drop_after_bytes: int | None = None  # close the connection after this many body bytes...
    drops: int = 0  # ...this many times
    corrupt: int = 0  # serve this many file bodies with one byte flipped
    stall_after_bytes: int | None = None  # stop sending (keep the connection open) after this many bytes
    throttle_bytes_per_s: float | None = None
    statuses: list[tuple[str, int, int]] = field(default_factory=list)  # (path regex, status, times; -1 always)


class FakeHub:
    def __init__(self, repos: list[HubRepo] | None = None) -> None:
        self.repos: dict[str, HubRepo] = {r.repo_id: r for r in repos or []}
        self.valid_tokens: set[str] = set()
        self.granted_tokens: set[str] = set()  # tokens whose owner accepted the gated repos' licenses
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.body_bytes_sent: dict[str, int] = {}  # file path -> bytes of body sent, every attempt counted
        self.release_stall = threading.Event()
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self.url = ""
        self.cdn_url = ""

    # --- life ---------------------------------------------------------------------------------------

    def start(self) -> FakeHub:
        from tests.support.fake_hub_http import HubHandler, HubServer

        hub = HubServer(("127.0.0.1", 0), HubHandler, self, "hub")
        cdn = HubServer(("127.0.0.1", 0), HubHandler, self, "cdn")
        self._servers = [hub, cdn]
        self.url = f"http://127.0.0.1:{hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{cdn.server_address[1]}"
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Like pulling the cable: no new connection is accepted, then open ones are dropped."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []
        self.release_stall.set()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers for tests ----------------------------------------------------------------------------

    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def fail(self, path_regex: str, status: int, times: int = -1) -> None:
        with self._lock:
            self.faults.statuses.append((path_regex, status, times))

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.body_bytes_sent.clear()

    def request_lines(self) -> list[str]:
        """'METHOD server path' for each request, in order (the query left out)."""
        return [f"{r.method} {r.server} {r.path}" for r in self.requests]

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def count_sent(self, path: str, count: int) -> None:
        with self._lock:
            self.body_bytes_sent[path] = self.body_bytes_sent.get(path, 0) + count

    def take_status_fault(self, path: str) -> int | None:
        with self._lock:
            for index, (pattern, status, times) in enumerate(self.faults.statuses):
                if re.search(pattern, path):
                    if times > 0:
                        times -= 1
                        if times == 0:
                            del self.faults.statuses[index]
                        else:
                            self.faults.statuses[index] = (pattern, status, times)
                    return status
        return None

    def take_once(self, name: str) -> bool:
        """Consume one firing of a counted fault ('drops' or 'corrupt')."""
        with self._lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Hub stand-in until killed.")
    parser.add_argument("--starter", action="store_true", help="serve the starter GGUF repositories")
    parser.add_argument("--throttle-mb-s", type=float, default=None)
    parser.add_argument("--drop-after", type=int, default=None, help="drop the connection once after N body bytes")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from app.library.starter import starter_model_path
    from tests.support.fake_hub_repos import standard_hub, tiny_mlx_repo

    starter = starter_model_path()
    hub = standard_hub(starter) if args.starter and starter else FakeHub([tiny_mlx_repo()])
    if args.throttle_mb_s:
        hub.faults.throttle_bytes_per_s = args.throttle_mb_s * 1_000_000
    if args.drop_after is not None:
        hub.faults.drop_after_bytes, hub.faults.drops = args.drop_after, 1
    for repo in hub.repos.values():
        for f in repo.files:
            if f.lfs:
                _ = f.sha256  # hash before serving, so the first request is not slowed
    hub.start()
    print(json.dumps({"endpoint": hub.url, "cdn": hub.cdn_url}), flush=True)
    try:
        # Commands on stdin, one a line: "stats", "clear", "throttle MB_PER_S" (0: none), "drop BYTES".
        for line in sys.stdin:
            command, _, value = line.strip().partition(" ")
            if command == "stats":
                print(json.dumps({"body_bytes_sent": hub.body_bytes_sent, "requests": hub.request_lines()}), flush=True)
            elif command == "clear":
                hub.clear_requests()
            elif command == "throttle":
                hub.faults.throttle_bytes_per_s = float(value) * 1_000_000 or None
            elif command == "drop":
                hub.faults.drop_after_bytes, hub.faults.drops = int(value), 1
    finally:
        hub.stop()


if __name__ == "__main__":
    main()
