"""The one-line summary under a reply (tokens, cache, speed, dropped turns, why it stopped) and the
status line after one. Plain text from the engine's GenerationStats, no Qt."""

from __future__ import annotations

from engines.base import Finished, GenerationStats
from engines.tool_calls import call_summary

FINISH_REASONS = {
    "stop": "finished",
    "length": "stopped at the length limit",
    "cancelled": "stopped by you",
    "error": "failed",
}


def format_stats(stats: GenerationStats | None, finish_reason: str | None = None) -> str:
    """E.g. "412 tokens · prompt 980 (960 cached) · 0.31 s to first token · 27.4 tokens/s · finished"."""
    parts: list[str] = []
    if stats is not None:
        generated = stats.generated_tokens
        parts.append(f"{generated} token{'s' if generated != 1 else ''}")
        prompt, cached = stats.prompt_tokens, stats.cached_tokens
        disk = stats.disk_cached_tokens or 0
        if prompt:
            kept = f" ({cached} cached, {disk} from disk)" if disk else (f" ({cached} cached)" if cached else "")
            parts.append(f"prompt {prompt}{kept}")
        elif cached:
            parts.append(f"{cached} cached")
        ttft = stats.ttft_ms
        if ttft:
            parts.append(f"{ttft / 1000:.2f} s to first token" if ttft >= 100 else f"{ttft:.0f} ms to first token")
        if stats.generation_tps:
            parts.append(f"{stats.generation_tps:.1f} tokens/s")
        if stats.draft_tokens:
            parts.append(f"{stats.accepted_draft_tokens} of {stats.draft_tokens} draft tokens accepted")
    if finish_reason:
        parts.append(FINISH_REASONS.get(finish_reason, finish_reason))
    if stats is not None and stats.dropped_turns:
        dropped = stats.dropped_turns
        parts.append(f"{dropped} older turn{'s' if dropped != 1 else ''} left out to fit the context")
    return " · ".join(parts)


def can_continue(status: str, finish_reason: str | None) -> bool:
    """A reply that was cut off (a crash, the stop key or the length limit) can be continued."""
    return status == "interrupted" or finish_reason in ("length", "cancelled")


def row_notice(status: str, error: str | None) -> str:
    """The line under a failed or interrupted reply ("" for the others)."""
    if status == "error":
        return f"⚠ {error or 'The reply failed.'}"
    if status == "interrupted":
        return "⚠ This reply was interrupted; what was written so far is kept."
    return ""


def reply_summary(event: Finished) -> tuple[str, bool]:
    """The status line after a reply, and whether it is an error: the error's sentence, or tokens,
    speed and why it stopped."""
    if event.finish_reason == "error":
        return event.error or "The reply failed.", True
    stats = event.stats
    ended = {"cancelled": "Stopped", "length": "Stopped at the length limit"}.get(event.finish_reason, "Done")
    cached = f" · {stats.cached_tokens} cached" if stats.cached_tokens else ""
    dropped = f" · {stats.dropped_turns} old turns left out" if stats.dropped_turns else ""
    return f"{ended}: {stats.generated_tokens} tokens · {stats.generation_tps:.1f} tokens/s{cached}{dropped}", False


def row_footer(role: str, stats: GenerationStats | None, finish_reason: str | None, tool_calls: tuple = ()) -> str:
    """The line under a message: a reply's figures and the tools it called; what a tool result answers."""
    if role == "tool":
        return "Result of " + call_summary(tool_calls[0]) if tool_calls else ""
    parts = [format_stats(stats, finish_reason)]
    if tool_calls:
        parts.append("called " + ", ".join(call_summary(call) for call in tool_calls))
    return " · ".join(part for part in parts if part)


RESULT_LINES, RESULT_CHARS = 4, 400  # of a tool's result on screen; all of it went to the model, and to exports


def folded_result(text: str) -> str:
    """A tool's result folded to its first lines, saying how much more the model was given."""
    lines = text.splitlines()
    shown = "\n".join(lines[:RESULT_LINES])[:RESULT_CHARS]
    if shown == text.rstrip("\n"):
        return text
    rest = len(text) - len(shown)
    return f"{shown}\n… {rest:,} more characters (the model was given all of it; exports keep it)"
