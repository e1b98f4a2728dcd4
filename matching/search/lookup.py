"""`search(view, q)`: the index of the view's graph version, opened once and cached.

A refresh writes each version's index beside its graph (matching.search.build); the first search
of a version opens it read-only (milliseconds: tantivy maps its files) and drops the indexes of
older versions, so a long-running process holds at most CACHED_VERSIONS open. A version without
an index (published before the search step existed, or a view that lives in memory) gets one
built from the view into a temporary folder, once, with a log line saying so.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from kg.store import GraphView
from matching.search.build import SEARCH_DIR, build_from_view, read_meta
from matching.search.engine import DEFAULT_LIMIT, SearchEngine
from matching.search.fields import SCHEMA_VERSION
from matching.search.hits import Hit, Results
from matching.search.query import warm_segmenter

__all__ = ["find", "index_for", "search", "warm"]

log = logging.getLogger("stakegraph.search")
CACHED_VERSIONS = 2
_cache: dict[str, SearchEngine] = {}
_temporary: dict[str, Path] = {}  # version -> the folder this process built its index in
_cache_lock = threading.Lock()


@atexit.register
def _remove_temporary() -> None:
    for folder in _temporary.values():
        shutil.rmtree(folder, ignore_errors=True)


def _published(view: GraphView) -> Path | None:
    data_dir = getattr(view, "data_dir", None)
    if not data_dir:
        return None
    folder = Path(data_dir) / SEARCH_DIR
    return folder if read_meta(folder).get("schema") == SCHEMA_VERSION else None


def index_for(view: GraphView) -> SearchEngine:
    """The search index of the view's graph version; older versions are dropped."""
    version = view.version
    engine = _cache.get(version)
    if engine is not None:
        return engine
    with _cache_lock:  # one open (or build) per version even when many requests arrive at once
        engine = _cache.get(version)
        if engine is None:
            folder = _published(view)
            if folder is None:
                log.info("graph version %s has no search index: building one from the graph "
                         "(a refresh writes it with the version)", version)
                folder = build_from_view(view, Path(tempfile.mkdtemp(prefix="stakegraph-search-")))
                _temporary[version] = folder
            engine = SearchEngine.open(folder, version)
            _cache[version] = engine
            for old in list(_cache)[:-CACHED_VERSIONS]:
                del _cache[old]
                if old in _temporary:
                    shutil.rmtree(_temporary.pop(old), ignore_errors=True)
        return engine


def warm(view: GraphView) -> None:
    """Open the view's index and load the query segmenter in a background thread, so the first
    search after a refresh does not wait for them; requests that come first wait on the lock."""
    if view.version not in _cache:
        threading.Thread(target=_open_quietly, args=(view,), name="search-index", daemon=True).start()


def _open_quietly(view: GraphView) -> None:
    try:
        index_for(view)
        warm_segmenter()
    except Exception:  # the view was closed under it (a newer version came); a request opens its own
        log.debug("search index warm-up of %s stopped", view.version, exc_info=True)


def find(view: GraphView, q: str, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
         sector: str | None = None, region: str | None = None, tier: str | None = None,
         limit: int = DEFAULT_LIMIT, offset: int = 0, facets: bool = False) -> Results:
    """One page of the entities matching `q` and the filters, with the total (SearchEngine.query)."""
    return index_for(view).query(q, kinds=kinds, labels=labels, sector=sector, region=region, tier=tier,
                                 limit=limit, offset=offset, facets=facets)


def search(view: GraphView, q: str, *, kinds: Iterable[str] | None = None, labels: Iterable[str] | None = None,
           sector: str | None = None, region: str | None = None, limit: int = DEFAULT_LIMIT,
           offset: int = 0) -> list[Hit]:
    """Entities whose names, aliases, pinyin, initials, codes or texts match `q`, best first.

    >>> [h.name_zh for h in search(view, "zxgj")][:1]          # doctest: +SKIP
    ['中芯国际集成电路制造有限公司']

    Filters: `kinds` (Organization.kind tokens), `labels`, and a `sector` or `region` id or name,
    which include their sub-sectors and sub-regions; an unknown one raises UnknownFilter. An
    empty `q` with filters lists by name. `find` returns the page with its total.
    """
    return find(view, q, kinds=kinds, labels=labels, sector=sector, region=region, limit=limit, offset=offset).hits
