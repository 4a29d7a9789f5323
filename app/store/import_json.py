"""Importing a JSON export (export.py's format) as new conversations.

The whole file is checked before anything is written, and written in one
transaction: a malformed or hostile file is refused with one sentence saying
where the problem is, and never leaves half an import behind. Message IDs in
the file only describe the tree; the store gives the messages new IDs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from app.store.db import Store, inserted_id
from app.store.errors import ImportFormatError
from app.store.export import FORMAT_NAME, FORMAT_VERSION
from app.store.import_documents import attachments_json, citations_json, collection_names
from app.store.records import FINISH_REASONS, ROLES, STATUSES
from app.store.terminal_text import has_surrogates
from app.store.timestamps import from_text, now_text, to_text
from engines.bounded_files import MIB, FileRefusedError, read_bounded_text

# A message's stats are engines.base.GenerationStats, one column each (records.STATS_COLUMNS).
_STATS_INTEGERS = ("prompt_tokens", "generated_tokens", "cached_tokens", "peak_memory_bytes", "dropped_turns")
_STATS_REALS = ("prompt_tps", "generation_tps", "ttft_ms")
# Format 1's names for two of them, with the factor to today's units (seconds to milliseconds).
_OLD_STATS_NAMES = {"time_to_first_token_s": ("ttft_ms", 1000.0), "tokens_per_second": ("generation_tps", 1.0)}
_MAX_INTEGER = 2**63 - 1  # SQLite's INTEGER
# The whole file is held in memory while it is checked (and its text again as parsed objects), so
# it is bounded; years of chats export to far less.
IMPORT_LIMIT = 512 * MIB


@dataclass
class _MessagePlan:
    key: Any
    parent_key: Any
    values: dict[str, Any]


_COLUMN_TEXTS = (("model", ""), ("path", ""), ("engine", "auto"))


@dataclass
class _ComparisonPlan:
    columns: list[tuple[str, str, str, Any]]  # model name, path, engine, leaf key
    verdicts: list[tuple[int, int]]


@dataclass
class _ConversationPlan:
    values: dict[str, Any]
    current_leaf_key: Any
    messages: list[_MessagePlan] = field(default_factory=list)
    comparison: _ComparisonPlan | None = None
    collections: list[str] = field(default_factory=list)


def import_file(store: Store, path: Path) -> list[int]:
    """Import every conversation in the file; returns the new conversation IDs."""
    return import_document(store, read_document(path), source=path.name)


def read_document(path: Path) -> Any:
    """The parsed JSON in the file at `path`, or ImportFormatError with one sentence.

    The file is checked before a byte is read: a FIFO, a device (/dev/zero), a folder or a file
    over IMPORT_LIMIT is refused, so memory stays bounded and nothing waits forever.
    """
    try:
        text = read_bounded_text(path, IMPORT_LIMIT, what="The file to import")
    except FileRefusedError as error:
        raise ImportFormatError(str(error)) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ImportFormatError(
            f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno})."
        ) from error
    except RecursionError as error:
        raise ImportFormatError(f"{path.name} is nested too deeply to be a Parlour export.") from error
    except ValueError as error:  # NaN/Infinity, or an integer with thousands of digits
        raise ImportFormatError(f"{path.name} is not a Parlour export: {error}.") from error


def import_document(store: Store, document: Any, source: str = "The file") -> list[int]:
    """Import an already parsed export; everything is checked first, then written at once."""
    plans = _plan(document, source)
    new_ids = []
    with store.transaction(durable=True) as connection:
        for plan in plans:
            columns = ", ".join(plan.values)
            marks = ", ".join("?" for _ in plan.values)
            cursor = connection.execute(
                f"INSERT INTO conversations ({columns}) VALUES ({marks})", tuple(plan.values.values())
            )
            conversation_id = inserted_id(cursor)
            ids: dict[Any, int] = {}
            for message in plan.messages:
                values = {
                    **message.values,
                    "conversation_id": conversation_id,
                    "parent_id": None if message.parent_key is None else ids[message.parent_key],
                }
                columns = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                cursor = connection.execute(
                    f"INSERT INTO messages ({columns}) VALUES ({marks})", tuple(values.values())
                )
                ids[message.key] = inserted_id(cursor)
            leaf = ids.get(plan.current_leaf_key) if plan.current_leaf_key is not None else None
            if leaf is None and ids:
                leaf = max(ids.values())
            connection.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id))
            if plan.comparison is not None:
                _write_comparison(connection, conversation_id, plan.comparison, ids)
            connection.executemany(
                "INSERT INTO conversation_collections (conversation_id, collection) VALUES (?, ?)",
                [(conversation_id, name) for name in plan.collections],
            )
            new_ids.append(conversation_id)
    return new_ids


def _write_comparison(connection: Any, conversation_id: int, plan: _ComparisonPlan, ids: dict[Any, int]) -> None:
    connection.execute("UPDATE conversations SET kind = 'comparison' WHERE id = ?", (conversation_id,))
    connection.executemany(
        "INSERT INTO comparison_columns (conversation_id, position, model_name, model_path, engine, leaf_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (conversation_id, position, name, path, engine, None if leaf is None else ids[leaf])
            for position, (name, path, engine, leaf) in enumerate(plan.columns)
        ],
    )
    connection.executemany(
        "INSERT INTO comparison_verdicts (conversation_id, turn, winner) VALUES (?, ?, ?)",
        [(conversation_id, turn, winner) for turn, winner in plan.verdicts],
    )


def _plan_comparison(data: Any, seen: set[Any]) -> _ComparisonPlan:
    """A comparison's columns and verdicts (export.py writes them beside the messages)."""
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list) or not 2 <= len(data["columns"]) <= 4:
        raise _Problem("is a comparison without 2 to 4 columns")
    columns = []
    for column in data["columns"]:
        if not isinstance(column, dict):
            raise _Problem("has a comparison column that is not an object")
        leaf = _key(column.get("leaf"), "leaf", optional=True)
        if leaf is not None and leaf not in seen:
            raise _Problem("has a comparison column ending at a message that is not in it")
        name, path, engine = (_text(column, key, default=default) or default for key, default in _COLUMN_TEXTS)
        columns.append((name, path, engine, leaf))
    verdicts = data.get("verdicts") or {}
    if not isinstance(verdicts, dict):
        raise _Problem("has comparison verdicts that are not an object")
    kept: dict[int, int] = {}
    for turn, winner in verdicts.items():
        # A round number of a few digits: "00" and "0" are the same round, and a huge one is no round.
        if not (
            turn.isascii() and turn.isdigit() and len(turn) <= 6 and _is_integer(winner) and -1 <= winner < len(columns)
        ):
            raise _Problem("has a comparison verdict that is not a round and a column")
        kept[int(turn)] = winner
    return _ComparisonPlan(columns, list(kept.items()))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


