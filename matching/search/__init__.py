"""Name search: one box for Chinese and English names, aliases, pinyin, initials and codes.

Public API::

    from matching.search import search, semantic_search, index_for, Hit

    hits = search(view, "zxgj")                    # 中芯国际 first
    hits = search(view, "jcte")                    # typo-tolerant: 长电科技 (JCET)
    hits = search(view, "", sector="ic.packaging_test", region="wuxi")   # filters alone list
"""

from matching.search.index import LABELS, Hit, SearchIndex
from matching.search.keys import norm
from matching.search.lookup import index_for, search, warm
from matching.search.semantic import SemanticUnavailable, semantic_search

__all__ = [
    "LABELS",
    "Hit",
    "SearchIndex",
    "SemanticUnavailable",
    "index_for",
    "norm",
    "search",
    "semantic_search",
    "warm",
]
