"""Chat view smoothness: stream a long Markdown reply into the real view and time the GUI thread.

A synthetic 8,000-token reply (prose, lists, tables, code in several languages) arrives at 300
tokens/s, one typed Delta event per token, through the path the engine uses: a QObject's
Signal(str, object) emitted on a worker thread, delivered by queued connection to a GUI-thread
slot that calls MessageModel.append_text (as app/ui/engine_bridge.py and the chat controller
do; the real host even coalesces deltas closer than 20 ms, so this is harsher). The thread
already holds 200 messages. A 5 ms heartbeat timer measures how long the event loop stalls.

Also: time to first paint after opening a 1,000-message thread, and the cold start of `parlour`
to its window (PARLOUR_MEASURE_STARTUP=1). Prints one JSON object.

    QT_QPA_PLATFORM=offscreen python benchmarks/ui_stream.py [--tokens 8000] [--rate 300]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.chat_theme import DARK_CODE_STYLE, LIGHT_CODE_STYLE  # noqa: E402
from app.ui.chat_view import ChatView  # noqa: E402
from app.ui.code_highlight import wait_for_warm_up, warm_up_in_background  # noqa: E402
from app.ui.message_model import DONE, STREAMING, MessageModel, MessageRow  # noqa: E402
from engines.base import Delta, Finished, GenerationStats  # noqa: E402

TOKEN = re.compile(r"\s*(?:[A-Za-z]{1,7}|\d|[^\sA-Za-z\d])|\s+")
HEARTBEAT_MS = 5
WINDOW = 500  # tokens: update costs are compared over [500, 1000) and [N - 500, N), one section each

CODE = {
    "python": 'def fetch(url: str, retries: int = 3) -> bytes:\n    """Download with retries."""\n'
    "    for attempt in range(retries):\n        try:\n            return http.get(url, timeout=10).content\n"
    '        except TimeoutError as err:\n            log.warning("attempt %d failed: %s", attempt, err)\n'
    '    raise RuntimeError(f"gave up on {url}")\n',
    "javascript": "export async function load(path) {\n  const res = await fetch(path);\n"
    "  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}\n",
    "rust": "fn mean(xs: &[f64]) -> Option<f64> {\n    if xs.is_empty() {\n        return None;\n    }\n"
    "    Some(xs.iter().sum::<f64>() / xs.len() as f64)\n}\n",
    "bash": 'set -euo pipefail\nfor f in *.log; do\n  gzip -9 "$f" && echo "packed $f"\ndone\n',
}


def section(k: int) -> str:
    """One ~500-token section; sections repeat with variations, so windows far apart are alike."""
    language = list(CODE)[k % len(CODE)]
    return (
        f"## Part {k + 1}: notes on step {k + 1}\n\n"
        f"The **main idea** of step {k + 1} is to keep each change small, measurable and easy to undo. "
        "When a change touches the *hot path*, profile it first, then compare against the baseline with "
        "`perf stat` or a [flame graph](https://example.org/flame). Small wins add up over many releases.\n\n"
        "- Keep the build reproducible and pinned.\n"
        "- Measure before and after every change, on the same machine.\n"
        "  - Use the median of several runs, not the best one.\n"
        "- Write down what you tried, including what failed.\n\n"
        f"```{language}\n{CODE[language]}```\n\n"
        "| Setting | Default | Effect |\n|---|---:|:---:|\n"
        f"| threads | {k % 8 + 1} | parallel work |\n| batch | 512 | prompt speed |\n| cache | on | reuse |\n\n"
        "1. Read the logs.\n2. Reproduce the fault with the smallest input.\n3. Fix it and add a test.\n\n"
        "> A slow program that is correct can be made fast; a fast one that is wrong is of no use.\n\n"
        "In practice the details matter: memory layout, cache lines and the number of allocations per "
        "request often decide more than the algorithm on paper does. Keep notes and numbers.\n\n"
    )


def synthetic_reply(tokens: int) -> list[str]:
    pieces: list[str] = []
    k = 0
    while len(pieces) < tokens:
        pieces.extend(TOKEN.findall(section(k)))
        k += 1
    return pieces[:tokens]


def history(count: int) -> list[MessageRow]:
    rows = []
    for i in range(count):
        if i % 2 == 0:
            rows.append(MessageRow(i, "user", f"Question {i}: how should I approach step {i}?"))
        else:
            content = section(i) if i % 6 == 1 else f"A short answer to question {i - 1}, with `code` and **bold**."
            stats = GenerationStats(
                generated_tokens=240, prompt_tokens=1200, cached_tokens=1100, ttft_ms=180.0, generation_tps=30.5
            )
            rows.append(MessageRow(i, "assistant", content, stats=stats, finish_reason="stop"))
    return rows


class FakeEngine(QObject):
    """Stands in for EngineBridge: messages emitted on a worker thread, like the host client's reader."""

    message = Signal(str, object)

    def stream(self, request_id: str, pieces: list[str], rate: float) -> threading.Thread:
        def run() -> None:
            start = time.perf_counter()
            for k, piece in enumerate(pieces):
                delay = start + k / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self.message.emit(request_id, Delta(piece))
            stats = GenerationStats(generated_tokens=len(pieces), generation_tps=rate)
            self.message.emit(request_id, Finished("stop", stats))

        thread = threading.Thread(target=run, name="fake-engine", daemon=True)
        thread.start()
        return thread


