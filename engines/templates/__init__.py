"""Chat templates: one sandboxed, Hugging Face-compatible renderer for every engine.

`render_chat`, `check_template` and `preview_template` run the template in a separate
render process with a hard deadline and a memory cap (isolation.py), so no template,
however hostile, can hang or balloon the caller. The sandbox itself is sandbox.py,
its cooperative budget budget.py, and what transformers' templates expect compat.py.
"""

from __future__ import annotations

from typing import Any

from engines.templates.compat import (
    TOO_BIG_MESSAGE,
    TOO_COMPLEX_MESSAGE,
    TOO_SLOW_MESSAGE,
    UNSAFE_MESSAGE,
    TemplateError,
)
from engines.templates.isolation import shared_renderer
from engines.templates.sandbox import MAX_TEMPLATE_CHARS

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "PREVIEW_MESSAGES",
    "TOO_BIG_MESSAGE",
    "TOO_COMPLEX_MESSAGE",
    "TOO_SLOW_MESSAGE",
    "UNSAFE_MESSAGE",
    "TemplateError",
    "check_template",
    "preview_template",
    "render_chat",
]

# The fixed conversation the template editor previews.
PREVIEW_MESSAGES: tuple[dict[str, str], ...] = (
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello! What can you do?"},
    {"role": "assistant", "content": "I can answer questions, explain ideas and help you write."},
    {"role": "user", "content": "Write a haiku about tea."},
)


def _refuse_oversized(source: Any) -> None:
    # Checked here too, so a huge template is never even sent to the render process.
    if isinstance(source, str) and len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError("This model's chat template is larger than 256 KB and was not used.")


def check_template(source: str) -> None:
    """Raise TemplateError with one plain sentence if `source` is not a usable chat template."""
    _refuse_oversized(source)
    shared_renderer().check(source)


def render_chat(
    template: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    tools: list[dict[str, Any]] | None = None,
    documents: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """Render `messages` as transformers' apply_chat_template(tokenize=False) would, or raise TemplateError.

    An empty bos/eos token is left undefined, as it is for a tokenizer without one;
    `extra` holds template variables such as `enable_thinking` or `date_string`.
    """
    _refuse_oversized(template)
    return shared_renderer().render(
        template,
        messages,
        add_generation_prompt=add_generation_prompt,
        bos_token=bos_token,
        eos_token=eos_token,
        tools=tools,
        documents=documents,
        **extra,
    )


def preview_template(source: str, *, bos_token: str = "", eos_token: str = "") -> str:
    """The prompt `source` builds for a fixed system/user/assistant/user conversation, for the template editor."""
    return render_chat(source, [dict(m) for m in PREVIEW_MESSAGES], bos_token=bos_token, eos_token=eos_token)
