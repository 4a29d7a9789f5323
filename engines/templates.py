"""One sandboxed, Hugging Face-compatible chat-template renderer for every engine.

Chat templates come from model files, so they are untrusted code: llama-cpp-python's
CVE-2024-34359 was a GGUF template run in a plain jinja2 Environment. Every template
is rendered in an ImmutableSandboxedEnvironment with the helpers HF templates use.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from engines.base import EngineError

# Used only when a model carries no template of its own; the caller shows a notice.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class TemplateError(EngineError):
    """The chat template failed: a syntax error, a raise_exception(), or an unsafe operation."""

    code = "template_error"


class _TemplateRaised(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise _TemplateRaised(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False, **_: Any) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


@lru_cache(maxsize=32)
def _compile(source: str) -> Any:
    # Imported here: jinja2 is only needed once a prompt is rendered.
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


def render_chat(
    template: str,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    **extra: Any,
) -> str:
    """Render `messages` with `template`, or raise TemplateError with one plain sentence."""
    from jinja2 import TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    try:
        compiled = _compile(template)
    except TemplateSyntaxError as err:
        raise TemplateError(f"The chat template has a syntax error on line {err.lineno}: {err.message}.") from None
    try:
        return compiled.render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
            **extra,
        )
    except _TemplateRaised as err:
        raise TemplateError(f"The chat template refused this conversation: {err}") from None
    except SecurityError:
        raise TemplateError("This model's chat template tried an unsafe operation and was not used.") from None
    except Exception as err:  # a template is arbitrary code; any failure is the template's
        raise TemplateError(f"The chat template failed: {err.__class__.__name__}: {err}") from None


def render_for_model(
    model_template: str | None,
    messages: list[dict[str, Any]],
    *,
    bos_token: str | None,
    eos_token: str | None,
) -> str:
    """The prompt for a model: its own template, else ChatML (a later layer shows a notice)."""
    return render_chat(
        model_template or CHATML_TEMPLATE,
        messages,
        add_generation_prompt=True,
        bos_token=bos_token or "",
        eos_token=eos_token or "",
    )
