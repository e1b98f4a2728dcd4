"""Progress for long work: a bar on a terminal, a few plain log lines otherwise (cron, CI, web)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("stakegraph.progress")
LOG_EVERY = 10  # log lines per loop when not on a terminal (every 10%)


def progress(items: Iterable[T], desc: str, unit: str = "it") -> Iterator[T]:
    items = list(items) if not isinstance(items, list) else items
    total = len(items)
    if sys.stderr.isatty() and total > 1:
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, unit=unit, leave=False)
        return
    step = max(1, total // LOG_EVERY)
    for i, item in enumerate(items, 1):
        if total >= 1000 and (i % step == 0 or i == total):
            log.info("%s: %d/%d %s", desc, i, total, unit)
        yield item
