"""One running MCP tool server, on the tool servers' event loop: start it, list its tools, call one, stop it.

The SDK's transports and sessions are async context managers whose task groups must be entered and left
by the same task, so each connection has one task that holds them open until `stop()`; calls are made
from other tasks through the session, as the SDK allows. Every failure becomes a ToolError sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.shared.exceptions import MCPError

from app.tools.errors import McpConfigError, ToolError, one_line, sentence_end
from app.tools.mcp_config import ServerConfig, StdioServer, UrlServer
from app.tools.mcp_secrets import resolved_values

log = logging.getLogger("parlour.tools")

CLIENT_INFO = types.Implementation(name="parlour", version="0.1.0")
STOP_TIMEOUT_S = 10.0  # the SDK's own shutdown is bounded (stdin closed, 2 s, SIGTERM, 2 s, SIGKILL)
MAX_TOOL_PAGES = 20  # a server that pages without end cannot hold up the start
MAX_TOOLS = 500
LOG_LIMIT = 1024 * 1024  # a server's stderr log starts afresh once past this


@dataclass(frozen=True)
class ServerTool:
    """A tool as its server lists it."""

    name: str
    description: str
    input_schema: dict[str, Any]


class ServerConnection:
    def __init__(self, server: ServerConfig, log_folder: Path, start_timeout_s: float) -> None:
        self.server = server
        self.tools: tuple[ServerTool, ...] = ()
        self.log_path = log_folder / f"mcp-{re.sub(r'[^A-Za-z0-9_.-]', '_', server.name)[:64]}.log"
        self._start_timeout_s = start_timeout_s
        self._session: ClientSession | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.server.name

    async def start(self) -> None:
        """Start the server and list its tools, or raise ToolError("not_started") within the start timeout."""
        try:
            secrets = _secrets_of(self.server)
        except McpConfigError as err:
            raise ToolError(str(err), "not_started") from None
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(ready, secrets), name=f"mcp server {self.name}")
        try:
            # The SDK's own request timeout ends a silent start; this only backs it up.
            await asyncio.wait_for(asyncio.shield(ready), self._start_timeout_s + 5)
        except BaseException as err:
            await self.stop()
            if isinstance(err, asyncio.CancelledError):
                raise
            raise self._start_failure(err) from None

    async def call(self, tool: str, arguments: dict[str, Any], timeout_s: float) -> types.CallToolResult:
        """The tool's result (its own errors included), or ToolError: "stopped", "timeout" or "refused"."""
        session = self._session
        if session is None:
            raise ToolError(f"The tool server '{self.name}' is not running.", "not_started")
        try:
            return await session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        except MCPError as err:
            if err.code == types.REQUEST_TIMEOUT:
                raise ToolError(
                    f"The tool '{tool}' on the server '{self.name}' did not finish within {timeout_s:g} seconds.",
                    "timeout",
                ) from None
            if err.code == types.CONNECTION_CLOSED:
                raise ToolError(f"The tool server '{self.name}' stopped while running '{tool}'.", "stopped") from None
            raise ToolError(
                sentence_end(f"The tool server '{self.name}' refused the call to '{tool}': {one_line(err.message)}"),
                "refused",
            ) from None
        except Exception as err:  # a result that does not validate, a request for input we cannot give
            log.warning("tool %s on %s gave an unreadable answer", tool, self.name, exc_info=True)
            raise ToolError(
                f"The tool server '{self.name}' answered the call to '{tool}' in a way Parlour cannot read "
                f"({type(err).__name__}).",
                "refused",
            ) from None

    async def stop(self) -> None:
        """Close the session and stop the server (its whole process tree, for a child process)."""
        self._stopping.set()
        task = self._task
        if task is None or task.done():
            return
        if self._session is None:
            # Still starting: the task is not watching for the stop, so cancel it now, while the SDK's
            # own clean-up (which ends the child process) still has the time to run.
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            return
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if not done:
            log.warning("tool server %s did not stop in time; abandoning it", self.name)
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)

    async def _hold(self, ready: asyncio.Future[None], secrets: dict[str, str]) -> None:
        """The one task that enters and leaves the transport and the session."""
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(secrets))
                session = ClientSession(
                    read, write, read_timeout_seconds=self._start_timeout_s, client_info=CLIENT_INFO
                )
                await stack.enter_async_context(session)
                await session.initialize()
                self.tools = await _listed_tools(session)
                self._session = session
                ready.set_result(None)
                await self._stopping.wait()
        except BaseException as err:
            if not ready.done() and isinstance(err, asyncio.CancelledError):
                ready.cancel()  # stopped while starting: nobody waits for the answer any more
            elif not ready.done():
                ready.set_exception(err if isinstance(err, Exception) else RuntimeError(repr(err)))
            else:
                log.info("tool server %s ended with %r", self.name, err)
            if not isinstance(err, Exception):
                raise  # cancellation and the like must go on
        finally:
            self._session = None

    @contextlib.asynccontextmanager
    async def _transport(self, secrets: dict[str, str]) -> AsyncIterator[tuple[Any, Any]]:
        server = self.server
        if isinstance(server, StdioServer):
            params = StdioServerParameters(command=server.command, args=list(server.args), env=secrets)
            with _open_log(self.log_path) as errlog:
                errlog.write(f"--- Parlour starts {server.command} ---\n")
                errlog.flush()
                async with stdio_client(params, errlog=errlog) as streams:
                    yield streams
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            connect_s = min(self._start_timeout_s, 30.0)
            # Reads stay long: a call's answer may come on a stream held open while the tool works.
            timeout = httpx2.Timeout(connect_s, read=300.0)
            async with (
                httpx2.AsyncClient(headers=secrets, timeout=timeout) as client,
                streamable_http_client(server.url, http_client=client) as streams,
            ):
                yield streams

    def _start_failure(self, err: BaseException) -> ToolError:
        err = _innermost(err)
        where = f"The tool server '{self.name}'"
        if isinstance(err, ToolError):
            return err
        if isinstance(err, OSError) and isinstance(self.server, StdioServer):
            command = self.server.command
            if err.errno == errno.ENOENT:
                sentence = f"{where} could not start: the command '{command}' was not found."
            elif err.errno in (errno.EACCES, errno.EPERM):
                sentence = f"{where} could not start: the command '{command}' may not be run (permission denied)."
            else:
                sentence = f"{where} could not start ({err.strerror or type(err).__name__})."
            return ToolError(sentence, "not_started")
        if isinstance(err, MCPError) and err.code == types.CONNECTION_CLOSED:
            return ToolError(f"{where} stopped while starting; {self._where_to_look()}.", "not_started")
        timed_out = isinstance(err, MCPError) and err.code == types.REQUEST_TIMEOUT
        if timed_out or isinstance(err, TimeoutError):
            return ToolError(
                f"{where} did not finish starting within {self._start_timeout_s:g} seconds; {self._where_to_look()}.",
                "not_started",
            )
        if isinstance(self.server, UrlServer) and _is_http_error(err):
            detail = one_line(str(err)).rstrip(".") or type(err).__name__
            return ToolError(f"{where} could not be reached at {self.server.url} ({detail}).", "not_started")
        log.warning("tool server %s did not start", self.name, exc_info=err)
        detail = one_line(str(err)) or type(err).__name__
        return ToolError(sentence_end(f"{where} could not start: {detail}"), "not_started")

    def _where_to_look(self) -> str:
        if isinstance(self.server, UrlServer):
            return f"check that {self.server.url} is an MCP server"
        return f"its messages are in {self.log_path}"


