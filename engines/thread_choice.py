"""How many CPU threads llama.cpp should use now, on a machine it shares.

llama.cpp's threads spin while they wait for each other. When another program keeps
a core busy, a thread on that core runs only part of the time and the others spin
waiting for it: on 2 cores with one busy program, 2 threads decoded at a third of
the speed of 1. A desktop app always shares the machine (a browser, an IDE, a second
model), so the thread count follows the cores other programs leave free:

    threads = physical cores - the cores other processes kept busy lately (rounded)

`CpuShare` samples the whole machine's busy time and this process's own CPU time ten
times a second from a background thread; what is left is what others used. llama.cpp
can change its thread count between tokens, so the engine asks again as it decodes:
a burst of other work that just ended costs a tenth of a second, not the whole reply.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 0.1
# Others must keep more than this share of a core busy before a thread is given up: a light
# background task (a terminal, a clock) should not halve decode speed on a quiet machine.
_ROUND_UP = 0.4


def usable_cores() -> int:
    """Physical cores this process may run on: decode is memory-bound and gains nothing from SMT siblings."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = os.cpu_count() or 1
    physical = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # psutil missing or unable to tell: assume no SMT
        physical = None
    logical = os.cpu_count() or allowed
    if physical and logical > physical:
        allowed = max(1, allowed * physical // logical)
    return max(1, min(allowed, 64))


def threads_for(cores: int, others_busy: float) -> int:
    """The thread count for `cores` usable cores when other processes keep `others_busy` cores busy."""
    free = cores - max(0.0, others_busy)
    return max(1, min(cores, int(free + _ROUND_UP)))


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot, summed over cores."""
    try:
        import psutil

        times = psutil.cpu_times()
    except Exception:
        return None
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuShare:
    """A running estimate of how many cores other processes keep busy (0 when it cannot tell)."""

    def __init__(self) -> None:
        self.others_busy = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cpu-share", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        previous = (time.monotonic(), _machine_busy_seconds(), _own_cpu_seconds())
        if previous[1] is None:
            return  # nothing to measure with: keep the estimate at 0, all cores
        while not self._stop.wait(SAMPLE_SECONDS):
            now = (time.monotonic(), _machine_busy_seconds(), _own_cpu_seconds())
            wall = now[0] - previous[0]
            if wall > 0 and now[1] is not None and previous[1] is not None:
                others = (now[1] - previous[1] - (now[2] - previous[2])) / wall
                self.others_busy = max(0.0, others)
            previous = now


class ThreadChoice:
    """Keeps a llama.cpp context's thread count matched to the free cores, checked at most every sample."""

    def __init__(self, fixed: int | None = None, cores: int | None = None) -> None:
        self.cores = cores or usable_cores()
        self.fixed = fixed
        self.current = fixed or self.cores
        self._share = CpuShare() if fixed is None else None
        self._checked = 0.0

    def start(self) -> None:
        if self._share is not None:
            self._share.start()

    def stop(self) -> None:
        if self._share is not None:
            self._share.stop()

    def wanted(self) -> int:
        if self._share is None:
            return self.current
        return threads_for(self.cores, self._share.others_busy)

    def update(self, context: object, force: bool = False) -> int:
        """Set the context's threads if the wanted count changed; cheap enough to call every token."""
        if self._share is None:
            return self.current
        now = time.monotonic()
        if not force and now - self._checked < SAMPLE_SECONDS:
            return self.current
        self._checked = now
        wanted = self.wanted()
        if wanted != self.current:
            import llama_cpp

            llama_cpp.llama_set_n_threads(context, wanted, wanted)
            log.info("threads %d -> %d (others keep %.2f cores busy)", self.current, wanted, self._share.others_busy)
            self.current = wanted
        return self.current
