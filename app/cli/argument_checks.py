"""Every value a person typed, checked in one place before any command runs.

argparse decodes the command line with `surrogateescape`, so bytes that are not UTF-8
(`parlour chat $'\\xff'`) arrive as lone surrogates that crash the first write to a file,
a database or the engine host. Names with newlines, empty names and paths, and numbers
no engine can honour are refused here too, each with one sentence naming the option.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

INT_MAX = 2**31 - 1
# The smallest value that makes sense, per integer option (others: 0).
INT_MINIMUM = {"max_tokens": 1, "context_length": 16, "limit": 1}
# Options that name something or point to a file: an empty value is a mistake, never "the default".
NOT_EMPTY = {
    "model",
    "ref",
    "name",
    "file",
    "path",
    "template",
    "repo",
    "author",
    "include",
    "stop",
    "output",
    "continue_id",
}
# Names that end up stored or matched against a list: a newline or escape in one is always a mistake.
NO_CONTROL_CHARACTERS = {"model", "ref", "name", "repo", "author", "include", "engine"}


def labels(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """dest -> how the person wrote it (`--max-tokens`, `PROMPT`), for the parsers this command used."""
    found: dict[str, str] = {}
    for action in parser._actions:  # argparse keeps its actions here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest, None)
            if chosen in action.choices:
                found.update(labels(action.choices[chosen], args))
        elif action.dest not in found and action.dest is not argparse.SUPPRESS:
            if action.option_strings:
                found[action.dest] = max(action.option_strings, key=len)
            else:
                metavar = action.metavar if isinstance(action.metavar, str) else None
                found[action.dest] = metavar or action.dest.upper()
    return found


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(dest: str, label: str, text: str) -> str | None:
    if not _is_utf8(text):
        return (
            f"{label} is not valid UTF-8 text (the terminal passed bytes that are not UTF-8); "
            "retype it, or set the terminal's encoding to UTF-8."
        )
    if "\0" in text:
        return f"{label} contains a NUL character, which Parlour cannot use."
    if dest in NOT_EMPTY and not text.strip():
        if label.startswith("-"):
            return f"{label} is empty; give it a value, or leave the option out."
        return f"{label} is empty; Parlour needs a value there."
    if dest in NO_CONTROL_CHARACTERS and any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        return f"{label} contains a line break or another control character; names cannot hold those."
    return None


def _check_number(dest: str, label: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        low = INT_MINIMUM.get(dest, 0)
        if value < low:
            return f"{label} must be at least {low} (got {value})."
        if value > INT_MAX:
            return (
                f"{label} must be at most {INT_MAX:,} (got {value:,})."
                if value < 10**30
                else (f"{label} must be at most {INT_MAX:,}.")
            )
    if isinstance(value, float) and not math.isfinite(value):
        return f"{label} must be a finite number (got {value})."
    return None


def argument_problem(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """One sentence about the first unusable value in `args`, or None when all are usable."""
    names = labels(parser, args)
    for dest, value in vars(args).items():
        label = names.get(dest, f"--{dest.replace('_', '-')}")
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            problem = _check_text(dest, label, item) if isinstance(item, str) else _check_number(dest, label, item)
            if problem:
                return problem
    return None
