"""What a `parlour chat` runs with: the model, its sampling settings, system prompt and template.

Checked before any engine starts, so a bad file or an impossible setting is one sentence at once.
A stored conversation (`--continue`) brings its own model, system prompt and parameters; what is
typed on the command line wins over them. The model is loaded with its own stored load settings
(`parlour models settings`, or the window's model picker), and the load options typed win over those.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.terminal_text import note

if TYPE_CHECKING:
    from app.store.db import Store
    from app.store.records import Conversation
    from engines.base import GenerationParams, LoadSettings

SAMPLING_OPTIONS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed")
SCHEMA_FILE_LIMIT = 1 << 20  # a JSON Schema file is read whole; far past any real one


@dataclass
class ChatSetup:
    path: Path | str  # the model file or folder, or a remote model's load reference (a str)
    model_label: str  # how a stored conversation names the model: a name or path `--model` takes again
    engine: str  # "auto", "mlx" or "llamacpp", as asked for
    context_length: int | None
    params: GenerationParams
    load_options: dict[str, Any] = field(default_factory=dict)  # LoadSettings' fields the person set
    load_settings: LoadSettings | None = None  # what the load gets: the model's stored ones, then the options
    system_prompt: str = ""
    template: str | None = None  # the person's template, if any: --template, else their override
    template_vars: dict[str, Any] | None = field(default=None)

    def first_messages(self, prompt: str) -> list[dict[str, str]]:
        """A new conversation of one prompt, after the system prompt if there is one."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": prompt}]


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """How the model is loaded: the KV cache, flash attention, batch, memory map and lock, threads, and
    speculative decoding. Each one typed wins over the model's stored setting (`parlour models settings`)."""
    parser.add_argument("--kv-cache", choices=["f16", "q8_0", "q4_0"], help="the KV cache's type (default f16)")
    parser.add_argument(
        "--flash-attn", choices=["on", "off"], help="llama.cpp's flash attention (on for a quantized KV)"
    )
    parser.add_argument("--batch-size", type=int, help="llama.cpp's prompt batch in tokens (default 512)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: chosen by the load on the machine)")
    parser.add_argument("--gpu-layers", type=int, help="layers on the GPU, -1 for all (llama.cpp)")
    parser.add_argument("--no-mmap", action="store_true", help="read the weights into memory instead of mapping them")
    parser.add_argument("--mlock", action="store_true", help="keep the weights in RAM, never paged out")
    parser.add_argument(
        "--no-lookup", action="store_true", help="no speculative decoding from the prompt's own words (prompt lookup)"
    )
    parser.add_argument(
        "--draft-model", metavar="REF", help="a smaller model of the same vocabulary that drafts tokens: a name or path"
    )
    parser.add_argument("--draft-tokens", type=int, metavar="N", help="the most draft tokens checked at once (1-64)")


def load_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "kv_cache", None):
        options["kv_cache_type"] = args.kv_cache
    if getattr(args, "flash_attn", None):
        options["flash_attention"] = args.flash_attn == "on"
    for name, field_name in (("batch_size", "batch_size"), ("threads", "threads"), ("gpu_layers", "gpu_layers")):
        if getattr(args, name, None) is not None:
            options[field_name] = getattr(args, name)
    if getattr(args, "no_mmap", False):
        options["memory_map"] = False
    if getattr(args, "mlock", False):
        options["memory_lock"] = True
    if getattr(args, "no_lookup", False):
        options["prompt_lookup"] = False
    if getattr(args, "draft_model", None):
        options["draft_model"] = draft_model_path(args.draft_model)
    if getattr(args, "draft_tokens", None) is not None:
        options["max_draft_tokens"] = args.draft_tokens
    return options


def draft_model_path(ref: str) -> str:
    """The path of the draft model `ref` names (as --model takes it); ModelFileError or InvalidRequestError
    with a sentence when it is not a model file or folder on this computer."""
    from engines.base import InvalidRequestError
    from engines.inspect import inspect_model

    path, _label = locate_model(ref)
    if isinstance(path, str):
        raise InvalidRequestError("A draft model must be a model on this computer, not a remote one.")
    inspect_model(path)  # a missing or broken file is its sentence now, not a failed load later
    return str(path)


def chat_load_settings(
    path: Path | str, options: dict[str, Any], context_length: int | None, store: Store | None
) -> LoadSettings:
    """The model's stored load settings, then the load options typed (`options`, and --context-length)."""
    from app.library.load_choice import effective_load_settings

    explicit = {**options, "context_length": context_length} if context_length is not None else options
    return effective_load_settings(path, store, explicit)


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--temperature", type=float, help="randomness, 0 for greedy (default 0.7)")
    parser.add_argument("--top-p", type=float, help="nucleus sampling cut-off (default 0.95)")
    parser.add_argument("--top-k", type=int, help="sample among the k likeliest tokens, 0 for off (default 40)")
    parser.add_argument("--min-p", type=float, help="drop tokens below this share of the likeliest (default 0.05)")
    parser.add_argument("--repeat-penalty", type=float, help="penalty for repeated tokens (default 1.1)")
    parser.add_argument("--max-tokens", type=int, help="longest reply in tokens (default 1024)")
    parser.add_argument("--seed", type=int, help="random seed for a repeatable reply")
    parser.add_argument("--stop", action="append", default=[], help="stop the reply at this text (repeatable)")


