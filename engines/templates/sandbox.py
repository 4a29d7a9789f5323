"""The sandboxed, Hugging Face-compatible chat-template renderer, in this process.

Chat templates come from model files, so they are untrusted code: llama-cpp-python's
CVE-2024-34359 was a GGUF template run in a plain jinja2 Environment. Every template
is rendered in an ImmutableSandboxedEnvironment set up the way transformers 5.x sets up
its own (same globals, filters, `{% generation %}` tag and inputs), so the prompt is the
one `apply_chat_template(..., tokenize=False)` would give, byte for byte.

On top of that sandbox, a render is bounded: any access to a private or dunder attribute
raises instead of quietly giving an undefined, and a per-render budget (budget.py) stops
templates that loop for too long or build too much text. That budget is cooperative;
callers outside the render process use `engines.templates.render_chat`, which runs this
in a process killed at a hard deadline (isolation.py).
"""

from __future__ import annotations

from collections import abc
from functools import lru_cache
from typing import Any

from engines.templates.budget import (
    ACTIVE,
    Budget,
    TooBig,
    TooSlow,
    Unsafe,
)
from engines.templates.compat import (
    TOO_BIG_MESSAGE,
    TOO_COMPLEX_MESSAGE,
    TOO_SLOW_MESSAGE,
    UNSAFE_MESSAGE,
    TemplateError,
    TemplateRaised,
    plain_data,
    prepare_messages,
    quoted,
    sentence,
)

MAX_TEMPLATE_CHARS = 256 * 1024  # the largest published templates are about 20 KB


@lru_cache(maxsize=1)
def _environment() -> Any:
    """The sandbox, built once on first use (jinja2 is imported only when a prompt is rendered)."""
    from engines.templates.jinja_sandbox import build_environment

    return build_environment()


@lru_cache(maxsize=32)
def _compile(source: str) -> Any:
    if not isinstance(source, str):
        raise TemplateError("The chat template is not text.")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError("This model's chat template is larger than 256 KB and was not used.")
    env = _environment()
    from jinja2 import TemplateSyntaxError

    try:
        return env.from_string(source)
    except TemplateSyntaxError as err:
        message = f"The chat template has a syntax error on line {err.lineno}: {quoted(str(err.message))}"
        raise TemplateError(sentence(message)) from None
    except TemplateError:
        raise
    except (RecursionError, SyntaxError, MemoryError, OverflowError, ValueError):
        # Deep nesting reaches Python's own limits in jinja's parser or in compile() of the code it
        # generates ("too many statically nested blocks"); none of that is the person's to read.
        raise TemplateError(TOO_COMPLEX_MESSAGE) from None
    except (Unsafe, TooBig, TooSlow):
        raise TemplateError(UNSAFE_MESSAGE) from None
    except Exception as err:  # the compiler met something it cannot handle: the template's fault
        reason = quoted(str(err) or type(err).__name__)
        raise TemplateError(sentence(f"The chat template cannot be read: {reason}")) from None


def check_in_process(source: str) -> None:
    """Raise TemplateError with one plain sentence if `source` is not a usable chat template."""
    _compile(source)


def render_in_process(
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
    compiled = _compile(template)
    from jinja2.exceptions import SecurityError

    if tools is not None and not all(isinstance(tool, abc.Mapping) for tool in tools):
        raise TemplateError("Each tool must be a JSON schema given as a dictionary.")
    if documents is not None and not all(isinstance(doc, abc.Mapping) for doc in documents):
        raise TemplateError("Each document must be a dictionary with a title and text.")
    variables = plain_data({"tools": tools, "documents": documents, **extra})
    variables.update(
        {name: token for name, token in (("bos_token", bos_token), ("eos_token", eos_token)) if token},
        messages=prepare_messages(messages),
        add_generation_prompt=add_generation_prompt,
    )
    # The allowance grows with the input: a long conversation legitimately renders long.
    budget = Budget(len(repr(variables)))
    token = ACTIVE.set(budget)
    try:
        pieces, size = [], 0
        for piece in compiled.generate(**variables):
            size += len(piece)
            budget.fits(size)
            pieces.append(piece)
        return "".join(pieces)
    except TemplateRaised as err:
        refusal = f"This model's chat template refused the conversation: {quoted(str(err))}"
        raise TemplateError(sentence(refusal)) from None
    except (Unsafe, SecurityError):
        raise TemplateError(UNSAFE_MESSAGE) from None
    except TooSlow:
        raise TemplateError(TOO_SLOW_MESSAGE) from None
    except (TooBig, MemoryError, OverflowError):
        raise TemplateError(TOO_BIG_MESSAGE) from None
    except RecursionError:
        raise TemplateError(TOO_COMPLEX_MESSAGE) from None
    except Exception as err:  # a template is arbitrary code; any failure is the template's
        raise TemplateError(sentence(f"The chat template failed: {quoted(str(err) or type(err).__name__)}")) from None
    finally:
        ACTIVE.reset(token)
