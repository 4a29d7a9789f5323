"""`parlour --self-test`: prove that Parlour works on this machine, end to end, in a few seconds.

It loads the starter model on its default engine, streams a short greedy reply, writes and
reads back a conversation in a temporary store, and renders a built-in chat template through
the render process. Every app bundle runs it in its smoke test, and a person can run it when
something is wrong. It touches no network and leaves the person's own store alone.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app import __version__
from app.cli.exit_codes import EXIT_FAILED, EXIT_OK
from app.cli.terminal_text import fail, printable

QUESTION = "What is the capital of France? Answer in one word."
REPLY_TOKENS = 16
_DISTRIBUTIONS = ("llama-cpp-python", "mlx", "mlx-lm", "PySide6-Essentials", "jinja2", "huggingface_hub")


class SelfTestFailure(Exception):
    """One check failed; str() is the sentence to show."""


@dataclass
class SelfTestReport:
    ok: bool = False
    parlour: str = __version__
    python: str = field(default_factory=platform.python_version)
    platform: str = field(default_factory=lambda: f"{platform.system()} {platform.machine()}")
    bundled: bool = field(default_factory=lambda: bool(getattr(sys, "frozen", False)))
    data_folder: str = ""
    model: str = ""
    engine: str = ""
    reply: str = ""
    tokens: int = 0
    tokens_per_s: float = 0.0
    store_round_trip: bool = False
    template_rendered: bool = False
    versions: dict[str, str | None] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def run_self_test(as_json: bool = False) -> int:
    started = time.perf_counter()
    report = SelfTestReport(versions={name: _version(name) for name in _DISTRIBUTIONS})
    try:
        report.data_folder = _data_folder()
        _check_template(report)
        _check_store(report)
        _check_reply(report)
        report.ok = True
    except SelfTestFailure as failure:
        report.error = str(failure)
    report.seconds = round(time.perf_counter() - started, 2)
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        _print_report(report)
    if report.ok:
        return EXIT_OK
    return fail(report.error or "The self-test failed.", EXIT_FAILED)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _data_folder() -> str:
    from app.paths import data_dir

    try:
        return str(data_dir())
    except OSError as err:
        raise SelfTestFailure(f"Parlour cannot use its data folder ({err.strerror or err}).") from None


def _check_template(report: SelfTestReport) -> None:
    from engines.base import EngineError
    from engines.template_choice import builtin_template
    from engines.templates import render_chat

    try:
        prompt = render_chat(builtin_template("chatml"), [{"role": "user", "content": QUESTION}])
    except (EngineError, OSError) as err:
        raise SelfTestFailure(f"The built-in chat template could not be rendered: {err}") from None
    if not prompt.endswith("<|im_start|>assistant\n") or QUESTION not in prompt:
        raise SelfTestFailure("The built-in chat template rendered something unexpected.")
    report.template_rendered = True


def _check_store(report: SelfTestReport) -> None:
    from app.store import conversations, messages
    from app.store.branches import load_thread
    from app.store.db import open_store
    from app.store.errors import StoreError

    with tempfile.TemporaryDirectory(prefix="parlour-self-test-") as folder:
        try:
            store = open_store(Path(folder) / "parlour.db")
            try:
                created = conversations.create_conversation(store, title="Self-test")
                messages.add_user_message(store, created.id, QUESTION)
                thread = load_thread(store, created.id)
            finally:
                store.close()
        except (StoreError, OSError) as err:
            raise SelfTestFailure(f"A conversation could not be stored and read back: {err}") from None
    if [m.content for m in thread.messages] != [QUESTION]:
        raise SelfTestFailure("A conversation stored in a temporary store did not read back the same.")
    report.store_round_trip = True


def _check_reply(report: SelfTestReport) -> None:
    from app.library.starter import STARTER_NAME, starter_model_path
    from engines.base import Delta, EngineError, Finished, GenerationParams
    from engines.host_client import EngineClient

    path = starter_model_path()
    if path is None:
        raise SelfTestFailure("The starter model is missing from this installation; reinstall Parlour.")
    report.model = STARTER_NAME
    params = GenerationParams(temperature=0.0, max_tokens=REPLY_TOKENS, repeat_penalty=1.0)
    parts: list[str] = []
    finished: Finished | None = None
    try:
        with EngineClient() as client:
            client.load(str(path))
            report.engine = client.engine or ""
            for event in client.generate([{"role": "user", "content": QUESTION}], params):
                if isinstance(event, Delta) and not event.reasoning:
                    parts.append(event.text)
                elif isinstance(event, Finished):
                    finished = event
    except EngineError as err:
        raise SelfTestFailure(f"The starter model could not answer: {err}") from None
    if finished is None or finished.finish_reason == "error":
        reason = finished.error if finished else "the engine stopped without finishing"
        raise SelfTestFailure(f"The starter model could not answer: {reason}")
    report.reply = "".join(parts).strip()
    report.tokens = finished.stats.generated_tokens
    report.tokens_per_s = round(finished.stats.generation_tps, 1)
    if not report.reply:
        raise SelfTestFailure("The starter model answered with nothing.")


def _print_report(report: SelfTestReport) -> None:
    lines = [
        f"Parlour {report.parlour} on {report.platform}, Python {report.python}"
        + (" (app bundle)" if report.bundled else ""),
        f"Data folder:     {report.data_folder or '-'}",
        f"Template:        {'rendered' if report.template_rendered else 'not checked'}",
        f"Store:           {'a conversation written and read back' if report.store_round_trip else 'not checked'}",
    ]
    if report.reply:
        lines.append(f"Model:           {report.model} on {report.engine}")
        lines.append(f"Reply:           {printable(report.reply)[:120]}")
        lines.append(f"Speed:           {report.tokens} tokens at {report.tokens_per_s} tokens/s")
    known = ", ".join(f"{name} {version}" for name, version in report.versions.items() if version)
    lines.append(f"Versions:        {known}")
    lines.append(f"Result:          {'all checks passed' if report.ok else 'FAILED'} in {report.seconds} s")
    print("\n".join(printable(line) for line in lines))
