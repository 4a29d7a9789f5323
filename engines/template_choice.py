"""Which chat template a reply uses, and why: never a silent guess.

Order: the user's override for this model, then the model's own template, then a
built-in chosen by the special tokens the vocabulary has, with a notice saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable

# Read through importlib.resources so the templates are found in a wheel or an app bundle too.
BUILTIN_DIR: Traversable = files("resources.templates")

# (built-in name, the special tokens that identify the family); the first match wins.
BUILTIN_SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("chatml", ("<|im_start|>", "<|im_end|>")),
    ("llama3", ("<|start_header_id|>", "<|eot_id|>")),
    ("gemma", ("<start_of_turn>", "<end_of_turn>")),
    ("phi3", ("<|user|>", "<|end|>")),
    ("mistral", ("[INST]", "[/INST]")),
)


@dataclass(frozen=True)
class ChosenTemplate:
    source: str  # "override", "model" or "builtin:NAME"
    text: str
    notice: str | None = None


@lru_cache(maxsize=16)
def builtin_template(name: str) -> str:
    """The text of the built-in template `name` ("chatml", "llama3", ...): ChatML is the last resort."""
    return (BUILTIN_DIR / f"{name}.jinja").read_text(encoding="utf-8")


def choose_template(
    override: str | None,
    model_template: str | None,
    has_special_token: Callable[[str], bool],
) -> ChosenTemplate:
    if override and override.strip():
        return ChosenTemplate("override", override)
    if model_template and model_template.strip():
        return ChosenTemplate("model", model_template)
    for name, tokens in BUILTIN_SIGNATURES:
        if all(has_special_token(token) for token in tokens):
            return ChosenTemplate(
                f"builtin:{name}",
                builtin_template(name),
                f"This model has no chat template; Parlour is using its built-in {name} template, "
                "which matches the model's special tokens.",
            )
    return ChosenTemplate(
        "builtin:chatml",
        builtin_template("chatml"),
        "This model has no chat template and none of the known formats matches its vocabulary; "
        "Parlour is using ChatML. If replies look wrong, choose a template for this model.",
    )
