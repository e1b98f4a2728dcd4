"""Pause the cyclic garbage collector while building (or unpickling) many small objects.

Why: resolution allocates millions of tuples that live until the end; each automatic collection
rescans all of them, which made 50,000 records take twice as long, and loading the saved state
of 200,000 records likewise. Nothing here creates reference cycles, and the previous state is
restored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
