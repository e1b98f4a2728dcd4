"""The single-writer lock.

An embedded graph has one writer at a time, and a refresh must not run twice at once. An
advisory `flock` is released by the kernel when its process dies, even on kill -9, so a crashed
job never leaves a stale lock behind; the file keeps the holder's pid and purpose for the message.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class LockBusy(RuntimeError):
    pass


class WriterLock:
    def __init__(self, path: Path, purpose: str):
        self.path = path
        self.purpose = purpose
        self._fh = None

    def acquire(self, wait_s: float = 0.0) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while the lock is held
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    fh.close()
                    raise LockBusy(
                        f"the graph is being written by {holder}; wait for it to finish "
                        f"(lock file {self.path})"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} ({self.purpose}, since {time.strftime('%Y-%m-%d %H:%M:%S')})")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
