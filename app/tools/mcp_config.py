"""The MCP tool servers the person configured: mcp.json in the data folder, in the shape Claude Desktop
and LM Studio use, so a file copied from either works here and ours works there:

    {"mcpServers": {"files": {"command": "npx", "args": ["-y", "server-files", "/tmp"], "env": {"K": "v"}},
                    "search": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer …"}}},
     "parlour": {"disabledTools": {"files": ["delete_file"]}}}

Secrets (every value of `env` and `headers` given to `add_server`) go to the system keyring and the
file holds "keyring:<server>/<NAME>" in their place (app.tools.mcp_secrets). Which tools are switched
off sits under "parlour", a key other apps ignore. Keys we do not know, at the top or in a server, are
kept as they are when we rewrite the file. The file is read bounded and written atomically, 0600.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.store.files import write_atomically
from app.tools.errors import McpConfigError
from app.tools.mcp_secrets import forget_secrets, keep_secret, keyring_reference
from engines.bounded_files import MIB, FileRefusedError, read_bounded_text

FILE_NAME = "mcp.json"
SIZE_LIMIT = 1 * MIB  # a list of servers is a few KB; anything near this is not one
SERVERS_KEY = "mcpServers"
PARLOUR_KEY = "parlour"
DISABLED_KEY = "disabledTools"
NAME_LIMIT = 64


@dataclass(frozen=True)
class StdioServer:
    """A server Parlour runs as a child process and talks to over its stdin and stdout."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # values as in the file: placeholders or plain
    extra: Mapping[str, Any] = field(default_factory=dict)  # other apps' keys, written back unchanged


@dataclass(frozen=True)
class UrlServer:
    """A server reached over streamable HTTP."""

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


ServerConfig = StdioServer | UrlServer


@dataclass(frozen=True)
class McpConfig:
    servers: tuple[ServerConfig, ...] = ()
    disabled_tools: Mapping[str, frozenset[str]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)  # top-level keys besides mcpServers, "parlour" included

    def server(self, name: str) -> ServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)

    def is_enabled(self, server: str, tool: str) -> bool:
        return tool not in self.disabled_tools.get(server, frozenset())


def config_path() -> Path:
    from app.paths import data_dir

    return data_dir() / FILE_NAME


# Reading and checking


def load_config(path: Path | None = None) -> McpConfig:
    """The configured servers; no file means none. McpConfigError (one sentence) for a file we refuse."""
    path = path or config_path()
    try:
        text = read_bounded_text(path, SIZE_LIMIT, f"The tool server list {path.name}")
    except FileRefusedError as err:
        if not os.path.lexists(path):
            return McpConfig()
        raise McpConfigError(str(err)) from None
    return parse_config(text)


def parse_config(text: str) -> McpConfig:
    """Check and read the text of an mcp.json."""
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        raise McpConfigError(
            f"mcp.json is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); fix it or move it away."
        ) from None
    except RecursionError:
        raise McpConfigError("mcp.json is nested too deeply to be a list of tool servers.") from None
    if not isinstance(raw, dict):
        raise McpConfigError(f'mcp.json must hold a JSON object with an "{SERVERS_KEY}" object in it.')
    servers_raw = raw.get(SERVERS_KEY, {})
    if not isinstance(servers_raw, dict):
        raise McpConfigError(f'The "{SERVERS_KEY}" in mcp.json must be a JSON object of servers by name.')
    servers = tuple(_parse_server(name, value) for name, value in servers_raw.items())
    extra = {key: value for key, value in raw.items() if key != SERVERS_KEY}
    return McpConfig(servers, _parse_disabled(extra.get(PARLOUR_KEY)), extra)


