"""Screenshots of the main window with a real conversation, light and dark, for people to look at.

Run under a virtual screen (Debian's xvfb):
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/screenshots.py [--out DIR]
It uses a throw-away data folder, the starter model and real replies; prints JSON with the PNG paths.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = [
    "What is the capital of France? Answer in one sentence.",
    "Give me a short list of three fruits, then a Python code block that prints hello.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PARLOUR_HOME", tempfile.mkdtemp(prefix="parlour-shots-"))

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.store.db import open_store
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme
    from engines.base import GenerationParams

    app = QApplication([sys.argv[0]])
    shots = {}
    store = open_store()
    for mode in ("light", "dark"):
        apply_theme(app, mode)
        window = MainWindow(store)
        window.resize(1400, 860)
        window.show()
        wait_until(app, lambda w=window: w.session.is_loaded, 60)
        if mode == "light":
            params = GenerationParams(temperature=0.0, max_tokens=160, repeat_penalty=1.1)
            window.params.set_params(params)
            window.chat.set_params(params)
            for prompt in PROMPTS:
                finished = []
                window.chat.reply_finished.connect(lambda *a, f=finished: f.append(a))
                window.composer.input.setPlainText(prompt)
                window.composer.submit()
                wait_until(app, lambda f=finished: bool(f), 180)
        else:
            window.chat.open_conversation(window.chat.conversation_id or first_conversation(store))
        loop = QEventLoop()
        QTimer.singleShot(500, loop.quit)
        loop.exec()
        path = out / f"main-window-{mode}.png"
        window.grab().save(str(path))
        shots[mode] = str(path)
        window.close()
    store.close()
    print(json.dumps({"screenshots": shots}, indent=1))


def first_conversation(store) -> int:  # noqa: ANN001
    from app.store.conversations import list_recent

    return list_recent(store, limit=1)[0].id


def wait_until(app, condition, seconds: float) -> None:  # noqa: ANN001
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    main()
