"""`parlour serve`: the local models over the OpenAI and Anthropic APIs, headless.

It listens on 127.0.0.1 unless --host names another address (0.0.0.0 is the whole LAN: say so
on purpose). It prints where it listens and the token every request needs, then serves until
Ctrl+C. Models load on the first request that names them (or --model loads one at start) and
unload after --idle-minutes without requests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK
from app.cli.terminal_text import fail

DEFAULT_PORT = 8484


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--model", help="a model to load at start (a name as `parlour models` lists it)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this computer only)"
    )
    parser.add_argument(
        "--idle-minutes", type=float, default=10.0, help="unload a model after this long without requests"
    )
    parser.add_argument("--queue", type=int, default=16, help="requests that may wait for each model (default 16)")
    parser.add_argument(
        "--memory", type=float, help="GB the loaded models may use together (default: what is available at start)"
    )
    parser.add_argument(
        "--allow-origin", action="append", default=[], help="a web page origin allowed to call the server (CORS)"
    )
    parser.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        return fail("--port must be from 1 to 65535.", EXIT_BAD_INPUT)
    if args.idle_minutes <= 0 or args.queue < 1:
        return fail("--idle-minutes must be above 0 and --queue at least 1.", EXIT_BAD_INPUT)
    if args.memory is not None and args.memory <= 0:
        return fail("--memory must be above 0 (GB).", EXIT_BAD_INPUT)
    import uvicorn

    from app.server.app import build_app
    from app.server.errors import ApiError
    from app.server.registry import ModelRegistry
    from app.server.security import Access, allowed_hosts, server_token

    budget = int(args.memory * 1e9) if args.memory is not None else None
    registry = ModelRegistry(idle_seconds=args.idle_minutes * 60, max_waiting=args.queue, memory_budget=budget)
    if args.model is not None:
        try:
            asyncio.run(registry.preload(registry.find(args.model)))
        except ApiError as err:  # no such model: the person's to fix
            return fail(err.message, EXIT_BAD_INPUT)
    token = server_token()
    access = Access(token.value, allowed_hosts(args.host), tuple(args.allow_origin))
    app = build_app(registry, access)
    address = f"http://{args.host}:{args.port}/v1"
    kept = {"keyring": "kept in the system keyring", "environment": "from PARLOUR_SERVER_TOKEN"}
    print(f"Parlour serves the OpenAI and Anthropic APIs at {address}", flush=True)
    print(f"API key: {token.value} ({kept.get(token.kept, 'for this run only: no system keyring')})", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"Listening on {args.host}: other computers on the network can reach it.", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK
