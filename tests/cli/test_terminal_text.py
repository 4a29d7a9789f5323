"""What the command line prints: control characters escaped, exit codes by whose fault it was, logs scrubbed."""

from __future__ import annotations

import json

import pytest

from app.cli.exit_codes import exit_code_for
from app.cli.log_setup import redact
from app.cli.terminal_text import json_text, printable
from engines.base import EngineCrashedError, EngineError, InvalidRequestError, ModelFileError
from engines.bounded_files import FileRefusedError


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain words, ünïcode and 中文", "plain words, ünïcode and 中文"),
        ("red \x1b[31mtext\x1b[0m", "red \\x1b[31mtext\\x1b[0m"),
        ("title \x1b]0;pwned\x07 bell", "title \\x1b]0;pwned\\x07 bell"),
        ("csi \x9b2J and del \x7f", "csi \\x9b2J and del \\x7f"),
        ("line\nbreak\rreturn\ttab", "line\\nbreak\\rreturn\ttab"),
        ("file \udcff name", "file \\xff name"),
        ("right-to-left \u202e override", "right-to-left \\u202e override"),
    ],
)
def test_printable_escapes_what_would_act_on_the_terminal(text: str, shown: str) -> None:
    assert printable(text) == shown
    printable(text).encode("utf-8")  # always writable to a UTF-8 terminal


def test_printable_keeps_newlines_only_when_asked() -> None:
    assert printable("a\nb\x1b", multiline=True) == "a\nb\\x1b"
    assert printable(42) == "42"


def test_json_text_stays_readable_and_never_unwritable() -> None:
    assert json_text({"name": "café"}) == '{"name": "café"}'
    odd = json_text({"path": "/models/\udcff.gguf"})
    odd.encode("utf-8")
    assert json.loads(odd) == {"path": "/models/\udcff.gguf"}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ModelFileError("No model file or folder at /x."), 2),
        (InvalidRequestError("Invalid generation settings: top_k must be 0 (off) or more."), 2),
        (FileRefusedError("The template file is a device, not a regular file (/dev/zero)."), 2),
        (EngineCrashedError("The engine was killed."), 1),
        (EngineError("The engine did not answer in time."), 1),
        (RuntimeError("anything else"), 1),
    ],
)
def test_exit_code_says_whose_fault_it_was(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code


def test_template_errors_and_store_errors_have_their_codes() -> None:
    from app.store.errors import ImportFormatError, NotFoundError, StoreBusyError, StoreError, StoreTooNewError
    from engines.templates import TemplateError

    assert exit_code_for(TemplateError("This chat template has a syntax error on line 3.")) == 2
    assert exit_code_for(NotFoundError("There is no template called “x”.")) == 2
    assert exit_code_for(ImportFormatError("The file is not a Parlour export.")) == 2
    assert exit_code_for(StoreBusyError("Another program is using Parlour's conversation store.")) == 1
    assert exit_code_for(StoreTooNewError("The store was written by a newer version of Parlour.")) == 1
    assert exit_code_for(StoreError("Parlour could not open its conversation store.")) == 1


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("HTTP Request: GET https://cdn-lfs.hf.co/repos/a/b?X-Amz-Signature=abc123&Expires=9 200 OK", "abc123"),
        ("redirect to https://cas-bridge.xethub.hf.co/xet-bridge-us/x#frag-secret", "frag-secret"),
        ("headers {'authorization': 'Bearer hf_AbCdEfGhIjKlMnOp'}", "hf_AbCdEfGhIjKlMnOp"),
        ("token=hf_AbCdEfGhIjKlMnOp given", "AbCdEfGhIjKlMnOp"),
        ("Authorization: Bearer sk-local-123", "sk-local-123"),
    ],
)
def test_redact_removes_query_strings_and_tokens(message: str, secret: str) -> None:
    cleaned = redact(message)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_redact_keeps_the_rest() -> None:
    assert redact("GET https://huggingface.co/api/models/a/b?expand=x 200") == (
        "GET https://huggingface.co/api/models/a/b?[redacted] 200"
    )
    assert redact("loaded 12 tokens, prompt_tokens=5") == "loaded 12 tokens, prompt_tokens=5"
