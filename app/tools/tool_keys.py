"""The names the model calls tools by: unique across servers, and valid as OpenAI-style function names.

A tool keeps its own name when only one server offers it. When two or more servers offer the same name,
each of them becomes "<server>__<tool>". Any character outside [A-Za-z0-9_-] then becomes "_" and the
key is cut to 64 characters (what OpenAI-compatible function calling accepts); should two keys still
meet, the later one (in mcp.json's order of servers, then the server's order of tools) gets "_2", "_3"…
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

KEY_LIMIT = 64
SEPARATOR = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def assign_keys(offers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A key for each (server, tool) in `offers`, given in order; the same offers always get the same keys."""
    servers_per_name = Counter(name for _, name in dict.fromkeys(offers))
    keys: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for server, name in offers:
        if (server, name) in keys:
            continue
        wanted = name if servers_per_name[name] == 1 else f"{server}{SEPARATOR}{name}"
        key = _safe(wanted) or "tool"
        number = 1
        while key in taken:
            number += 1
            suffix = f"_{number}"
            key = _safe(wanted)[: KEY_LIMIT - len(suffix)] + suffix
        taken.add(key)
        keys[(server, name)] = key
    return keys


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name)[:KEY_LIMIT]
