"""`search(view, q)`: the index of the view's graph version, built on first use and cached.

A refresh publishes a new version; the next search builds that version's index (or finds it
already built by `warm`, which the web app calls when it first sees a version) and drops the
older ones, so a long-running process never holds more than CACHED_VERSIONS indexes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from kg.store import GraphView
from matching.search.index import DEFAULT_LIMIT, Hit, SearchIndex

__all__ = ["index_for", "search", "warm"]

log = logging.getLogger("stakegraph.search")
CACHED_VERSIONS = 2
_cache: dict[str, SearchIndex] = {}
_cache_lock = threading.Lock()


def index_for(view: GraphView) -> SearchIndex:
    """The index of the view's graph version, built on first use; older versions are dropped."""
    version = view.version
    idx = _cache.get(version)
    if idx is not None:
        return idx
    with _cache_lock:  # one build per version even when many requests arrive after a refresh
        idx = _cache.get(version)
        if idx is None:
            idx = SearchIndex.build(view)
            _cache[version] = idx
            for old in list(_cache)[:-CACHED_VERSIONS]:
                del _cache[old]
        return idx


def warm(view: GraphView) -> None:
    """Build the view's index in a background thread, so the first search after a refresh does
    not wait for it (a million names take minutes). Requests that come first wait on the lock."""
    if view.version not in _cache:
        threading.Thread(target=_build_quietly, args=(view,), name="search-index", daemon=True).start()


def _build_quietly(view: GraphView) -> None:
    try:
        index_for(view)
    except Exception:  # the view was closed under it (a newer version came); a request rebuilds
        log.debug("search index warm-up of %s stopped", view.version, exc_info=True)


def search(view: GraphView, q: str, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
           sector: str | None = None, region: str | None = None, limit: int = DEFAULT_LIMIT) -> list[Hit]:
    """Entities whose names, aliases, pinyin, initials or codes match `q`, best first.

    >>> [h.name_zh for h in search(view, "zxgj")][:1]          # doctest: +SKIP
    ['中芯国际集成电路制造有限公司']

    Filters: `kinds` (Organization.kind tokens), `labels`, and a `sector` or `region` id or name,
    which include their sub-sectors and sub-regions. An empty `q` with filters lists by name.
    """
    return index_for(view).query(q, kinds=kinds, labels=labels, sector=sector, region=region, limit=limit)
