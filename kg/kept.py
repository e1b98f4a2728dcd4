"""A bounded, thread-safe map that forgets what was used least recently.

The read side keeps many things per graph version (a version never changes): decoded nodes,
neighbour lists, recommendation lists, rendered page parts, console result graphs. Each used to
carry its own OrderedDict, lock and eviction loop; this is the one they share. Values are made
outside the lock (rendering or a query can take milliseconds; two threads making the same value
at once both make it, and the last one is kept), so a slow make never blocks a read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MISSING = object()  # get's default: tells "not kept" from a kept None


class Kept(Generic[K, V]):
    """At most `size` entries (0 keeps nothing); `size` may be changed, taking effect at the next put."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, default: object = None) -> V | object:
        """The kept value (now the most recently used), else `default`."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > max(0, self.size):
                self._items.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        value = self.get(key, MISSING)
        if value is MISSING:
            value = self.put(key, make())
        return value  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._items)

    def __getitem__(self, key: K) -> V:
        with self._lock:
            return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())