def _secrets_of(server: ServerConfig) -> dict[str, str]:
    if isinstance(server, StdioServer):
        return resolved_values(server.name, "env", server.env)
    return resolved_values(server.name, "headers", server.headers)


async def _listed_tools(session: ClientSession) -> tuple[ServerTool, ...]:
    tools: list[ServerTool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools += (ServerTool(t.name, t.description or "", dict(t.input_schema)) for t in page.tools)
        cursor = page.next_cursor
        if not cursor or len(tools) >= MAX_TOOLS:
            break
    return tuple(tools[:MAX_TOOLS])


def _is_http_error(err: BaseException) -> bool:
    import httpx2

    return isinstance(err, httpx2.HTTPError)


def _innermost(err: BaseException) -> BaseException:
    """The first real error inside the exception groups the SDK's task groups wrap errors in."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return err


@contextlib.contextmanager
def _open_log(path: Path) -> Iterator[TextIO]:
    """The server's stderr goes to a private log file, restarted when it has grown past LOG_LIMIT."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        append = path.stat().st_size < LOG_LIMIT
    except OSError:
        append = True
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | getattr(os, "O_CLOEXEC", 0)
    file: TextIO = os.fdopen(os.open(path, flags, 0o600), "a" if append else "w", encoding="utf-8")
    with file:
        yield file