# JSON can spell a lone UTF-16 surrogate ("\\ud800"); it is no character, and SQLite (UTF-8) cannot
# store it. Our own exports never hold one, so the file was made or changed elsewhere.
_SURROGATE_PROBLEM = "has a {name} field with an invalid character (a lone \\uD800-\\uDFFF escape)"


class _Problem(Exception):
    """Where in the document a check failed; turned into one sentence at the top."""


def _plan(document: Any, source: str) -> list[_ConversationPlan]:
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ImportFormatError(f"{source} is not a Parlour conversation export.")
    version = document.get("format_version")
    if not _is_integer(version) or version < 1:
        raise ImportFormatError(f"{source} has no valid format version.")
    if version > FORMAT_VERSION:
        raise ImportFormatError(f"{source} was exported by a newer version of Parlour; update Parlour to import it.")
    conversations = document.get("conversations")
    if not isinstance(conversations, list):
        raise ImportFormatError(f"{source} has no list of conversations.")
    plans = []
    for number, conversation in enumerate(conversations, start=1):
        try:
            plans.append(_plan_conversation(conversation))
        except _Problem as problem:
            raise ImportFormatError(
                f"{source} cannot be imported: conversation {number} {problem}; nothing was imported."
            ) from None
    return plans


def _plan_conversation(data: Any) -> _ConversationPlan:
    if not isinstance(data, dict):
        raise _Problem("is not an object")
    now = now_text()
    title = _text(data, "title", default="")
    values = {
        "title": title,
        "title_is_custom": int(_boolean(data, "title_is_custom", default=bool(title))),
        "created_at": _timestamp(data, "created_at", default=now),
        "updated_at": _timestamp(data, "updated_at", default=now),
        "model": _text(data, "model", optional=True),
        "engine": _text(data, "engine", optional=True),
        "system_prompt": _text(data, "system_prompt", default=""),
        "parameters": _parameters(data),
        "template": _text(data, "template", optional=True),
        "folder": _text(data, "folder", optional=True),
        "pinned": int(_boolean(data, "pinned", default=False)),
    }
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise _Problem("has no list of messages")
    plan = _ConversationPlan(values, current_leaf_key=_key(data.get("current_leaf"), "current_leaf", optional=True))
    seen: set[Any] = set()
    for number, message in enumerate(messages, start=1):
        try:
            planned = _plan_message(message, seen)
        except _Problem as problem:
            raise _Problem(f"message {number} {problem}") from None
        seen.add(planned.key)
        plan.messages.append(planned)
    if plan.current_leaf_key is not None and plan.current_leaf_key not in seen:
        raise _Problem("shows a message that is not in it")
    if data.get("kind") == "comparison":
        plan.comparison = _plan_comparison(data.get("comparison"), seen)
    plan.collections = _checked(collection_names, data.get("collections"))
    return plan


