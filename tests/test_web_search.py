"""Name search (matching.search) on the loaded bundle, and the search page and API over it."""

from __future__ import annotations

import pytest

from matching.search import SearchEngine, UnknownFilter, index_for, norm, search
from matching.search.keys import name_parts, stock_key


def _smic(hits) -> bool:
    return any((h.name_zh or "").startswith("中芯国际") for h in hits)


@pytest.mark.parametrize("query", ["zxgj", "SMIC", "smic", "中芯", "中芯国际", "中芯國際", "688981", "688981.SH",
                                   "zhongxinguoji", "zhong xin guo ji"])
def test_finds_smic_by_name_alias_pinyin_initials_and_code(view, query: str) -> None:
    hits = search(view, query, limit=3)
    assert _smic(hits[:1]) or _smic(hits), [(h.id, h.name_zh, h.match) for h in hits]


def test_exact_ranks_before_prefix_before_fuzzy(view) -> None:
    hits = search(view, "SMIC", limit=10)
    assert hits[0].match == "exact" and _smic(hits[:1])
    tiers = {"exact": 0, "prefix": 1, "part": 2, "fuzzy": 3, "text": 4}
    order = [tiers[h.match] for h in hits]
    assert order == sorted(order)


def test_typo_tolerant(view) -> None:
    hits = search(view, "JCTE Group", limit=5)  # JCET misspelled
    assert any("长电" in (h.name_zh or "") for h in hits), [(h.id, h.name_zh) for h in hits]


def test_id_is_searchable(view) -> None:
    smic = search(view, "SMIC", labels=["Organization"], limit=1)[0]
    assert search(view, smic.id, limit=1)[0].id == smic.id


def test_filters_include_sub_regions_and_sub_sectors(view) -> None:
    in_wuxi = search(view, "", region="无锡", labels=["Organization"], limit=1000)
    assert in_wuxi, "no organisation located in Wuxi"
    jcet = search(view, "长电科技", labels=["Organization"], limit=1)[0]
    assert jcet.id in {h.id for h in in_wuxi}, "Jiangyin is part of Wuxi, so JCET must be found"
    packaging = search(view, "", sector="ic.packaging_test", labels=["Organization"], limit=1000)
    assert jcet.id in {h.id for h in packaging}
    assert all(h.label == "Organization" for h in packaging)
    listed = search(view, "", kinds=["listed_company"], limit=50)
    assert listed and all(h.kind == "listed_company" for h in listed)


def test_empty_and_junk_queries(view) -> None:
    assert search(view, "") == []
    assert search(view, "   !!! ") == []
    assert isinstance(search(view, "x" * 10_000, limit=5), list)  # long input is cut, never an error
    assert search(view, "<script>alert(1)</script>", limit=5) is not None
    assert search(view, "MATCH (n) DETACH DELETE n", limit=5) is not None


def test_index_is_cached_per_version(view) -> None:
    assert index_for(view) is index_for(view)
    assert isinstance(index_for(view), SearchEngine)


def test_keys() -> None:
    assert norm(" Ｊ Ｃ Ｅ Ｔ ") == "jcet"
    assert norm("長電科技") == "长电科技"
    assert stock_key("SH688981") == stock_key("688981.SH") == "688981"
    assert stock_key("JCET") is None
    assert "长电科技股份有限公司" in name_parts("江苏长电科技股份有限公司")
    assert "packagingline" in name_parts("Advanced packaging line")


def test_search_page(client, auth) -> None:
    auth.login("researcher")
    page = client.get("/search?q=zxgj")
    assert page.status_code == 200
    assert "中芯国际" in page.get_data(as_text=True)
    filtered = client.get("/search?q=&region=wuxi&label=Organization")
    assert filtered.status_code == 200
    bad = client.get("/search?q=" + "x" * 500)
    assert bad.status_code == 400
    assert client.get("/search?label=Nonsense&q=x").status_code == 400


def test_search_page_escapes_markup(client, auth) -> None:
    auth.login("staff")
    page = client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_semantic_mode_answers_or_explains(client, auth) -> None:
    auth.login("staff")
    page = client.get("/search?mode=semantic&q=liquid+cooling+for+AI+data+centres")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    try:
        import matching.similar  # noqa: F401
    except ImportError:
        assert "not available" in text or "暂不可用" in text
        return
    assert 'id="results"' in text


def test_api_search(client, app) -> None:
    from web.state import workspace

    with app.app_context():
        token = workspace().create_token("staff1", "test")
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/search?q=zxgj", headers=headers).get_json()
    assert body["count"] >= 1 and any(h["name_zh"].startswith("中芯国际") for h in body["hits"][:3])
    assert client.get("/api/v1/search", headers=headers).status_code == 400
    assert client.get("/api/v1/search?q=x&limit=100000", headers=headers).status_code == 400


class MemoryView:
    """A few nodes and edges in memory: the search library needs only iter_nodes / iter_edges."""

    version = "memory-1"

    def __init__(self, nodes, edges=()):
        self.nodes, self.edges = nodes, list(edges)

    def iter_nodes(self, label, batch_size=5000):
        yield [n for n in self.nodes if n.label == label]

    def iter_edges(self, rel_type, batch_size=5000):
        yield [e for e in self.edges if e.type == rel_type]


def test_library_on_a_handful_of_nodes() -> None:
    from kg.store import Edge, Node

    nodes = [
        Node("jcet", "Organization", {"name_zh": "江苏长电科技股份有限公司", "name_en": "JCET Group Co., Ltd.",
                                      "aliases": ["长电科技", "JCET"], "kind": "listed_company", "stock_code": "600584.SH",
                                      "credit_code": "9132020025044723XL",
                                      "merged_ids": ["old-jcet"]}),
        Node("tsmc", "Organization", {"name_zh": "台積電", "name_en": "TSMC", "kind": "listed_company"}),
        Node("wuxi", "Region", {"name_zh": "无锡市", "name_en": "Wuxi"}),
        Node("jiangyin", "Region", {"name_zh": "江阴市", "name_en": "Jiangyin"}),
    ]
    edges = [Edge("LOCATED_IN", "jcet", "jiangyin"), Edge("PART_OF", "jiangyin", "wuxi")]
    idx = index_for(MemoryView(nodes, edges))  # no published index: built from the view

    def top(q: str, **kw) -> str:
        return idx.query(q, **kw).hits[0].id

    assert top("cdkj") == "jcet", "长 read chang as people say it"
    assert top("zdkj") == "jcet", "and zhang as the phrase dictionary says"
    assert top("600584") == "jcet"
    assert top("9132020025044723xl") == "jcet"
    assert top("台积电") == "tsmc", "simplified query finds a traditional name"
    assert [h.id for h in idx.query("", region="无锡").hits] == ["jcet"]
    with pytest.raises(UnknownFilter):
        idx.query("", region="nowhere")
    assert idx.merged.get("old-jcet") == "jcet"
    assert idx.query("jcet group").hits[0].match in ("exact", "prefix")
