"""Cutting rows into batches, and walking a tree downwards: small helpers every floor shares.

Why here: the backends write in batches (UNWIND, COPY), and the chain tagger and the
recommender's sector and region trees walk PART_OF hierarchies; one of each keeps them alike.

>>> [len(b) for b in chunks(list(range(5)), 2)]
[2, 2, 1]
>>> sorted(descendants({"ic": {"ic.design"}, "ic.design": {"ic.design.eda"}}, {"ic"}))
['ic', 'ic.design', 'ic.design.eda']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

__all__ = ["batches", "chunks", "descendants"]

T = TypeVar("T")


def chunks(rows: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` rows of a sequence."""
    for i in range(0, len(rows), size):
        yield list(rows[i : i + size])


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most `size` items of any iterable, read lazily (a generator of rows)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def descendants(children: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """The roots and everything below them in a child map (cycles are walked once)."""
    out = set(roots)
    stack = list(out)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out
