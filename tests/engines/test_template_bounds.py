"""Hostile chat templates end in one sentence within the renderer's own deadline, under its memory cap.

The renderer runs each template in a child process killed at a hard deadline, so work
inside C (comparing, hashing or formatting structures built by doubling) is bounded
too. Time limits asserted here are generous (a slow machine never fails them, a hang
always does); the sentence is what proves which bound acted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines.templates import (
    TOO_BIG_MESSAGE,
    TOO_COMPLEX_MESSAGE,
    TOO_SLOW_MESSAGE,
    TemplateError,
    check_template,
    isolation,
    render_chat,
)
from engines.templates import budget as template_budget
from engines.templates.isolation import RenderProcess, shared_renderer

GENEROUS_S = 60
RENDER_PEAK_LIMIT = isolation.MEMORY_LIMIT + 200 * 1024 * 1024  # the cap, plus the process's own start-up
HI = [{"role": "user", "content": "hi"}]

# Structures built by doubling: 48 levels are 2**48 nodes to any C loop that walks them.
DOUBLED = (
    "{% set ns = namespace(x=[1], y=[1], t=(1,), u=(1,)) %}{% for i in range(48) %}"
    "{% set ns.x = [ns.x, ns.x] %}{% set ns.y = [ns.y, ns.y] %}{% set ns.t = (ns.t, ns.t) %}{% endfor %}"
)
C_LEVEL_HANGS = [
    DOUBLED + "{{ ns.x == ns.y }}",  # list comparison, as reported
    DOUBLED + "{{ ns.x in [ns.y] }}",  # containment compares the same way
    DOUBLED + "{{ {ns.t: 1} }}",  # hashing a tuple of tuples
    DOUBLED + "{{ [ns.x, ns.y] | sort }}",  # sorting compares
]

BIG_FORMATS = [
    # As reported: 2,000 and 4,000 conversions of one 900 kB string reached 2.1 and 3.75 GB.
    "{% set big = 'a' * 900000 %}{{ ('%s' * 2000) % ((big,) * 2000) }}",
    "{% set big = 'a' * 900000 %}{{ ('%s' * 4000) % ((big,) * 4000) }}",
    "{% set big = 'a' * 900000 %}{{ ('%(x)s' * 2000) % {'x': big} }}",
    "{% set big = 'a' * 900000 %}{{ ('{0}' * 2000).format(big) }}",
    "{% set big = 'a' * 900000 %}{{ ('{x}' * 2000).format_map({'x': big}) }}",
    "{% set big = 'a' * 900000 %}{{ ('%s' * 2000) | format(*((big,) * 2000)) }}",
    "{% set big = 'a' * 900000 %}{{ ('%r' * 200) % ((big,) * 200) }}",
]

TOO_BIG = [
    "{{ 'x' * 10**9 }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x' | center(10**9) }}",
    "{{ ('x' * 999999).replace('', 'yy') }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ '{:>999999999}'.format('') }}",
    "{{ '{:>{}}'.format('', 999999999) }}",
    "{{ '{:.999999999f}'.format(1.5) }}",
    "{{ 2 ** (10**9) }}",
    "{{ (5).to_bytes(10**9, 'big') }}",
    "{{ [messages] * 10**9 }}",
    "{{ lipsum(10**6) }}",
    "{{ ['x' * 999999] * 999999 }}",
    "{{ (['x' * 999999] * 999999) | join }}",
    "{{ ('-').join(['x' * 999999] * 999999) }}",
    "{{ (['x' * 999999] * 999999) | tojson }}",
    "{{ {'a': 'x' * 999999} | tojson(indent=10**6) }}",
    "{{ ['x' * 999999] * 999999 ~ '' }}",
    "{{ ('x\n' * 400000) | indent(100) }}",
    "{{ ('ab' * 400000) | wordwrap(1, wrapstring='x' * 900000) }}",
    "{{ range(10) | batch(10**8, 'x') | list }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
    "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s + 'x' * 20 %}{% endfor %}",
    "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + ['x' * 50] %}{% endfor %}",
    *BIG_FORMATS,
]

LONG_RUNNING = [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% if false %}x{% endif %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% for i in range(100000) recursive %}{{ loop(range(100000)) if false }}{% for j in range(100000) %}"
    "{% endfor %}{% endfor %}",
]

HARD_TO_COMPILE = [
    "{% if 1 %}" * 300 + "{% endif %}" * 300,  # Python's limit on nested blocks in the generated code
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",  # the parser's recursion
    "{{ " + "[" * 3000 + "]" * 3000 + " }}",
    "{% for a in b %}" * 120 + "{% endfor %}" * 120,
]


def _render(template: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_chat(template, HI)
    return str(caught.value), time.monotonic() - started


def _assert_renderer_works() -> None:
    assert render_chat("{% for m in messages %}{{ m.content }}{% endfor %}", HI) == "hi"


@pytest.mark.parametrize("template", C_LEVEL_HANGS)
def test_work_inside_c_ends_at_the_hard_deadline(template: str) -> None:
    restarts = shared_renderer().restarts
    message, seconds = _render(template)
    assert message == TOO_SLOW_MESSAGE
    assert seconds < GENEROUS_S
    _assert_renderer_works()
    assert shared_renderer().restarts == restarts + 1  # the stuck process was killed and replaced


@pytest.mark.parametrize("template", TOO_BIG)
def test_size_bombs_are_refused_before_they_are_built(template: str) -> None:
    message, seconds = _render(template)
    assert message == TOO_BIG_MESSAGE, template
    assert seconds < GENEROUS_S
    assert shared_renderer().last_peak_bytes < RENDER_PEAK_LIMIT


@pytest.mark.parametrize("template", LONG_RUNNING)
def test_loops_are_stopped_by_the_budget(template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_budget, "RENDER_SECONDS", 0.3)
    message, seconds = _render(template)
    assert message in (TOO_SLOW_MESSAGE, TOO_BIG_MESSAGE)
    assert seconds < GENEROUS_S


def test_the_default_deadline_is_a_few_seconds() -> None:
    message, seconds = _render(LONG_RUNNING[0])
    assert message == TOO_SLOW_MESSAGE
    # Not before the budget's own two seconds: the deadline, not an accident, ended it.
    assert seconds >= template_budget.RENDER_SECONDS


@pytest.mark.parametrize("template", [*HARD_TO_COMPILE, "{{ 'a' * 10**10 }}", "{{ ('a' * 10**5) * 10**5 }}"])
def test_what_the_compiler_cannot_handle_is_one_sentence(template: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template)
        render_chat(template, HI)  # compiles fine: the bound is then the render's
    message = str(caught.value)
    assert message in (TOO_COMPLEX_MESSAGE, TOO_BIG_MESSAGE), message
    assert "\n" not in message and "Error" not in message


def test_a_template_larger_than_the_cap_is_not_even_sent() -> None:
    with pytest.raises(TemplateError, match="larger than 256 KB"):
        render_chat("{# " + "x" * (300 * 1024) + " #}", HI)


def test_raise_exception_text_reaches_the_user_without_control_characters() -> None:
    template = "{{ raise_exception('Roles must alternate\x1b[2J\x1b]0;owned\x07 \u202eelif\x00 ' + 'x' * 5000) }}"
    with pytest.raises(TemplateError) as caught:
        render_chat(template, HI)
    message = str(caught.value)
    assert message.startswith("This model's chat template refused the conversation: Roles must alternate")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in message)
    assert len(message) < 500


def test_the_render_process_limits_its_own_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if this side never killed it, the kernel ends a render past its CPU allowance."""
    monkeypatch.setattr(isolation, "GRACE_SECONDS", GENEROUS_S)
    renderer = RenderProcess()
    try:
        with pytest.raises(TemplateError) as caught:
            renderer.render(C_LEVEL_HANGS[0], HI, seconds=1.0)
        assert str(caught.value) == TOO_SLOW_MESSAGE
        assert renderer.restarts == 0 and renderer.pid is None  # it ended by itself
    finally:
        renderer.close()


