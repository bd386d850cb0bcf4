"""How many threads the compiled loops split their work over (they release the GIL)."""
from __future__ import annotations

import os


def threads() -> int:
    """COCOSEG_THREADS, else the CPUs this process may run on (at most 8)."""
    env = os.environ.get("COCOSEG_THREADS")
    if env:
        return max(1, int(env))
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 8)
