"""A gallery of the window for people to look at: first run, a long chat with code and a table, the
parameters panel open, the Hub browser, the library, the API server and remote endpoint dialogs, the
Compare view, a chat with an attached file and a collection (its sources under the reply) and the
Documents window; light and dark (switched live in one window); at 1x and 2x (QT_SCALE_FACTOR=2, each
scale in a process of its own).

Run under a virtual screen (Debian's xvfb):
    xvfb-run -a -s "-screen 0 2800x1800x24" .venv/bin/python benchmarks/screenshots.py [--out DIR]
It uses a throw-away data folder, the starter model and a real reply; the long chat is stored
first (Markdown with a table and code), as a conversation reopened from an earlier day would be.
Nothing touches the network. Prints JSON: each picture's path, and the seconds it took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIVE_PROMPT = "What is the capital of France? Answer in one sentence."
STORED_TURNS = (
    (
        "Compare three ways to store settings in a Python desktop app.",
        "Here are the usual choices, side by side:\n\n"
        "| Way | Good for | Watch out for |\n"
        "|-----|----------|---------------|\n"
        "| JSON file | a few values, easy to read | writes that are cut off halfway |\n"
        "| SQLite | many values, history, search | one writer at a time |\n"
        "| `QSettings` | window state | a different place on every system |\n\n"
        "For most apps **SQLite** is the safest: a write either happens whole or not at all.",
    ),
    (
        "Show me the SQLite one in code.",
        "A small key-value table does it:\n\n"
        "```python\n"
        "import json\n"
        "import sqlite3\n\n\n"
        "def open_settings(path: str) -> sqlite3.Connection:\n"
        "    db = sqlite3.connect(path)\n"
        '    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)")\n'
        "    return db\n\n\n"
        "def put(db: sqlite3.Connection, key: str, value: object) -> None:\n"
        "    with db:  # one transaction: all or nothing\n"
        '        db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))\n'
        "```\n\n"
        "Values go in as JSON, so numbers, lists and `None` come back as they went in.\n\n"
        "1. Open it once when the app starts.\n"
        "2. Call `put` whenever a value changes.\n"
        "3. Read everything back with one `SELECT` at start-up.",
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--scale", type=int, choices=(1, 2), help="one scale only, in this process")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.scale is not None:
        print(json.dumps(take_gallery(out, args.scale)))
        return
    started = time.perf_counter()
    shots: dict[str, str] = {}
    for scale in (1, 2):
        env = {**os.environ, "QT_SCALE_FACTOR": str(scale), "PARLOUR_HOME": tempfile.mkdtemp(prefix="parlour-shots-")}
        env.pop("PARLOUR_THEME", None)
        command = [sys.executable, __file__, "--out", str(out), "--scale", str(scale)]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            raise SystemExit(f"the {scale}x gallery failed:\n{run.stderr[-3000:]}")
        shots.update(json.loads(run.stdout.strip().splitlines()[-1]))
    print(json.dumps({"screenshots": shots, "seconds": round(time.perf_counter() - started, 1)}, indent=1))


def take_gallery(out: Path, scale: int) -> dict[str, str]:
    from PySide6.QtWidgets import QApplication

    from app.store.db import open_store
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    app = QApplication([sys.argv[0]])
    shots: dict[str, str] = {}
    store = open_store()
    window = MainWindow(store)
    window.resize(1400, 860)
    window.show()
    wait_until(app, lambda: window.session.is_loaded and window.welcome.suggestions != [], 120)

    def shoot(name: str, widget: Any = window) -> None:
        settle(app, 0.4)
        path = out / f"{name}-{scale}x.png"
        widget.grab().save(str(path))
        shots[path.stem] = str(path)

    for mode in ("light", "dark"):
        apply_theme(app, mode)  # live, in the same window
        window.chat.new_chat()
        shoot(f"first-run-{mode}")
    conversation = store_long_chat(store)
    window.conversations.refresh()
    for mode in ("light", "dark"):
        apply_theme(app, mode)
        window.chat.open_conversation(conversation)
        if mode == "light":
            ask(app, window, LIVE_PROMPT)
        window.view.verticalScrollBar().setValue(window.view.verticalScrollBar().maximum() // 3)
        shoot(f"long-chat-{mode}")
    if scale == 1:
        apply_theme(app, "light")
        window.actions.toggle_params.setChecked(True)
        shoot("params-open-light")
        window.actions.toggle_params.setChecked(False)
        for mode in ("light", "dark"):
            apply_theme(app, mode)
            window.show_browser()
            shoot(f"browser-{mode}", window.tool_windows["browser"])
            window.show_library()
            library = window.tool_windows["library"]
            wait_until(app, lambda lib=library: lib.table.rowCount() > 0, 30)
            shoot(f"library-{mode}", library)
        apply_theme(app, "light")
        window.show_shortcuts()
        shoot("shortcuts-light", window.tool_windows["shortcuts"])
        shoot_dialogs(window, shoot)
        shoot_compare(app, window, shoot)
        shoot_documents(app, window, shoot)
    window.close()
    store.close()
    return shots


def shoot_dialogs(window: Any, shoot: Any) -> None:
    """The API server's dialog, serving, and the remote endpoint dialog."""
    window.show_server()
    server = window.tool_windows["server"]
    server.port.setValue(free_port())
    server.switch.setChecked(True)
    shoot("api-server-light", server)
    server.stop()
    window.show_add_remote()
    shoot("add-remote-light", window.tool_windows["remote"])


