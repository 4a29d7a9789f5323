"""Exporting conversations: Markdown to read, JSON to keep everything.

The JSON export is lossless: every branch, status, statistic, parameter and
timestamp, with a format name and version so a later Parlour knows what it
reads (import_json.py reads it back). Markdown shows each conversation's
shown thread only, and says when other branches were left out.

An export reads one consistent snapshot of the store, so it can run while the
app is writing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from app import __version__
from app.store.comparisons import TIE, ComparisonFacts, comparison_facts, rounds_from
from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.records import (
    CONVERSATION_COLUMNS,
    MESSAGE_COLUMNS,
    Conversation,
    Message,
    conversation_from_row,
    message_from_row,
)
from app.store.timestamps import now_text, to_text
from engines.tool_call_formats import call_summary

FORMAT_NAME = "parlour-conversations"
# 2: a message's stats are the engine's GenerationStats, whole and under its names (1 had five of
# them, with the time to first token in seconds and the speed as tokens_per_second).
FORMAT_VERSION = 2

SNIPPET_CHARS = 160  # of a source's passage, after its place: enough to recognise it
_SPEAKERS = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}


def export_json(store: Store, conversation_ids: Iterable[int]) -> Iterator[str]:
    """The export as text chunks (one conversation per line), to stream into a file."""
    yield json.dumps(
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "exported_at": now_text(),
            "exported_by": f"Parlour {__version__}",
        },
        ensure_ascii=False,
    )[:-1]
    yield ', "conversations": ['
    for index, (conversation, messages, facts, collections) in enumerate(_snapshot(store, conversation_ids)):
        yield ("\n" if index == 0 else ",\n") + json.dumps(
            conversation_to_json(conversation, messages, facts, collections), ensure_ascii=False, allow_nan=False
        )
    yield "\n]}\n"


def export_markdown(store: Store, conversation_ids: Iterable[int]) -> Iterator[str]:
    """The export as Markdown text chunks; conversations are separated by a rule."""
    for index, (conversation, messages, facts, _collections) in enumerate(_snapshot(store, conversation_ids)):
        if index:
            yield "\n---\n\n"
        if facts is not None:
            yield comparison_to_markdown(conversation, messages, facts)
        else:
            yield conversation_to_markdown(conversation, messages)


def conversation_to_json(
    conversation: Conversation,
    messages: list[Message],
    facts: ComparisonFacts | None = None,
    collections: list[str] | None = None,
) -> dict[str, Any]:
    shape = {
        "id": conversation.id,
        "title": conversation.title,
        "title_is_custom": conversation.title_is_custom,
        "created_at": to_text(conversation.created_at),
        "updated_at": to_text(conversation.updated_at),
        "model": conversation.model,
        "engine": conversation.engine,
        "system_prompt": conversation.system_prompt,
        "parameters": conversation.parameters,
        "template": conversation.template,
        "folder": conversation.folder,
        "pinned": conversation.pinned,
        "current_leaf": shown_leaf(conversation, messages),
        "messages": [_message_to_json(message) for message in messages],
    }
    if collections:
        shape["collections"] = list(collections)  # the document collections it searches, by name
    if facts is not None:
        shape["kind"] = "comparison"
        shape["comparison"] = {
            "columns": [
                {"model": c.model.name, "path": c.model.path, "engine": c.model.engine, "leaf": c.leaf_id}
                for c in facts.columns
            ],
            # Per round (from 0): the winning column's position, or -1 for a tie.
            "verdicts": {str(turn): winner for turn, winner in sorted(facts.verdicts.items())},
        }
    return shape


def _message_to_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "parent": message.parent_id,
        "role": message.role,
        "status": message.status,
        "created_at": to_text(message.created_at),
        "model": message.model,
        "finish_reason": message.finish_reason,
        "error": message.error,
        "stats": None if message.stats is None else message.stats.to_dict(),
        "reasoning": message.reasoning,
        "content": message.content,
        **({"tool_calls": list(message.tool_calls)} if message.tool_calls else {}),
        **({"attachments": list(message.attachments)} if message.attachments else {}),
        **({"citations": [citation.to_dict() for citation in message.citations]} if message.citations else {}),
    }


def conversation_to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    facts = [
        f"Created {_readable_time(conversation.created_at)}",
        f"updated {_readable_time(conversation.updated_at)}",
    ]
    if conversation.model:
        engine = f" ({conversation.engine})" if conversation.engine else ""
        facts.insert(0, f"Model: {conversation.model}{engine}")
    if conversation.folder:
        facts.append(f"folder: {conversation.folder}")
    lines += ["*" + " · ".join(facts) + "*", ""]
    if conversation.parameters:
        lines += ["Parameters: `" + json.dumps(conversation.parameters, ensure_ascii=False) + "`", ""]
    if conversation.system_prompt:
        lines += ["**System prompt**", "", *_quoted(conversation.system_prompt), ""]
    thread = shown_thread(conversation, messages)
    hidden = len(messages) - len(thread)
    if hidden:
        lines += [
            f"*This conversation has other branches ({hidden} {'message' if hidden == 1 else 'messages'} "
            "not shown here); "
            "the JSON export keeps them all.*",
            "",
        ]
    for message in thread:
        lines += _message_to_markdown(message)
    return "\n".join(lines).rstrip("\n") + "\n"


def comparison_to_markdown(conversation: Conversation, messages: list[Message], facts: ComparisonFacts) -> str:
    """A comparison round by round: the prompt, then each model's reply with its figures and the verdict."""
    names = [column.model.name for column in facts.columns]
    lines = [f"# Comparison: {conversation.title or 'untitled'}", ""]
    lines += ["*Models: " + ", ".join(names) + f" · created {_readable_time(conversation.created_at)}*", ""]
    if conversation.parameters:
        lines += ["Parameters (the same for every model): `" + json.dumps(conversation.parameters) + "`", ""]
    if conversation.system_prompt:
        lines += ["**System prompt**", "", *_quoted(conversation.system_prompt), ""]
    for one in rounds_from(messages, facts):
        lines += [f"## Round {one.number + 1}", "", *_quoted(one.prompt), ""]
        if one.winner == TIE:
            lines += ["*Your verdict: a tie.*", ""]
        for position, reply in enumerate(one.replies):
            best = " — your pick" if one.winner == position else ""
            lines += [f"### {names[position]}{best}", ""]
            if reply is None:
                lines += ["*No reply.*", ""]
                continue
            lines += [reply.content or "*(empty)*", ""]
            notes = _stats_notes(reply)
            if notes:
                lines += ["*" + " · ".join(notes) + "*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _message_to_markdown(message: Message) -> list[str]:
    speaker = _SPEAKERS.get(message.role, message.role.title())
    heading = [speaker]
    if message.model and message.role == "assistant":
        heading.append(message.model)
    heading.append(_readable_time(message.created_at))
    lines = ["## " + " · ".join(heading), ""]
    if message.reasoning:
        lines += [
            "<details><summary>Reasoning</summary>",
            "",
            message.reasoning.strip("\n"),
            "",
            "</details>",
            "",
        ]
    if message.role == "tool" and message.tool_calls:
        lines += [f"Result of {_call_line(message.tool_calls[0])}:", ""]
    if message.content.strip("\n") or not message.tool_calls:
        lines += [message.content.strip("\n") or "*(empty)*", ""]
    if message.role == "assistant" and message.tool_calls:
        lines += ["Tool calls: " + "; ".join(_call_line(call) for call in message.tool_calls), ""]
    lines += _document_lines(message)
    notes = _stats_notes(message)
    if message.status == "interrupted":
        notes.append("interrupted: Parlour stopped before this reply was finished")
    elif message.status == "streaming":
        notes.append("still being written when exported")
    if message.finish_reason == "error" and message.error:
        notes.append(f"error: {message.error}")
    if notes:
        lines += ["*" + " · ".join(notes) + "*", ""]
    return lines


def _document_lines(message: Message) -> list[str]:
    """The files attached to a message, and the sources a reply was given, each as the window shows them."""
    lines = []
    if message.attachments:
        lines += ["Attached: " + ", ".join(os.path.basename(path) for path in message.attachments), ""]
    if message.citations:
        lines += ["Sources:", ""]
        for citation in message.citations:
            snippet = _snippet(citation.snippet)
            lines.append(f"- [{citation.number}] {citation.place}" + (f" — “{snippet}”" if snippet else ""))
        lines.append("")
    return lines


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def _call_line(call: dict[str, Any]) -> str:
    return f"`{call_summary(call)}`"


def _stats_notes(message: Message) -> list[str]:
    stats = message.stats
    notes = []
    if stats is not None:
        notes.append(f"{stats.generated_tokens} tokens")
        if stats.generation_tps:
            notes.append(f"{stats.generation_tps:.1f} tokens/s")
        if stats.ttft_ms:
            notes.append(f"{stats.ttft_ms / 1000:.2f} s to first token")
        if stats.dropped_turns:
            notes.append(f"{stats.dropped_turns} older turns left out to fit the context")
    if message.finish_reason in ("length", "cancelled"):
        notes.append({"length": "stopped at the length limit", "cancelled": "stopped by you"}[message.finish_reason])
    return notes


def _quoted(text: str) -> list[str]:
    return ["> " + line if line else ">" for line in text.splitlines()]


def _readable_time(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def shown_leaf(conversation: Conversation, messages: list[Message]) -> int | None:
    """The conversation's chosen leaf, or its newest message when that is unset or gone."""
    ids = {message.id for message in messages}
    if conversation.current_leaf_id in ids:
        return conversation.current_leaf_id
    return max(ids) if ids else None


def shown_thread(conversation: Conversation, messages: list[Message]) -> list[Message]:
    by_id = {message.id: message for message in messages}
    thread = []
    cursor = shown_leaf(conversation, messages)
    while cursor is not None:
        message = by_id[cursor]
        thread.append(message)
        cursor = message.parent_id
    thread.reverse()
    return thread


def _snapshot(
    store: Store, conversation_ids: Iterable[int]
) -> Iterator[tuple[Conversation, list[Message], ComparisonFacts | None, list[str]]]:
    """Each conversation with all its messages (oldest first), for a comparison its columns and verdicts,
    and the document collections it searches, read in one read transaction."""
    with store.snapshot() as connection:
        for conversation_id in conversation_ids:
            row = connection.execute(
                f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"There is no conversation with the ID {conversation_id}.")
            messages = connection.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
            conversation = conversation_from_row(row)
            facts = comparison_facts(connection, conversation_id) if conversation.kind == "comparison" else None
            collections = connection.execute(
                "SELECT collection FROM conversation_collections WHERE conversation_id = ? ORDER BY collection",
                (conversation_id,),
            ).fetchall()
            rows = [message_from_row(message) for message in messages]
            yield conversation, rows, facts, [row[0] for row in collections]
