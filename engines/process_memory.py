"""How much memory this process holds now and at its peak, read without help from the engines."""

from __future__ import annotations

import resource
import sys


def peak_resident_bytes() -> int | None:
    """Peak resident memory of this process.

    On Linux this is VmHWM, the high-water mark of this process's own address space. Not
    ru_maxrss: Linux carries the parent's resident size at the fork into the child's ru_maxrss
    across exec, so a host started by a 400 MB window would report at least 400 MB.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except OSError:
        return None
    return int(peak if sys.platform == "darwin" else peak * 1024)


def resident_bytes() -> int | None:
    """Resident memory of this process now."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # psutil missing or refused: the caller shows "unknown"
        return None
