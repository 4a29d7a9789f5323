"""The one-line summary under a reply: tokens, cache, speed and why it stopped. Plain text, no Qt."""

from __future__ import annotations

from typing import Any

FINISH_REASONS = {
    "stop": "finished",
    "length": "stopped at the length limit",
    "cancelled": "stopped by you",
    "error": "failed",
}


def format_stats(stats: dict[str, Any]) -> str:
    """E.g. "412 tokens · prompt 980 (960 cached) · 0.31 s to first token · 27.4 tokens/s · finished"."""
    parts: list[str] = []
    generated = stats.get("generated_tokens")
    if generated is not None:
        parts.append(f"{generated} token{'s' if generated != 1 else ''}")
    prompt = stats.get("prompt_tokens")
    cached = stats.get("cached_tokens")
    if prompt:
        parts.append(f"prompt {prompt}" + (f" ({cached} cached)" if cached else ""))
    elif cached:
        parts.append(f"{cached} cached")
    ttft = stats.get("ttft_ms")
    if ttft:
        parts.append(f"{ttft / 1000:.2f} s to first token" if ttft >= 100 else f"{ttft:.0f} ms to first token")
    tps = stats.get("generation_tps")
    if tps:
        parts.append(f"{tps:.1f} tokens/s")
    reason = stats.get("finish_reason")
    if reason:
        parts.append(FINISH_REASONS.get(str(reason), str(reason)))
    dropped = stats.get("dropped_turns")
    if dropped:
        parts.append(f"{dropped} older turn{'s' if dropped != 1 else ''} left out to fit the context")
    return " · ".join(parts)


def can_continue(status: str, stats: dict[str, Any]) -> bool:
    """A reply that was cut off (a crash, the stop key or the length limit) can be continued."""
    return status == "interrupted" or stats.get("finish_reason") in ("length", "cancelled")
