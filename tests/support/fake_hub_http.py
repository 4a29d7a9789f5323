"""The HTTP side of the Hub stand-in: routes, the Hub's headers and errors, ranges and faults.

State (repositories, faults, the request log) lives in tests.support.fake_hub.FakeHub.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.support.fake_hub import SEND_CHUNK, HubFile, HubRepo, Recorded

SEND_BUFFER = 1024 * 1024

if TYPE_CHECKING:
    from tests.support.fake_hub import FakeHub


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, hub: FakeHub, role: str) -> None:
        self.hub = hub
        self.role = role
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # A send buffer like a real server's, not loopback's autotuned megabytes: what a reset loses
        # in flight stays the size it would be on a network.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        return connection, address


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RESOLVE_CACHE = re.compile(r"^/api/resolve-cache/models/(?P<repo>[^/]+/[^/]+)/(?P<rev>[0-9a-f]{40})/(?P<path>.+)$")
_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")
_BLOB = re.compile(r"^/blobs/(?P<sha>[0-9a-f]{64})$")


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubServer

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
        keys = {
            "downloads": lambda r: r.downloads,
            "likes": lambda r: r.likes,
            "trendingScore": lambda r: r.trending,
            "createdAt": lambda r: r.created_at,
            "lastModified": lambda r: r.last_modified,
        }
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
            self._error(404, "EntryNotFound", f'{path} does not exist on "{rev}"')
            return
        if repo.gated and self._token() not in self.server.hub.granted_tokens:
            status = 403 if self._token() else 401
            self._error(
                status,
                "GatedRepo",
                f"Access to model {repo_id} is restricted and you are not in the "
                f"authorized list. Visit https://huggingface.co/{repo_id} to ask for access.",
            )
            return
        common = {"X-Repo-Commit": repo.sha, "Accept-Ranges": "bytes"}
        if file.lfs:
            # A signed CDN address on another origin, as the Hub's LFS redirects are.
            location = f"{self.server.hub.cdn_url}/blobs/{file.sha256}?X-Amz-Expires=3600&X-Amz-Signature=fake"
            self._redirect(
                302,
                location,
                {
                    **common,
                    "ETag": f'"{file.sha256}"',
                    "X-Linked-Size": str(file.size),
                    "X-Linked-Etag": f'"{file.sha256}"',
                },
            )
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