class Heartbeat(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.beats: list[float] = []
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def stalls_ms(self) -> list[float]:
        return [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in zip(self.beats, self.beats[1:], strict=False)]


class MeasuredChatView(ChatView):
    """The real view; each coalesced update is timed, and in the two windows repainted at once so
    the figure includes painting."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[tuple[int, float, float]] = []  # (tokens so far, update ms, update + paint ms)
        self.tokens = 0
        self.paint_windows: list[tuple[int, int]] = []

    def flush(self) -> None:
        started = time.perf_counter()
        super().flush()
        updated = time.perf_counter()
        if any(lo <= self.tokens < hi for lo, hi in self.paint_windows):
            self.viewport().repaint()
        self.samples.append((self.tokens, (updated - started) * 1000, (time.perf_counter() - started) * 1000))


class FirstPaint(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False


def open_conversation_ms(app: QApplication, messages: int) -> tuple[float, int]:
    model = MessageModel()
    view = ChatView()
    view.resize(900, 800)
    view.set_model(model)
    view.show()
    app.processEvents()
    probe = FirstPaint()
    view.viewport().installEventFilter(probe)
    rows = history(messages)
    started = time.perf_counter()
    model.set_thread(rows)
    while not probe.painted:
        app.processEvents()
    elapsed = (time.perf_counter() - started) * 1000
    widgets = len(view._widgets)
    view.close()
    view.deleteLater()
    app.processEvents()
    return elapsed, widgets


def prepared_view(app: QApplication, tokens: int, prior: int) -> tuple[MessageModel, MeasuredChatView, float]:
    """The view on a thread of `prior` messages plus a new, empty reply; Pygments warmed up.

    The view prepares Pygments on a worker thread when it is created; in the app that is long done
    before the first reply (a model must load, a message be typed). Here the stream starts at once,
    so wait for it, and report how long it took.
    """
    model = MessageModel()
    view = MeasuredChatView()
    view.resize(900, 800)
    view.set_model(model)
    view.show()
    model.set_thread(history(prior))
    app.processEvents()
    model.append_row(MessageRow(prior, "user", "Write the long guide, please."))
    model.append_row(MessageRow(prior + 1, "assistant", "", status=STREAMING))
    view.paint_windows = [(WINDOW, 2 * WINDOW), (tokens - WINDOW, tokens)]
    warm_started = time.perf_counter()
    warm_up_in_background((LIGHT_CODE_STYLE, DARK_CODE_STYLE))  # what the view starts 1.5 s after creation
    wait_for_warm_up(30)
    return model, view, time.perf_counter() - warm_started


def stream(app: QApplication, tokens: int, rate: float, prior: int) -> dict:
    model, view, warm_wait = prepared_view(app, tokens, prior)
    pieces = synthetic_reply(tokens)
    stalls, cpu, wall = timed_stream(model, view, pieces, rate)
    view.flush()
    app.processEvents()
    reply = model.last()
    assert reply is not None and reply.content == "".join(pieces), "the reply in the model differs from the stream"
    widget = view.widget_for(reply.id)
    return {
        **figures(view, stalls, tokens, wall),
        "gui_cpu_s": round(cpu, 3),
        "stream_wall_s": round(wall, 2),
        "reply_chars": len(reply.content),
        "pygments_warm_up_wait_s": round(warm_wait, 3),
        "reply_blocks_rendered": widget.markdown.blocks_rendered if widget and widget.markdown else None,
    }


def timed_stream(
    model: MessageModel, view: MeasuredChatView, pieces: list[str], rate: float
) -> tuple[list[float], float, float]:
    """Stream `pieces` from a worker thread into the view through a queued signal, in a real event loop.

    Returns the event loop's stalls, the GUI thread's CPU seconds and the wall seconds.
    """
    engine = FakeEngine()
    loop = QEventLoop()

    def on_event(request_id: str, event: Delta | Finished) -> None:  # the GUI-thread slot, as the controller's
        if isinstance(event, Delta):
            model.append_text(event.text, event.reasoning)
            view.tokens += 1
        else:
            view.flush()
            model.finish_last(DONE, event.finish_reason, event.stats)
            loop.quit()

    engine.message.connect(on_event, Qt.ConnectionType.QueuedConnection)
    heartbeat = Heartbeat()
    cpu_before, wall_before = time.thread_time(), time.perf_counter()
    heartbeat.timer.start()
    worker = engine.stream("r1", pieces, rate)
    loop.exec()  # as the app's event loop: it sleeps in the dispatcher between events
    heartbeat.timer.stop()
    cpu, wall = time.thread_time() - cpu_before, time.perf_counter() - wall_before
    worker.join()
    return heartbeat.stalls_ms(), cpu, wall


def figures(view: MeasuredChatView, stalls: list[float], tokens: int, wall: float) -> dict:
    """Stalls of the event loop and costs of the view's updates, early in the reply and late."""

    def window(lo: int, hi: int, column: int) -> float:
        values = [s[column] for s in view.samples if lo <= s[0] < hi]
        return round(statistics.median(values), 3) if values else float("nan")

    return {
        "max_stall_ms": round(max(stalls), 2),
        "p99_stall_ms": round(statistics.quantiles(stalls, n=100)[98], 2),
        "p50_stall_ms": round(statistics.median(stalls), 2),
        "update_ms_at_500": window(WINDOW, 2 * WINDOW, 2),
        "update_ms_at_8000": window(tokens - WINDOW, tokens, 2),
        "update_only_ms_at_500": window(WINDOW, 2 * WINDOW, 1),
        "update_only_ms_at_8000": window(tokens - WINDOW, tokens, 1),
        "update_ms_max": round(max(s[1] for s in view.samples), 2),
        "slowest_updates": [(s[0], round(s[1], 1)) for s in sorted(view.samples, key=lambda s: -s[1])[:3]],
        "updates": len(view.samples),
        "updates_per_s": round(len(view.samples) / wall, 1),
    }


def cold_start_s(runs: int) -> tuple[float | None, list[float], str]:
    # A data folder of its own: a benchmark never touches (or migrates) the person's real store.
    home = tempfile.mkdtemp(prefix="parlour-ui-stream-")
    env = {**os.environ, "PARLOUR_MEASURE_STARTUP": "1", "QT_QPA_PLATFORM": "offscreen", "PARLOUR_HOME": home}
    times, note = [], ""
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        match = re.search(r"window_shown_s=([\d.]+)", done.stdout)
        if match:
            times.append(float(match.group(1)))
        else:
            note = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no window_shown_s line"]
            note = note[0]
    return (statistics.median(times) if times else None), times, note


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=8000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--prior", type=int, default=200, help="messages already in the thread")
    parser.add_argument("--open", type=int, default=1000, help="messages in the thread opened for first paint")
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([sys.argv[0]])
    open_ms, open_widgets = open_conversation_ms(app, args.open)  # the first in this process: nothing cached
    open_warm = statistics.median(open_conversation_ms(app, args.open)[0] for _ in range(3))
    result = stream(app, args.tokens, args.rate, args.prior)
    cold, cold_runs, cold_note = cold_start_s(args.startup_runs)
    result.update(
        {
            "open_conversation_ms": round(open_ms, 1),
            "open_conversation_ms_again": round(open_warm, 1),
            "open_conversation_messages": args.open,
            "open_conversation_widgets": open_widgets,
            "cold_start_s": cold,
            "cold_start_runs_s": cold_runs,
            "tokens": args.tokens,
            "rate_tokens_per_s": args.rate,
            "prior_messages": args.prior,
            "platform": "offscreen",
        }
    )
    if cold_note:
        result["cold_start_note"] = cold_note
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