def _plan_message(data: Any, seen: set[Any]) -> _MessagePlan:
    if not isinstance(data, dict):
        raise _Problem("is not an object")
    key = _key(data.get("id"), "id")
    if key in seen:
        raise _Problem(f"repeats the ID {key!r}")
    parent = _key(data.get("parent"), "parent", optional=True)
    if parent is not None and parent not in seen:
        # Parents must come first: this also rules out cycles.
        raise _Problem("answers a message that does not come before it")
    role = data.get("role")
    if role not in ROLES:
        raise _Problem(f"has an unknown role {str(role)[:40]!r}")
    status = data.get("status", "done")
    if status not in STATUSES:
        raise _Problem(f"has an unknown status {str(status)[:40]!r}")
    if status == "streaming":
        status = "interrupted"  # nobody is writing it in this store: it was cut off
    finish_reason = data.get("finish_reason")
    if finish_reason is not None and finish_reason not in FINISH_REASONS:
        raise _Problem(f"has an unknown finish reason {str(finish_reason)[:40]!r}")
    values = {
        "role": role,
        "status": status,
        "created_at": _timestamp(data, "created_at", default=now_text()),
        "model": _text(data, "model", optional=True),
        "finish_reason": finish_reason,
        "error": _text(data, "error", optional=True),
        "reasoning": _text(data, "reasoning", default=""),
        "content": _text(data, "content"),
        **_stats(data.get("stats")),
        "tool_calls": _tool_calls(data.get("tool_calls")),
        "attachments": _checked(attachments_json, data.get("attachments")),
        "citations": _checked(citations_json, data.get("citations")),
    }
    return _MessagePlan(key, parent, values)


def _checked(check: Any, value: Any) -> Any:
    """A documents field checked by import_documents.py, its refusal as a _Problem."""
    try:
        return check(value)
    except ValueError as problem:
        raise _Problem(str(problem)) from None


def _tool_calls(calls: Any) -> str | None:
    """A message's tool calls, kept as the export wrote them (a list of objects, each with a function name)."""
    if calls is None or calls == []:
        return None
    if not isinstance(calls, list) or len(calls) > 64:
        raise _Problem("has tool calls that are not a list of at most 64")
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _Problem("has a tool call without a function name")
    try:
        return json.dumps(calls, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        raise _Problem("has tool calls that are not plain JSON") from None


def _stats(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if not isinstance(stats, dict):
        raise _Problem("has statistics that are not an object")
    values: dict[str, Any] = {}
    for name in _STATS_INTEGERS:
        value = stats.get(name)
        if value is not None and not (_is_integer(value) and 0 <= value <= _MAX_INTEGER):
            raise _Problem(f"has an invalid {name}")
        values[name] = value
    for name in _STATS_REALS:
        values[name] = _real(stats, name)
    for old_name, (name, factor) in _OLD_STATS_NAMES.items():
        value = _real(stats, old_name)
        if values[name] is None and value is not None:
            if not math.isfinite(value * factor):
                raise _Problem(f"has an invalid {old_name}")
            values[name] = value * factor
    return values


def _real(stats: dict, name: str) -> float | None:
    value = stats.get(name)
    if value is None:
        return None
    # An int too large for a float (10**400) makes math.isfinite raise: that is invalid too.
    too_large = isinstance(value, int) and abs(value) > _MAX_INTEGER
    if isinstance(value, bool) or not isinstance(value, int | float) or too_large or not math.isfinite(value):
        raise _Problem(f"has an invalid {name}")
    if value < 0:
        raise _Problem(f"has a negative {name}")
    return float(value)


def _key(value: Any, name: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if _is_integer(value) or isinstance(value, str):
        return value
    raise _Problem(f"has an invalid {name}")


def _text(data: dict, name: str, default: str | None = None, optional: bool = False) -> str | None:
    if name not in data:
        if default is None and not optional:
            raise _Problem(f"has no {name}")
        return default
    value = data[name]
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _Problem(f"has a {name} field that is not text")
    if has_surrogates(value):
        raise _Problem(_SURROGATE_PROBLEM.format(name=name))
    return value


def _boolean(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise _Problem(f"has a {name} field that is not true or false")
    return value


def _timestamp(data: dict, name: str, default: str) -> str:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _Problem(f"has a {name} field that is not a valid time")
    try:
        return to_text(from_text(value))
    except (ValueError, OverflowError):
        raise _Problem(f"has a {name} field that is not a valid time") from None


def _parameters(data: dict) -> str:
    value = data.get("parameters", {})
    if not isinstance(value, dict):
        raise _Problem("has parameters that are not an object")
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    if has_surrogates(text):
        raise _Problem(_SURROGATE_PROBLEM.format(name="parameters"))
    return text


def _is_integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