def params_from_args(args: argparse.Namespace, stored: dict[str, Any] | None = None) -> GenerationParams:
    """The sampling settings: Parlour's defaults, then a stored conversation's, then what was typed."""
    from engines.base import GenerationParams

    values: dict[str, Any] = dict(stored or {})
    for name in SAMPLING_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.stop:
        values["stop"] = tuple(args.stop)
    if getattr(args, "context_policy", None):
        values["context_policy"] = args.context_policy
    chosen_format = response_format_from_args(args)
    if chosen_format is not None:
        values["response_format"] = chosen_format
    return GenerationParams.from_dict(values)


def response_format_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """--json-schema FILE, --json-object, --regex or --choice as a response format; FileRefusedError or
    InvalidRequestError with a sentence for a schema file that cannot be read or is not JSON."""
    import json

    from engines.base import InvalidRequestError
    from engines.bounded_files import read_bounded_text

    if getattr(args, "json_schema", None):
        text = read_bounded_text(Path(args.json_schema), SCHEMA_FILE_LIMIT, what="The JSON Schema file")
        try:
            schema = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise InvalidRequestError(f"{args.json_schema} is not valid JSON ({err}).") from None
        return {"type": "json_schema", "schema": schema}
    if getattr(args, "json_object", False):
        return {"type": "json_object"}
    if getattr(args, "regex", None):
        return {"type": "regex", "pattern": args.regex}
    if getattr(args, "choice", None):
        return {"type": "choice", "choices": list(args.choice)}
    return None


def prepare_chat(
    args: argparse.Namespace, conversation: Conversation | None = None, store: Store | None = None
) -> ChatSetup:
    """Everything the chat needs, checked; raises EngineError (or FileRefusedError) with a sentence."""
    from app.cli.template_files import read_checked_template
    from app.store.templates import override_for
    from engines.host import choose_engine
    from engines.inspect import inspect_model

    stored_params = conversation.parameters if conversation is not None else None
    params = params_from_args(args, _usable(stored_params))
    path, label = _chosen_model(args.model, conversation)
    info = inspect_model(path)  # header checks here: a bad file fails fast, before any engine starts
    choose_engine(info.engine, args.engine)
    check_context_length(args.context_length, info.context_length)
    options = load_options_from_args(args)
    template = read_checked_template(args.template)
    if template is None and isinstance(path, Path):  # a remote model's server applies its own template
        template = override_for(path, store)
    system = args.system if args.system is not None else (conversation.system_prompt if conversation else "")
    return ChatSetup(
        path=path,
        model_label=label,
        engine=args.engine,
        context_length=args.context_length,
        load_options=options,
        load_settings=chat_load_settings(path, options, args.context_length, store),
        params=params,
        system_prompt=system or "",
        template=template,
        template_vars={"enable_thinking": args.thinking == "on"} if args.thinking else None,
    )


def _usable(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored conversation's parameters if they still make valid settings (an older or hand-edited
    store may hold ones that do not), else None: then Parlour's defaults apply."""
    from engines.base import EngineError, GenerationParams

    if not stored:
        return None
    try:
        GenerationParams.from_dict(stored)
    except (EngineError, TypeError, ValueError):
        note("This conversation's stored sampling settings are not usable; Parlour's defaults apply.")
        return None
    return stored


def _chosen_model(ref: str | None, conversation: Conversation | None) -> tuple[Path | str, str]:
    """The model to run and its label: --model, else the stored conversation's, else the default."""
    from engines.base import ModelFileError

    if ref is None and conversation is not None and conversation.model:
        try:
            return locate_model(conversation.model)
        except ModelFileError:
            note(f"The model this conversation used ({conversation.model}) is not here; using the default model.")
    return locate_model(ref)


def locate_model(ref: str | None) -> tuple[Path | str, str]:
    """The path of a model named by `ref` (None: the default model), and the label to store for it:
    its listed name, or its absolute path when `ref` is a path. `remote:NAME/MODEL` names a model on
    an added endpoint: its load reference, labelled as typed."""
    from app.library.catalog import absolute_path, default_model, resolve_model
    from app.library.remotes import USER_PREFIX, resolve_remote

    if ref is not None and ref.startswith(USER_PREFIX):
        return resolve_remote(ref).path, ref
    if ref is None:
        model = default_model()
        if model is None:
            return resolve_model(None), ""  # raises the sentence about installing a model
        return model.path, model.name
    path = resolve_model(ref)
    return path, (str(path) if os.path.exists(absolute_path(ref)) else ref)


def check_context_length(wanted: int | None, trained: int | None) -> None:
    """Refuse a context window beyond what the model was trained for, before an engine tries to allocate it."""
    from engines.base import InvalidRequestError

    if wanted is not None and trained and wanted > trained:
        raise InvalidRequestError(
            f"The context length {wanted:,} is more than this model supports ({trained:,} tokens); "
            "choose at most that, or leave --context-length out."
        )
