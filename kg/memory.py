"""The process's resident memory now and its peak so far, for the run record.

Why: the refresh's peak memory is a target (docs/operations.md) and the figure alone does not say
which step reached it; the run records both after every step, so a run's JSON shows where the
peak came from. Linux reports both in /proc/self/status; elsewhere only the peak is known
(getrusage), and the current figure is left out.
"""

from __future__ import annotations

import ctypes
import resource
import sys
from functools import cache

__all__ = ["memory_mb", "release_free_memory"]


def memory_mb() -> dict[str, int]:
    """{"rss": resident MiB now, "peak": highest resident MiB so far} ("rss" only on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh if line.startswith(("VmRSS", "VmHWM")))
        return {"rss": int(fields["VmRSS"].split()[0]) // 1024, "peak": int(fields["VmHWM"].split()[0]) // 1024}
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return {"peak": peak // (2**20 if sys.platform == "darwin" else 1024)}


@cache
def _libc() -> ctypes.CDLL | None:
    """The process's own C library (already loaded: no search for the file), if it has malloc_trim."""
    if not sys.platform.startswith("linux"):
        return None
    lib = ctypes.CDLL(None)
    return lib if hasattr(lib, "malloc_trim") else None


def release_free_memory() -> None:
    """Hand memory the process freed back to the system (glibc's malloc_trim; elsewhere nothing).

    Why: after a step drops millions of small objects the allocator keeps the pages for reuse,
    so the resident figure stays at the step's peak for the rest of the run."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
