"""`parlour remotes`: add, list and remove OpenAI-compatible endpoints (a vLLM or llama-server box, a
hosted API), whose models then work as `--model remote:NAME/MODEL`, in the window and in the server.

    parlour remotes add NAME URL [--key-stdin]   # asks the endpoint for its models; the key goes to the keyring
    parlour remotes list [--json]
    parlour remotes rm NAME
"""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.exit_codes import EXIT_OK, exit_code_for
from app.cli.terminal_text import fail, printable


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an endpoint (asks it for its models)")
    add.add_argument("name", help="a short name for it, e.g. gpu-box")
    add.add_argument("url", help="its OpenAI-compatible base URL, e.g. http://10.0.0.5:8000/v1")
    add.add_argument("--key-stdin", action="store_true", help="read its API key from the first line of stdin")
    listing = actions.add_parser("list", help="the endpoints and their models")
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("rm", help="remove an endpoint and its key")
    remove.add_argument("name")
    parser.set_defaults(func=cmd_remotes)


def cmd_remotes(args: argparse.Namespace) -> int:
    from app.library import remotes
    from engines.base import EngineError

    try:
        if args.action == "add":
            key = sys.stdin.readline().strip() if args.key_stdin else None
            endpoint = remotes.add_endpoint(args.name, args.url, key)
            count = f"{len(endpoint.models)} model{'' if len(endpoint.models) == 1 else 's'}"
            print(f"Added {endpoint.name} ({endpoint.base_url}): {count}.")
            for model in endpoint.models:
                print(f"  remote:{endpoint.name}/{printable(model)}")
            print(f"Its replies are written on {endpoint.base_url}: what you send there {remotes.LEAVES}.")
        elif args.action == "list":
            _print_endpoints(remotes.list_endpoints(), args.json)
        else:
            remotes.remove_endpoint(args.name)
            print(f"Removed {args.name} and its key.")
    except EngineError as err:
        return fail(str(err), exit_code_for(err))
    return EXIT_OK


def _print_endpoints(endpoints: list, as_json: bool) -> None:  # list[app.library.remotes.Endpoint]
    from app.library.remotes import LEAVES

    if as_json:
        print(json.dumps([{"name": e.name, "base_url": e.base_url, "models": list(e.models)} for e in endpoints]))
        return
    if not endpoints:
        print("No remote endpoints; add one with `parlour remotes add NAME URL`.")
    for endpoint in endpoints:
        print(f"{printable(endpoint.name)}  {printable(endpoint.base_url)}  ({LEAVES})")
        for model in endpoint.models:
            print(f"  remote:{printable(endpoint.name)}/{printable(model)}")
