"""kg.kept.Kept, the bounded map the read side's caches share: least recently used goes first,
a kept None is told from nothing kept, size 0 keeps nothing, a value is made once."""

from __future__ import annotations

import threading

from kg.kept import MISSING, Kept


def test_least_recently_used_goes_first_and_none_is_a_value():
    k: Kept[str, int | None] = Kept(2)
    k.put("a", 1)
    k.put("b", None)
    assert k.get("a") == 1  # "a" is now the most recent
    k.put("c", 3)
    assert k.get("b", MISSING) is MISSING and k.get("a") == 1 and k.get("c") == 3
    k.put("n", None)
    assert k.get("n", MISSING) is None and dict(k) == {"c": 3, "n": None}
    k.size = 1
    k.put("d", 4)
    assert list(k) == ["d"] and len(k) == 1


def test_size_zero_keeps_nothing_and_a_value_is_made_once():
    assert Kept(0).put("a", 1) == 1 and len(Kept(0)) == 0
    k: Kept[str, int] = Kept(10)
    made: list[int] = []
    lock = threading.Lock()

    def make() -> int:
        with lock:
            made.append(1)
        return 7

    assert k.get_or_make("x", make) == 7 and k.get_or_make("x", make) == 7 and len(made) == 1
    empty: Kept[str, int] = Kept(0)
    assert empty.get_or_make("x", make) == 7 and empty.get_or_make("x", make) == 7 and len(made) == 3