def _parse_server(name: str, raw: object) -> ServerConfig:
    if not name.strip():
        raise McpConfigError("A tool server in mcp.json has an empty name; give it one.")
    where = f"of the server '{name}' in mcp.json"
    if not isinstance(raw, dict):
        raise McpConfigError(f"The server '{name}' in mcp.json must be a JSON object.")
    if "command" in raw and "url" in raw:
        raise McpConfigError(f'The server \'{name}\' in mcp.json has both a "command" and a "url"; keep one.')
    if "command" in raw:
        command = raw["command"]
        if not isinstance(command, str) or not command.strip():
            raise McpConfigError(f'The "command" {where} must be a program to run, as a non-empty string.')
        args = raw.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise McpConfigError(f'The "args" {where} must be a list of strings.')
        env = _string_map(raw.get("env", {}), "env", where)
        extra = {k: v for k, v in raw.items() if k not in ("command", "args", "env")}
        return StdioServer(name, command, tuple(args), env, extra)
    if "url" in raw:
        url = raw["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise McpConfigError(f'The "url" {where} must be a web address starting with http:// or https://.')
        headers = _string_map(raw.get("headers", {}), "headers", where)
        extra = {k: v for k, v in raw.items() if k not in ("url", "headers")}
        return UrlServer(name, url, headers, extra)
    raise McpConfigError(f'The server \'{name}\' in mcp.json needs a "command" to run or a "url" to reach.')


def _string_map(raw: object, key: str, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise McpConfigError(f'The "{key}" {where} must be a JSON object of names and values.')
    for name, value in raw.items():
        if not isinstance(value, str):
            raise McpConfigError(f'The value of {name} in the "{key}" {where} must be a string (put it in quotes).')
    return dict(raw)


def _parse_disabled(raw: object) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    disabled = raw.get(DISABLED_KEY, {}) if isinstance(raw, dict) else None
    if not isinstance(disabled, dict):
        raise McpConfigError(f'The "{PARLOUR_KEY}" part of mcp.json must hold a "{DISABLED_KEY}" object.')
    result: dict[str, frozenset[str]] = {}
    for server, tools in disabled.items():
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise McpConfigError(
                f"The switched-off tools of the server '{server}' in mcp.json must be a list of names."
            )
        result[server] = frozenset(tools)
    return result


# Writing


def config_text(config: McpConfig) -> str:
    """mcp.json as Parlour writes it: two-space indents, unknown keys where they were."""
    raw: dict[str, Any] = {SERVERS_KEY: {s.name: _server_json(s) for s in config.servers}}
    raw.update(config.extra)
    disabled = {s: sorted(t) for s, t in sorted(config.disabled_tools.items()) if t}
    if disabled or PARLOUR_KEY in raw:  # a file copied from another app gains no key it does not need
        raw[PARLOUR_KEY] = {**(raw.get(PARLOUR_KEY) or {}), DISABLED_KEY: disabled}
    return json.dumps(raw, indent=2, ensure_ascii=False) + "\n"


def _server_json(server: ServerConfig) -> dict[str, Any]:
    if isinstance(server, StdioServer):
        raw: dict[str, Any] = {"command": server.command, "args": list(server.args)}
        if server.env:
            raw["env"] = dict(server.env)
    else:
        raw = {"url": server.url}
        if server.headers:
            raw["headers"] = dict(server.headers)
    raw.update(server.extra)
    return raw


def save_config(config: McpConfig, path: Path | None = None) -> None:
    """Write mcp.json all or nothing, private to the user (0600)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32" and os.path.isfile(path):
        # write_atomically keeps the old file's mode: a hand-made 0644 file would stay readable by others.
        os.chmod(path, 0o600)
    write_atomically(path, [config_text(config)])


# Changing the list


def add_server(
    name: str,
    *,
    command: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> ServerConfig:
    """Add a server (or replace the one of that name), its `env` or `headers` values kept in the keyring."""
    name = _checked_name(name)
    config = load_config(path)  # a damaged file is refused, not overwritten
    if (command is None) == (url is None):
        raise McpConfigError("Give a tool server either a command to run or a url to reach, not both.")
    server: ServerConfig
    if command is not None:
        server = StdioServer(name, command, tuple(args), dict(env or {}))
    else:
        server = UrlServer(name, url or "", dict(headers or {}))
    _parse_server(name, _server_json(server))  # the checks a file gets, before any secret is kept
    server = _with_secrets_kept(server)
    servers = [server if s.name == name else s for s in config.servers]
    if config.server(name) is None:
        servers.append(server)
    _save_and_forget(config, replace(config, servers=tuple(servers)), path)
    return server


def remove_server(name: str, path: Path | None = None) -> None:
    config = load_config(path)
    if config.server(name) is None:
        raise McpConfigError(f"No tool server is called '{name}' in mcp.json.")
    servers = tuple(s for s in config.servers if s.name != name)
    disabled = {s: t for s, t in config.disabled_tools.items() if s != name}
    _save_and_forget(config, replace(config, servers=servers, disabled_tools=disabled), path)


def set_tool_enabled(server: str, tool: str, enabled: bool, path: Path | None = None) -> McpConfig:
    """Switch one tool of a server on or off; gives back the changed configuration."""
    config = load_config(path)
    if config.server(server) is None:
        raise McpConfigError(f"No tool server is called '{server}' in mcp.json.")
    disabled = dict(config.disabled_tools)
    tools = set(disabled.get(server, frozenset()))
    if enabled:
        tools.discard(tool)
    else:
        tools.add(tool)
    disabled[server] = frozenset(tools)
    changed = replace(config, disabled_tools={s: t for s, t in disabled.items() if t})
    save_config(changed, path)
    return changed


def _with_secrets_kept(server: ServerConfig) -> ServerConfig:
    if isinstance(server, StdioServer):
        return replace(server, env={key: keep_secret(server.name, key, v) for key, v in server.env.items()})
    return replace(server, headers={key: keep_secret(server.name, key, v) for key, v in server.headers.items()})


def _checked_name(name: str) -> str:
    name = name.strip()
    # The name is part of the keyring username "<server>/<NAME>", so it cannot hold '/'.
    if not name or len(name) > NAME_LIMIT or "/" in name or any(ord(c) < 32 for c in name):
        raise McpConfigError(f"Name the tool server in 1 to {NAME_LIMIT} characters, without '/'.")
    return name


def _save_and_forget(before: McpConfig, after: McpConfig, path: Path | None) -> None:
    """Save `after`, then delete the keyring entries only `before` pointed to (never while still in use)."""
    save_config(after, path)
    forget_secrets(_references(before) - _references(after))


def _references(config: McpConfig) -> set[str]:
    values: list[str] = []
    for server in config.servers:
        values += (server.env if isinstance(server, StdioServer) else server.headers).values()
    return {ref for value in values if (ref := keyring_reference(value)) is not None}
