"""What comparing models costs, measured on the starter model (and its MLX twin for the evaluation set).

Prints JSON:
- overhead_ratio: decode tokens/s of a reply in the Compare view over the same reply in a normal chat in
  the window (same model, same greedy request; medians of --runs). Target >= 0.95.
- parallel_vs_sequential: wall time of one prompt on two models that fit together (a new comparison each
  run: engine hosts started, models loaded, the prompt answered), answered at the same time (a host each)
  over one after another (one host, each model loaded in place of the last, as the Compare view does when
  they do not fit). Below 1 means together is faster.
- eval_starter_set_s: seconds to run the starter evaluation set, per model.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/compare.py [--runs 3] [--no-mlx]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import GenerationParams  # noqa: E402

PROMPT = "Write a short paragraph about the sea."
GREEDY = GenerationParams(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, max_tokens=128, seed=0)
DEADLINE_S = 600


def wait_until(app: Any, condition: Any) -> None:
    end = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the benchmark waited too long")
        app.processEvents()
        time.sleep(0.005)


def chat_speeds(app: Any, store: Any, runs: int) -> list[float]:
    """Decode tokens/s of the same greedy reply in a normal chat, in the window (a new chat each run)."""
    from app.ui.main_window import MainWindow

    window = MainWindow(store)
    window.show()
    wait_until(app, lambda: window.session.is_loaded)
    window.chat.set_params(GREEDY)
    speeds = []
    for _ in range(runs + 1):  # the first warms the host up and is not counted
        finished: list[Any] = []
        window.chat.reply_finished.connect(finished.append)
        window.chat.new_chat()
        window.chat.send(PROMPT)
        wait_until(app, lambda finished=finished: bool(finished))
        window.chat.reply_finished.disconnect(finished.append)
        speeds.append(finished[0].stats.generation_tps)
    window.close()
    return speeds[1:]


def compare_round(app: Any, window: Any) -> tuple[float, list[Any]]:
    """Send one prompt to every column; the wall time until all are done, and each column's stats."""
    stats: list[Any] = []
    window.session.column_finished.connect(lambda _p, s, *_: stats.append(s))
    window.prompt.setPlainText(PROMPT)
    started = time.perf_counter()
    window.send()
    wait_until(app, lambda: not window.session.busy)
    return time.perf_counter() - started, stats


def compare_window(store: Any, budget: int) -> Any:
    from app.store.comparisons import ComparedModel
    from app.ui.compare_window import CompareWindow

    starter = ComparedModel("starter", str(starter_model_path()), "llamacpp")
    window = CompareWindow(store, lambda: [starter], lambda: GREEDY, memory_budget=budget)
    window.show()
    window.choose([starter, starter])
    return window


def compare_figures(app: Any, store: Any, runs: int) -> dict[str, Any]:
    """Each run is a new comparison of the starter with itself (so both columns write the same reply): its
    engine hosts start, load and answer one prompt, at the same time or one after another."""
    seconds: dict[str, list[float]] = {"together": [], "apart": []}
    speeds: list[float] = []
    for _ in range(runs):
        for mode, budget in (("together", 1 << 50), ("apart", 1)):  # 1 byte: too little for both
            window = compare_window(store, budget)
            assert window.session.plan.together == (mode == "together")
            elapsed, stats = compare_round(app, window)
            seconds[mode].append(elapsed)
            if mode == "apart":
                speeds += [s.generation_tps for s in stats]  # each column alone on the machine, like a chat
            window.close()
    return {
        "compare_tps": speeds,
        "together_s": statistics.median(seconds["together"]),
        "one_after_another_s": statistics.median(seconds["apart"]),
    }


def eval_seconds(with_mlx: bool) -> dict[str, float]:
    from app.evals.runner import ModelUnderTest, run_set
    from app.evals.sets import starter_set

    models = [ModelUnderTest("starter (llama.cpp)", str(starter_model_path()))]
    if with_mlx:
        from tests.support.mlx_from_gguf import cached_starter_mlx_dir

        models.append(ModelUnderTest("starter (MLX twin)", str(cached_starter_mlx_dir())))
    seconds = {}
    for model in models:
        started = time.perf_counter()
        results = list(run_set(starter_set(), [model]))
        assert all(r.error is None for r in results), [r.error for r in results]
        seconds[model.name] = round(time.perf_counter() - started, 1)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-mlx", action="store_true", help="leave the MLX twin out of the evaluation set figure")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from app.store.db import open_store

    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "parlour.db")
        chat = chat_speeds(app, store, args.runs)
        compare = compare_figures(app, store, args.runs)
        store.close()
    compare_tps = statistics.median(compare.pop("compare_tps"))
    chat_tps = statistics.median(chat)
    output = {
        "model": starter_model_path().name,
        "runs": args.runs,
        "max_tokens": GREEDY.max_tokens,
        "chat_tps": round(chat_tps, 1),
        "compare_tps": round(compare_tps, 1),
        "overhead_ratio": round(compare_tps / chat_tps, 3),
        "parallel_s": round(compare["together_s"], 2),
        "sequential_s": round(compare["one_after_another_s"], 2),
        "parallel_vs_sequential": round(compare["together_s"] / compare["one_after_another_s"], 3),
        "eval_starter_set_s": eval_seconds(not args.no_mlx),
    }
    print(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()
