"""The render process: `python -m engines.templates.worker`, one JSON request per line on stdin.

It renders in the sandbox (sandbox.py) and answers one JSON line per request. Its
bounds do not depend on the template: the address space is capped (a MemoryError
becomes the "too much text" sentence), each request gets a CPU-time limit from the
kernel (SIGXCPU ends the process), it dies with its parent, and the parent kills it
at a wall-clock deadline (isolation.py). After any failure that may have left memory
behind, it exits and the parent starts a fresh one.

Requests: {"op": "render", "template": str, "messages": [...], "options": {...}, "seconds": float}
          {"op": "check", "template": str, "seconds": float}
Replies:  {"ok": true, "text": str} | {"ok": false, "message": str}
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import sys
from typing import Any, TextIO

from engines.child_process import die_with_parent
from engines.process_memory import peak_resident_bytes
from engines.templates import budget
from engines.templates.compat import TOO_BIG_MESSAGE, TemplateError
from engines.templates.sandbox import _environment, check_in_process, render_in_process

MEMORY_VARIABLE = "PARLOUR_RENDER_MEMORY_BYTES"


def _virtual_size() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(extra: int) -> None:
    # Linux enforces RLIMIT_AS; macOS does not, and there the parent watches the resident size.
    if not sys.platform.startswith("linux") or extra <= 0:
        return
    cap = _virtual_size() + extra
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _limit_cpu(seconds: float) -> None:
    """The kernel ends this process (SIGXCPU) once this request has used `seconds` more CPU time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(math.ceil(used + seconds)) + 1
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def handle(request: dict[str, Any]) -> dict[str, Any]:
    seconds = float(request.get("seconds") or budget.RENDER_SECONDS)
    budget.RENDER_SECONDS = seconds  # the cooperative budget, inside the hard one
    _limit_cpu(seconds + 1.0)
    op = request.get("op")
    if op == "check":
        check_in_process(str(request.get("template") or ""))
        return {"ok": True, "text": ""}
    if op == "render":
        options = request.get("options") or {}
        text = render_in_process(str(request.get("template") or ""), request.get("messages") or [], **options)
        return {"ok": True, "text": text}
    return {"ok": False, "message": f"Unknown render request {str(op)[:40]!r}."}


def serve(stdin: TextIO, out: TextIO) -> None:
    out.write('{"ready": true}\n')
    out.flush()
    for line in stdin:
        if not line.strip():
            continue
        leave = False
        try:
            reply = handle(json.loads(line))
        except TemplateError as err:
            reply = {"ok": False, "message": str(err)}
        except MemoryError:
            reply, leave = {"ok": False, "message": TOO_BIG_MESSAGE}, True
        except Exception as err:  # a malformed request from our own parent: say so, stay up
            reply = {"ok": False, "message": f"The template renderer failed ({err.__class__.__name__})."}
        reply["peak_bytes"] = peak_resident_bytes()
        try:
            out.write(json.dumps(reply, ensure_ascii=True) + "\n")
            out.flush()
        except MemoryError:
            out.write(json.dumps({"ok": False, "message": TOO_BIG_MESSAGE}) + "\n")
            out.flush()
            leave = True
        if leave:
            break  # a fresh process, not one whose heap a template has filled


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as the engine host: Ctrl+C is its parent's to handle
    die_with_parent()
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the protocol stream
    _environment()  # build the sandbox before the memory cap, so the cap is all the template's
    _limit_memory(int(os.environ.get(MEMORY_VARIABLE) or 0))
    serve(sys.stdin, out)


if __name__ == "__main__":
    main()
