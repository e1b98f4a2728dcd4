"""Caches of per-name work (parsing, pinyin, spellings) that a refresh can empty between steps.

Why: resolution parses, spells and compares every organisation name, and caching those results
halves its time; but at 200,000 records the caches fill to their bounds and hold gigabytes for
the rest of the run, when no later step reads most of them. Each cache is an ordinary
`functools.lru_cache` that also registers itself here, so the refresh runner empties them all
after each step (`clear_run_caches`) while a long-lived process (the web app) keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["clear_run_caches", "run_cache"]

F = TypeVar("F", bound=Callable[..., Any])
_CACHES: list[Any] = []


def run_cache(maxsize: int) -> Callable[[F], F]:
    """`functools.lru_cache(maxsize)`, registered to be emptied by `clear_run_caches`."""
    def wrap(fn: F) -> F:
        cached = lru_cache(maxsize=maxsize)(fn)
        _CACHES.append(cached)
        return cached  # type: ignore[return-value]
    return wrap


def clear_run_caches() -> int:
    """Empty every registered cache; returns how many entries they held."""
    held = 0
    for cached in _CACHES:
        held += cached.cache_info().currsize
        cached.cache_clear()
    return held
