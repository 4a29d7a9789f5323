"""A real MCP server for the tool client's tests, written with the SDK's MCPServer (FastMCP in mcp 1.x).

    python tests/support/mcp_test_server.py                 # over stdio, as Parlour starts servers
    python tests/support/mcp_test_server.py --http-fd FD    # streamable HTTP on a socket already listening

Over HTTP the test binds and listens on the socket itself and hands it down (pass_fds), so the client
can connect at once: the kernel queues the connection until this server accepts it, and no test has to
wait for a port to open.

Tools: add, lookup, sleep (for the timeout), crash (exits mid-call), fail (the tool reports an error),
env (proves a server's `env` reached it), header (proves a url server's `headers` reached it), pid
(to check the process is gone after close), big (a long result), picture (an image result).
"""

from __future__ import annotations

import argparse
import os
import socket

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

WORDS = {"parlour": "a sitting room for receiving guests", "tool": "a thing used to do a job"}
# A 1x1 transparent PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

server = MCPServer("parlour-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def lookup(word: str) -> str:
    """Look a word up in a small dictionary."""
    return WORDS.get(word.lower(), f"'{word}' is not in the dictionary")


@server.tool()
async def sleep(seconds: float) -> str:
    """Wait, then answer (async, so the server itself stays responsive)."""
    await anyio.sleep(seconds)
    return f"slept {seconds} seconds"


@server.tool()
def crash() -> str:
    """Exit the whole server process in the middle of the call."""
    os._exit(3)


@server.tool()
def fail() -> str:
    """Always fails, so the call's result is an error."""
    raise ToolError("the fail tool always fails")


@server.tool()
def env(name: str) -> str:
    """The value of an environment variable in this server's process."""
    return os.environ.get(name, "<unset>")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of a header on this HTTP request."""
    headers = ctx.headers or {}
    return headers.get(name.lower(), "<unset>")


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def big(chars: int) -> str:
    """A result of `chars` characters."""
    return "x" * chars


@server.tool(structured_output=False)
def picture() -> list[str | Image]:
    """A caption and a tiny image."""
    return ["a single pixel", Image(data=PIXEL, format="png")]


def _serve_http(fd: int) -> None:
    import uvicorn

    listening = socket.socket(fileno=fd)
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve, [listening])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-fd", type=int, default=None)
    options = parser.parse_args()
    if options.http_fd is None:
        server.run("stdio")
    else:
        _serve_http(options.http_fd)
