"""Child processes that never outlive the process that started them.

An engine host or a template render can be stuck in C code that Python cannot
interrupt. If the program that started it is killed meanwhile, the child must go
too, or it keeps a core busy for as long as the stuck work lasts.

- On Linux the child asks the kernel for SIGKILL when its parent goes
  (PR_SET_PDEATHSIG). The kernel means the parent *thread*: the signal also comes when
  the thread that forked the child ends. So every child is started from one spawner
  thread that lives as long as this process.
- Everywhere, the child also watches its parent's pid from a thread (macOS has no
  PDEATHSIG), and checks once at start that the parent had not already gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PARENT_PID_VARIABLE = "PARLOUR_PARENT_PID"
# In a frozen app (a PyInstaller bundle) there is no `python -m`: the app's own executable runs the
# module when it is called with this as its first argument (app.cli.main handles it).
RUN_MODULE_FLAG = "--parlour-run-module"
CHILD_MODULES = ("engines.host", "engines.templates.worker")
_PR_SET_PDEATHSIG = 1

_requests: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = queue.Queue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawn_loop() -> None:
    while True:
        work, answer = _requests.get()
        try:
            answer.put((True, work()))
        except BaseException as err:  # handed back to the caller's thread, raised there
            answer.put((False, err))


def _on_spawner(work: Callable[[], Any]) -> Any:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawn_loop, name="child-spawner", daemon=True)
            _spawner.start()
    answer: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    _requests.put((work, answer))
    ok, value = answer.get()
    if not ok:
        raise value
    return value


def module_command(module: str, python: str | None = None) -> list[str]:
    """The command line that runs `module` as a program: `python -m module`, or in a bundle the app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, RUN_MODULE_FLAG, module]
    return [python or sys.executable, "-m", module]


def run_module_if_asked(argv: list[str]) -> bool:
    """In a child started by module_command inside a bundle: run that module and say so (True)."""
    if len(argv) < 2 or argv[0] != RUN_MODULE_FLAG:
        return False
    import runpy

    module = argv[1]
    if module not in CHILD_MODULES:  # only Parlour's own children, never an arbitrary module
        print(f"parlour: {module[:80]!r} is not a program Parlour runs.", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [module, *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return True


def spawn_child(args: list[str], env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen(args, ...) from the long-lived spawner thread, telling the child who its parent is."""
    child_env = dict(os.environ if env is None else env)
    child_env[PARENT_PID_VARIABLE] = str(os.getpid())
    return _on_spawner(lambda: subprocess.Popen(args, env=child_env, **popen))


def die_with_parent(poll_seconds: float = 1.0) -> None:
    """Called first thing in a child: end this process when the parent that started it ends."""
    expected = os.environ.get(PARENT_PID_VARIABLE)
    parent = int(expected) if expected and expected.isdigit() else os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below still works
    if os.getppid() != parent:  # the parent went before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
