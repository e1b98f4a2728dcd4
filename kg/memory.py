"""The process's resident memory now and its peak so far, for the run record.

Why: the refresh's peak memory is a target (docs/operations.md) and the figure alone does not say
which step reached it; the run records both after every step, so a run's JSON shows where the
peak came from. Linux reports both in /proc/self/status; elsewhere only the peak is known
(getrusage), and the current figure is left out.
"""

from __future__ import annotations

import resource
import sys

__all__ = ["memory_mb"]


def memory_mb() -> dict[str, int]:
    """{"rss": resident MiB now, "peak": highest resident MiB so far} ("rss" only on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh if line.startswith(("VmRSS", "VmHWM")))
        return {"rss": int(fields["VmRSS"].split()[0]) // 1024, "peak": int(fields["VmHWM"].split()[0]) // 1024}
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return {"peak": peak // (2**20 if sys.platform == "darwin" else 1024)}
