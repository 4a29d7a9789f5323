"""Fuzzing the chat-template renderer with generated templates.

Property: whatever the template, a render returns text or raises the one TemplateError, ends
by the renderer's deadline, stays under the render process's memory cap, and never touches
the file system. The render runs as the app runs it: in the killable render process.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given

from engines.templates import TemplateError, check_template
from engines.templates import isolation as template_isolation
from engines.templates.compat import printable
from engines.templates.isolation import shared_renderer
from tests.fuzz.bounds import alarm
from tests.fuzz.profiles import SEEDS, fuzz_settings
from tests.fuzz.template_strategies import SENTINEL, conversations, templates

RENDER_SECONDS = 0.5  # the cooperative budget per example; the hard deadline follows from it
PEAK_LIMIT = template_isolation.MEMORY_LIMIT + 200 * 1024 * 1024
SEED_FILES = sorted((SEEDS / "templates").glob("*.jinja")) + sorted(
    (Path(__file__).resolve().parent.parent / "fixtures" / "templates").glob("*.jinja")
)


@pytest.fixture(autouse=True)
def no_sentinel() -> None:
    if os.path.exists(SENTINEL):
        os.unlink(SENTINEL)


def check_render(template: str, messages: list[dict[str, str]]) -> None:
    renderer = shared_renderer()
    with alarm():
        try:
            text = renderer.render(template, messages, seconds=RENDER_SECONDS, bos_token="<s>", eos_token="</s>")
        except TemplateError as err:
            message = str(err)
            assert message and "\n" not in message and message == printable(message), message
            assert "Traceback" not in message
        else:
            assert isinstance(text, str)
    assert renderer.last_peak_bytes < PEAK_LIMIT or renderer.pid is None
    assert not os.path.exists(SENTINEL), "a template touched the file system"


@fuzz_settings(examples=150, long_examples=20_000)
@given(template=templates(), messages=conversations())
@example(template="{% for m in messages %}{{ m.role }}: {{ m.content }}{% endfor %}", messages=[])
@example(template="{{ raise_exception('\x1b[2J' ~ messages) }}", messages=[{"role": "user", "content": "\x07"}])
@example(
    template="{% set ns = namespace(x=[1]) %}{% for i in range(30) %}{% set ns.x = [ns.x, ns.x] %}"
    "{% endfor %}{{ ns.x | tojson }}",
    messages=[],
)
def test_generated_templates_render_or_refuse_within_bounds(template: str, messages: list[dict[str, str]]) -> None:
    check_render(template, messages)


@fuzz_settings(examples=150, long_examples=20_000)
@given(template=templates())
def test_checking_a_generated_template_is_a_sentence_or_nothing(template: str) -> None:
    with alarm():
        try:
            check_template(template)
        except TemplateError as err:
            assert "\n" not in str(err)


@pytest.mark.parametrize("seed", SEED_FILES, ids=lambda p: p.name)
def test_real_templates_render_a_fuzzed_conversation(seed: Path) -> None:
    source = seed.read_text(encoding="utf-8")
    check_render(source, [{"role": "user", "content": "\x00\ud800 {{ 7*7 }} {% raw %}"}])
