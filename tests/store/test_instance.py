"""One app at a time owns the store; the lock goes away with its process, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.errors import StoreInUseError
from app.store.instance import LOCK_FILE_NAME, InstanceLock

from .conftest import REPO_ROOT

HOLDER = (
    "import sys, time\n"
    "from app.store.instance import InstanceLock\n"
    "lock = InstanceLock.acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_second_instance_is_refused_until_the_first_releases(home: Path) -> None:
    first = InstanceLock.acquire()
    assert (home / LOCK_FILE_NAME).read_text().strip() == str(os.getpid())
    with pytest.raises(StoreInUseError, match="Parlour is already open"):
        InstanceLock.acquire()
    first.release()
    assert not first.held
    with InstanceLock.acquire() as second:
        assert second.held


def test_the_lock_dies_with_a_killed_process(home: Path) -> None:
    environment = {**os.environ, "PARLOUR_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreInUseError):
            InstanceLock.acquire()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()
    with InstanceLock.acquire() as lock:  # no stale lock to clean up by hand
        assert lock.held
