"""How the name search index scales: build time, memory and query latency for N synthetic
organisations (default 1,000,000), printed as figures. Not a test: it asserts nothing.

    .venv/bin/python bench/search_scale.py [N]

Names are random Chinese company names (region + 2 distinctive characters + industry word +
legal form) with pinyin, initials, an English name, an alias and a stock code, roughly the shape
of the sample's organisations.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from collections.abc import Iterator, Sequence

from pypinyin import Style, lazy_pinyin

from kg.store import Edge, GraphView, Node, QueryResult
from matching.search import SearchIndex

REGIONS = ["无锡", "江阴", "宜兴", "苏州", "上海", "深圳", "北京", "合肥", "南京", "杭州"]
CORE = "芯华微电晶科海纳长通创达源泰盛联和光中国新智能算力云天富安"
INDUSTRY = ["半导体", "微电子", "集成电路", "科技", "材料", "装备", "智能", "算力", "光电", "封装"]
LEGAL = ["有限公司", "股份有限公司", "集团有限公司"]


class MemoryView(GraphView):
    """Just enough of a view for SearchIndex.build: nodes of one label, no edges."""

    def __init__(self, nodes: list[Node]):
        self._nodes = nodes

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        if label == "Organization":
            for i in range(0, len(self._nodes), batch_size):
                yield self._nodes[i : i + batch_size]

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        return iter(())

    @property
    def version(self) -> str:
        return f"bench-{len(self._nodes)}"

    def get(self, node_id: str) -> Node | None:
        return None

    def get_many(self, ids: Sequence[str]) -> dict[str, Node]:
        return {}

    def neighbours(self, node_id, types=None, direction="both", limit=200):
        return []

    def query(self, cypher, params=None, *, max_rows=None, timeout_ms=None) -> QueryResult:
        return QueryResult([], [])

    def counts(self) -> dict[str, int]:
        return {"Organization": len(self._nodes)}

    @property
    def data_dir(self):
        return None

    def close(self) -> None:
        pass


def synthetic(n: int, seed: int = 7) -> list[Node]:
    rnd = random.Random(seed)
    pinyin_of = {ch: lazy_pinyin(ch)[0] for ch in CORE + "".join(REGIONS + INDUSTRY + LEGAL)}
    initial_of = {ch: lazy_pinyin(ch, style=Style.FIRST_LETTER)[0] for ch in pinyin_of}
    nodes = []
    for i in range(n):
        core = "".join(rnd.sample(CORE, 2))
        name = rnd.choice(REGIONS) + core + rnd.choice(INDUSTRY) + rnd.choice(LEGAL)
        short = core + rnd.choice(INDUSTRY)
        nodes.append(Node(f"org-{i}", "Organization", {
            "name_zh": name,
            "name_en": f"{''.join(pinyin_of[c] for c in core).title()} Technology {i}",
            "aliases": [short],
            "kind": "company",
            "stock_code": f"{600000 + i % 400000:06d}" if i % 5 == 0 else None,
            "pinyin": "".join(pinyin_of[c] for c in name),
            "initials": "".join(initial_of[c] for c in name),
        }))
    return nodes


def main(n: int) -> None:
    t0 = time.perf_counter()
    nodes = synthetic(n)
    print(f"generated {n:,} organisations in {time.perf_counter() - t0:.1f} s")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    idx = SearchIndex.build(MemoryView(nodes))
    build = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"index build {build:.1f} s; {len(idx.exact):,} exact keys, {len(idx.parts):,} part keys; "
          f"peak RSS +{(rss1 - rss0) / 1024:.0f} MiB")
    sample = nodes[n // 2].props
    queries = [sample["name_zh"], sample["aliases"][0], sample["initials"][:6], sample["pinyin"][:10],
               sample["name_en"].split()[0], "无锡芯华", "xinhua", "zhongguo xinhua", "688981", "wuxi"]
    for q in queries:
        t0 = time.perf_counter()
        hits = idx.query(q, limit=20)
        ms = (time.perf_counter() - t0) * 1000
        top = hits[0] if hits else None
        print(f"  {q!r:<34} {ms:8.1f} ms  {len(hits):>2} hits  top: {top.match if top else '-'} {top.name_zh if top else ''}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
