"""How long an unreachable Hub takes to be reported as offline: a closed port, and a server that accepts
the connection and never answers (the case huggingface_hub's own client waited on for ever). Target: < 5 s.

    .venv/bin/python benchmarks/hub_offline.py      # prints one JSON object
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def seconds_to_offline(endpoint: str) -> float:
    import huggingface_hub.constants

    from app.library.errors import OfflineError
    from app.library.hub import SearchQuery, search_models

    os.environ["HF_ENDPOINT"] = endpoint
    huggingface_hub.constants.HF_HUB_OFFLINE = False
    started = time.perf_counter()
    try:
        search_models(SearchQuery("qwen", formats=("gguf",)))
    except OfflineError:
        return round(time.perf_counter() - started, 2)
    raise SystemExit(f"{endpoint} answered a search")


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "0"
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel accepts; nobody reads or writes
    try:
        report = {
            "closed_port_s": seconds_to_offline("http://127.0.0.1:9"),
            "silent_server_s": seconds_to_offline(f"http://127.0.0.1:{silent.getsockname()[1]}"),
        }
    finally:
        silent.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
