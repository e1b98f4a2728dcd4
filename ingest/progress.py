"""Progress for long work: a bar on a terminal, a few plain log lines otherwise (cron, CI, web)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("stakegraph.progress")
LOG_EVERY = 10  # log lines per loop when not on a terminal (every 10%)


def progress(items: Iterable[T], desc: str, unit: str = "it", label: Callable[[T], str] | None = None) -> Iterator[T]:
    """Yield the items with a bar; `label(item)` names the item being worked on (a refresh step)
    in the bar, or in a log line per item when there is no terminal."""
    items = list(items) if not isinstance(items, list) else items
    total = len(items)
    if sys.stderr.isatty() and total > 1:
        from tqdm import tqdm

        bar = tqdm(items, desc=desc, unit=unit, leave=label is not None)
        for item in bar:
            if label is not None:
                bar.set_description(f"{desc}: {label(item)}")
            yield item
        return
    step = max(1, total // LOG_EVERY)
    for i, item in enumerate(items, 1):
        if label is not None:
            log.info("%s %d/%d: %s", desc, i, total, label(item))
        elif total >= 1000 and (i % step == 0 or i == total):
            log.info("%s: %d/%d %s", desc, i, total, unit)
        yield item