def shoot_compare(app: Any, window: Any, shoot: Any) -> None:
    """The Compare view with three columns after a round, one reply picked as the best."""
    window.show_compare()
    compare = window.tool_windows["compare"]
    compare.resize(1280, 820)
    starter = window.comparable_models()[0]
    compare.choose([starter, starter, starter])
    compare.system_prompt.setText("Answer briefly.")
    compare.prompt.setPlainText("Give me three tips for writing a clear email.")
    compare.send()
    wait_until(app, lambda: not compare.session.busy, 120)
    compare.columns[1].best.click()
    shoot("compare-light", compare)
    compare.close()


def shoot_documents(app: Any, window: Any, shoot: Any) -> None:
    """A question about an attached report and a collection of notes, with its sources; the Documents window."""
    from app.documents.index import DocumentIndex
    from app.documents.indexer import update_collection
    from app.paths import data_dir

    notes = data_dir() / "gallery-notes"
    notes.mkdir(parents=True, exist_ok=True)
    (notes / "budget.md").write_text("# Budget\n\nThe budget for 2025 is 40,000 euros.\n\n## Travel\n\nTrains only.\n")
    (notes / "minutes.txt").write_text("Minutes: the roof will be repaired in May.\n")
    (notes / "scan.pdf").write_bytes(b"not really a PDF\n" * 8)  # shows a problem sentence
    report = data_dir() / "quarterly-report.md"
    report.write_text("# Quarterly report\n\nRevenue rose by 12% in the third quarter.\n")
    with DocumentIndex.default() as index:
        index.create_collection("Work")
        index.add_folder("Work", notes)
        update_collection(index, "Work")
    window.chat.new_chat()
    window.chat.documents.choose(["Work"])
    window.composer.attach([report])
    ask(app, window, "How much did revenue rise, and what is the travel budget?")
    shoot("documents-chat-light")
    window.actions.show_documents()
    documents = window.tool_windows["documents"]
    wait_until(app, lambda: bool(documents.summaries), 30)
    shoot("documents-light", documents)
    documents.close()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def store_long_chat(store: Any) -> int:
    """A conversation from an earlier day: two questions with long Markdown replies (a table, code)."""
    from app.store.conversations import create_conversation
    from app.store.messages import add_user_message
    from app.store.replies import start_reply
    from engines.base import GenerationStats

    conversation = create_conversation(store, title="Settings in a desktop app").id
    for question, answer in STORED_TURNS:
        user = add_user_message(store, conversation, question)
        writer = start_reply(store, conversation, user.id, model="SmolLM2 135M Instruct (starter)")
        writer.append(answer)
        stats = GenerationStats(prompt_tokens=120, generated_tokens=180, ttft_ms=95.0, generation_tps=88.0)
        writer.finish("stop", stats)
    return conversation


def ask(app: Any, window: Any, prompt: str) -> None:
    """Type a prompt and send it; wait for the whole reply."""
    from engines.base import GenerationParams

    params = GenerationParams(temperature=0.0, max_tokens=80, repeat_penalty=1.1)
    window.params.set_params(params)
    window.chat.set_params(params)
    finished: list[object] = []
    window.chat.reply_finished.connect(finished.append)
    window.composer.input.setPlainText(prompt)
    window.composer.submit()
    wait_until(app, lambda: bool(finished), 180)


def settle(app: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def wait_until(app: Any, condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    main()
