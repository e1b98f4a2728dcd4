"""Search: one box for Chinese and English names, aliases, pinyin, initials, codes and texts,
on a tantivy index published with each graph version, alone or fused with the vectors.

Public API::

    from matching.search import search, find, hybrid_search, semantic_search, index_for, Hit

    hits = search(view, "zxgj")                    # 中芯国际 first
    hits = search(view, "jcte group")              # typo-tolerant: 长电科技 (JCET)
    page = find(view, "", sector="ic.packaging_test", region="无锡", limit=20, offset=20)
    page.total, page.hits                          # every match counted; one page of hits
    page = hybrid_search(view, "advanced packaging", region="Wuxi")   # words and vectors, filtered
"""

from matching.search.build import build_search_index
from matching.search.engine import SearchEngine
from matching.search.hits import LABELS, MATCHES, Hit, Results, UnknownFilter
from matching.search.keys import norm
from matching.search.lookup import find, index_for, search, warm
from matching.search.semantic import SemanticUnavailable, hybrid_search, semantic_search

__all__ = [
    "LABELS",
    "MATCHES",
    "Hit",
    "Results",
    "SearchEngine",
    "SemanticUnavailable",
    "UnknownFilter",
    "build_search_index",
    "find",
    "hybrid_search",
    "index_for",
    "norm",
    "search",
    "semantic_search",
    "warm",
]
