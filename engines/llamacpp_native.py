"""What llama-cpp-python does on its own that Parlour redirects: llama.cpp's log lines, and the chat
templates `Llama.__init__` would otherwise compile from a model file."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

native_log = logging.getLogger("parlour.llama.cpp")

# ggml's enum ggml_log_level (NONE, DEBUG, INFO, WARN, ERROR, CONT); CONT continues the previous line's level.
_LEVELS = {0: logging.CRITICAL, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_LOG_CONT = 5
_log_callback: Any = None  # kept alive for as long as llama.cpp may call it
_last_level = logging.DEBUG


def route_native_logs() -> None:
    """Send llama.cpp's own log lines to Parlour's log instead of the terminal."""
    global _log_callback
    import llama_cpp

    if _log_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def _forward(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        global _last_level
        if level != _LOG_CONT:
            _last_level = _LEVELS.get(level, logging.DEBUG)
        line = text.decode("utf-8", errors="replace").rstrip()
        if line:
            native_log.log(_last_level, "%s", line)

    _log_callback = _forward
    llama_cpp.llama_log_set(_forward, ctypes.c_void_p(0))


class _TemplateNeverCompiled:
    """Stands in for llama-cpp-python's Jinja2ChatFormatter inside the engine host.

    `Llama.__init__` builds one formatter, with its own Jinja environment, for every
    `tokenizer.chat_template*` entry in the GGUF metadata, and Jinja's compiler folds
    constant expressions: a hostile model file cost minutes and gigabytes there, before
    Parlour's sandbox ever saw the template. Parlour renders every prompt itself and never
    calls llama-cpp-python's chat API, so no model template is compiled here at all.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def to_chat_handler(self) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("Parlour renders chat templates itself; llama-cpp-python's chat API is not used.")

        return refuse


def never_compile_model_templates() -> None:
    """Make llama-cpp-python blind to the model's chat templates, for every template key."""
    from llama_cpp import _internals, llama_chat_format

    llama_chat_format.Jinja2ChatFormatter = _TemplateNeverCompiled  # type: ignore[misc,assignment]
    model_class = _internals.LlamaModel
    if getattr(model_class.metadata, "_parlour_filtered", False):
        return
    unfiltered = model_class.metadata

    def metadata_without_templates(self: Any) -> dict[str, str]:
        # Belt and braces: what llama-cpp-python never sees, no later version of it can compile.
        return {k: v for k, v in unfiltered(self).items() if not k.startswith("tokenizer.chat_template")}

    metadata_without_templates._parlour_filtered = True  # type: ignore[attr-defined]
    model_class.metadata = metadata_without_templates  # type: ignore[method-assign]
