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
import contextlib
import hashlib
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

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
        hub = _Server(("127.0.0.1", 0), _Handler, self, "hub")
        cdn = _Server(("127.0.0.1", 0), _Handler, self, "cdn")
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, hub: FakeHub, role: str) -> None:
        self.hub = hub
        self.role = role
        super().__init__(address, handler)


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RESOLVE_CACHE = re.compile(r"^/api/resolve-cache/models/(?P<repo>[^/]+/[^/]+)/(?P<rev>[0-9a-f]{40})/(?P<path>.+)$")
_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")
_BLOB = re.compile(r"^/blobs/(?P<sha>[0-9a-f]{64})$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `hub.requests`
        pass

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    # --- dispatch -------------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        hub = self.server.hub
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        hub.record(Recorded(self.server.role, method, path, query, {k.lower(): v for k, v in self.headers.items()}))
        status = hub.take_status_fault(path)
        if status is not None:
            self._error(status, "Injected", f"Injected status {status}.")
            return
        if self.server.role == "cdn":
            match = _BLOB.match(path)
            file = self._file_by_sha(match["sha"]) if match else None
            if file is None:
                self._error(404, "EntryNotFound", "No such blob.")
            else:
                self._send_file(method, file, etag=file.sha256)
            return
        if not self._authorised():
            return
        if path == "/api/models":
            self._search(query)
        elif match := _INFO.match(path):
            self._info(match["repo"], match["rev"], query)
        elif match := _RESOLVE.match(path):
            self._resolve(method, match["repo"], match["rev"], match["path"])
        elif match := _RESOLVE_CACHE.match(path):
            self._resolve_cache(method, match["repo"], match["rev"], match["path"])
        else:
            self._error(404, None, "Not found.")

    def _authorised(self) -> bool:
        token = self._token()
        if token is not None and token not in self.server.hub.valid_tokens:
            self._error(401, None, "Invalid credentials in Authorization header")
            return False
        return True

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[7:] if auth.startswith("Bearer ") else None

    def _repo(self, repo_id: str) -> HubRepo | None:
        repo = self.server.hub.repos.get(repo_id)
        if repo is None:
            # As the Hub does: 401 without a token (a private repo's existence is not revealed).
            status = 404 if self._token() else 401
            self._error(status, "RepoNotFound", "Repository not found")
        return repo

    def _file_by_sha(self, sha: str) -> HubFile | None:
        for repo in self.server.hub.repos.values():
            for f in repo.files:
                if f.lfs and f.sha256 == sha:
                    return f
        return None

    # --- the API ----------------------------------------------------------------------------------------

    def _search(self, query: dict[str, list[str]]) -> None:
        hub = self.server.hub
        found = list(hub.repos.values())
        for tag in query.get("filter", []):
            found = [r for r in found if tag in r.tags or r.library_name == tag]
        if text := (query.get("search") or [""])[0].lower():
            found = [r for r in found if text in r.repo_id.lower()]
        if author := (query.get("author") or [""])[0]:
            found = [r for r in found if r.repo_id.split("/")[0] == author]
        sort = (query.get("sort") or [""])[0]
        keys = {"downloads": lambda r: r.downloads, "likes": lambda r: r.likes,
                "trendingScore": lambda r: r.trending, "createdAt": lambda r: r.created_at,
                "lastModified": lambda r: r.last_modified}  # fmt: skip
        if sort in keys:
            found.sort(key=keys[sort], reverse=True)
        start = int((query.get("cursor") or ["0"])[0])
        limit = int((query.get("limit") or ["1000"])[0])
        page = found[start : start + limit]
        headers = {}
        if start + limit < len(found):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["cursor"] = [str(start + limit)]
            headers["Link"] = f'<{hub.url}/api/models?{urlencode(params, doseq=True)}>; rel="next"'
        self._json([r.list_item() for r in page], headers)

    def _info(self, repo_id: str, rev: str | None, query: dict[str, list[str]]) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        if rev is not None and rev not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return
        blobs = (query.get("blobs") or ["false"])[0].lower() in ("true", "1")
        self._json(repo.info(blobs))

    def _resolve(self, method: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        if rev not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return
        file = repo.file(path)
        if file is None:
            self._error(404, "EntryNotFound", f"{path} does not exist on \"{rev}\"")
            return
        if repo.gated and self._token() not in self.server.hub.granted_tokens:
            status = 403 if self._token() else 401
            self._error(status, "GatedRepo", f"Access to model {repo_id} is restricted and you are not in the "
                        f"authorized list. Visit https://huggingface.co/{repo_id} to ask for access.")  # fmt: skip
            return
        common = {"X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes"}
        if file.lfs:
            # A signed CDN address on another origin, as the Hub's LFS redirects are.
            location = f"{self.server.hub.cdn_url}/blobs/{file.sha256}?X-Amz-Expires=3600&X-Amz-Signature=fake"
            self._redirect(302, location, {**common, "ETag": f'"{file.sha256}"', "X-Linked-Size": str(file.size),
                                           "X-Linked-Etag": f'"{file.sha256}"'})  # fmt: skip
        else:
            location = f"/api/resolve-cache/models/{repo_id}/{repo.sha}/{quote(path)}"
            self._redirect(307, location, {**common, "ETag": f'"{file.git_sha1}"'})

    def _resolve_cache(self, method: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        file = repo.file(path)
        if file is None or file.lfs or rev != repo.sha:
            self._error(404, "EntryNotFound", f"{path} does not exist")
            return
        self._send_file(method, file, etag=file.git_sha1, extra={"X-Repo-Commit": repo.sha})

    # --- responses --------------------------------------------------------------------------------------

    def _json(self, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, status: int, location: str, headers: dict[str, str]) -> None:
        body = f"Found. Redirecting to {location}".encode()
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, method: str, file: HubFile, etag: str, extra: dict[str, str] | None = None) -> None:
        size = file.size
        start, end = 0, size - 1
        ranged = self.headers.get("Range")
        if ranged:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", ranged.strip())
            if not match or int(match[1]) >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{etag}"')
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if method == "HEAD":
            return
        self._stream(file, start, end + 1)

    def _stream(self, file: HubFile, start: int, stop: int) -> None:
        hub = self.server.hub
        faults = hub.faults
        corrupt_at = (start + stop) // 2 if file.lfs and hub.take_once("corrupt") else None
        drop_at = None
        if faults.drop_after_bytes is not None and faults.drops > 0 and stop - start > faults.drop_after_bytes:
            drop_at = start + faults.drop_after_bytes if hub.take_once("drops") else None
        stall_at = start + faults.stall_after_bytes if faults.stall_after_bytes is not None else None
        rate = faults.throttle_bytes_per_s
        began = time.monotonic()
        sent = 0
        position = start
        try:
            while position < stop:
                limit = stop
                for mark in (drop_at, stall_at):
                    if mark is not None and position < mark < limit:
                        limit = mark
                chunk = file.read(position, min(SEND_CHUNK, limit - position))
                if corrupt_at is not None and position <= corrupt_at < position + len(chunk):
                    flipped = bytearray(chunk)
                    flipped[corrupt_at - position] ^= 0xFF
                    chunk = bytes(flipped)
                self.wfile.write(chunk)
                position += len(chunk)
                sent += len(chunk)
                if rate:
                    ahead = began + sent / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                if position == drop_at:
                    self._drop()
                    return
                if position == stall_at and position < stop:
                    hub.release_stall.wait(timeout=120)
                    self._drop()
                    return
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            hub.count_sent(file.path, sent)

    def _drop(self) -> None:
        """Reset the connection, as a lost link does: bytes still in flight are lost, not delivered."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


# --- ready-made repositories ---------------------------------------------------------------------------

GGUF_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
MLX_REPO = "mlx-community/Tiny-Llama-4bit"
SPLIT_REPO = "parlour-tests/Split-GGUF"
GATED_REPO = "gated-org/Gated-GGUF"

README = """---
license: apache-2.0
library_name: gguf
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
tags:
- gguf
---

# SmolLM2-135M-Instruct GGUF

![banner](https://example.invalid/banner.png)

SmolLM2 is a family of compact language models available in three sizes: 135M, 360M, and 1.7B
parameters. They are capable of solving a wide range of tasks while being lightweight enough to
run on-device.

## Quantizations

| File | Quant |
|------|-------|
| SmolLM2-135M-Instruct.Q4_1.gguf | Q4_1 |
"""


def starter_repo(starter: Path) -> HubRepo:
    """The starter GGUF as one quantization, with a small second one split in two parts."""
    header = starter.read_bytes()[: 2 * 1024 * 1024]
    files = [
        HubFile(".gitattributes", data=b"*.gguf filter=lfs diff=lfs merge=lfs -text\n"),
        HubFile("README.md", data=README.encode()),
        HubFile("SmolLM2-135M-Instruct.Q4_1.gguf", source=starter, lfs=True),
        # A pretend Q8_0 in two shards: the header of the real file, then filler.
        HubFile("Q8_0/SmolLM2-135M-Instruct-Q8_0-00001-of-00002.gguf", data=header, lfs=True),
        HubFile("Q8_0/SmolLM2-135M-Instruct-Q8_0-00002-of-00002.gguf", data=b"\x01" * 300_000, lfs=True),
    ]
    return HubRepo(
        GGUF_REPO,
        files,
        tags=["gguf", "llama", "text-generation", "license:apache-2.0", "conversational"],
        library_name="gguf",
        downloads=5000,
        likes=40,
        trending=3,
        card_data={"license": "apache-2.0", "library_name": "gguf",
                   "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct"},  # fmt: skip
        gguf={"total": 134515008, "architecture": "llama", "context_length": 8192,
              "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},  # fmt: skip
    )


def tiny_mlx_repo() -> HubRepo:
    """A small MLX folder (4-bit, two layers) built in memory: config, weights, tokenizer."""
    config = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 256, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
        "torch_dtype": "bfloat16", "quantization": {"group_size": 64, "bits": 4},
    }  # fmt: skip
    weights = _safetensors({"model.embed_tokens.weight": ("U32", [256, 8]),
                            "model.embed_tokens.scales": ("BF16", [256, 1]),
                            "model.embed_tokens.biases": ("BF16", [256, 1]),
                            "model.norm.weight": ("BF16", [64])})  # fmt: skip
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}
    files = [
        HubFile(".gitattributes", data=b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
        HubFile("README.md", data=b"---\nlicense: mit\n---\n\n# Tiny Llama 4-bit\n\nA test model.\n"),
        HubFile("config.json", data=json.dumps(config, indent=1).encode()),
        HubFile("model.safetensors", data=weights, lfs=True),
        HubFile("tokenizer.json", data=json.dumps(tokenizer).encode()),
        HubFile("tokenizer_config.json", data=json.dumps({"chat_template": "{{ messages }}"}).encode()),
        HubFile("modeling_custom.py", data=b"# code Parlour never downloads\n"),
    ]
    return HubRepo(MLX_REPO, files, tags=["mlx", "llama", "text-generation", "license:mit"], library_name="mlx",
                   downloads=900, likes=7, trending=9, card_data={"license": "mit", "library_name": "mlx"},
                   config={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
                   safetensors={"parameters": {"U32": 2048, "BF16": 576}, "total": 2624})  # fmt: skip


def gated_repo(starter: Path) -> HubRepo:
    head = starter.read_bytes()[: 2 * 1024 * 1024]
    return HubRepo(GATED_REPO, [HubFile("Gated.Q4_1.gguf", data=head, lfs=True)], tags=["gguf"],
                   library_name="gguf", gated="manual", downloads=10, card_data={"license": "other"})  # fmt: skip


def _safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    sizes = {"U32": 4, "BF16": 2, "F16": 2, "F32": 4}
    header: dict[str, Any] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + count * sizes[dtype]]}
        offset += count * sizes[dtype]
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + os.urandom(offset)


def standard_hub(starter: Path) -> FakeHub:
    return FakeHub([starter_repo(starter), tiny_mlx_repo(), gated_repo(starter)])


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Hub stand-in until killed.")
    parser.add_argument("--starter", action="store_true", help="serve the starter GGUF repositories")
    parser.add_argument("--throttle-mb-s", type=float, default=None)
    parser.add_argument("--drop-after", type=int, default=None, help="drop the connection once after N body bytes")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from app.library.starter import starter_model_path

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
                print(json.dumps({"body_bytes_sent": hub.body_bytes_sent,
                                  "requests": hub.request_lines()}), flush=True)  # fmt: skip
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