def test_the_render_process_is_held_to_its_memory_cap() -> None:
    # Fifteen distinct 900 kB strings pass every size check and still need 13 MB.
    template = (
        "{% set ns = namespace(l=[]) %}{% for i in range(15) %}{% set ns.l = ns.l + [('x' * 900000) ~ i] %}"
        "{% endfor %}{{ ns.l | length }}"
    )
    roomy = RenderProcess()
    tight = RenderProcess(memory_limit=4 * 1024 * 1024)
    try:
        assert roomy.render(template, HI) == "15"  # so only the cap can make the next one fail
        with pytest.raises(TemplateError) as caught:
            tight.render(template, HI)
        assert str(caught.value) == TOO_BIG_MESSAGE
        assert tight.render("{{ 1 + 1 }}", HI) == "2"  # a fresh process after the failure
    finally:
        roomy.close()
        tight.close()


CHILD = """
import sys, threading
sys.path.insert(0, {root!r})
from engines.templates.isolation import shared_renderer
renderer = shared_renderer()
renderer.start()
print(renderer.pid, flush=True)
threading.Thread(target=lambda: renderer.render({template!r}, [], seconds=3600), daemon=True).start()
threading.Event().wait()
"""


def test_the_render_process_dies_with_its_parent(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=root, template=C_LEVEL_HANGS[0])], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        render_pid = int(parent.stdout.readline())
        time.sleep(0.5)  # let the render start its endless comparison
        assert _alive(render_pid)
    finally:
        parent.kill()
        parent.wait()
    _wait_until_gone(render_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + GENEROUS_S
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"process {pid} outlived its parent")
        time.sleep(0.1)
