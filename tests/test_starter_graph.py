"""The starter graph: the default manifest (data/sources.yaml) loaded as a fresh clone loads it.

One refresh of every real source (the A-share list, the SZSE list, the stock knowledge graph's
companies, people and roles, the universities, the curated facts) and a second one, shared by
the whole module: each takes about a minute of CPU. The lexical embedder keeps the vectors step
short; everything else is the real pipeline on the real files.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingest.sources import DEFAULT_MANIFEST, load_manifest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sources"
FULLWIDTH = re.compile("[\u3000\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")  # letters, digits, the wide space
STATUS = re.compile(r"^(S?\*?ST|PT)[\u4e00-\u9fff]")
A_SHARE_CODE = re.compile(r"^\d{6}\.(SH|SZ|BJ)$")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A home with the default manifest refreshed twice: (settings, first log, second log)."""
    from jobs.tasks import init_home, refresh_manifest
    from kg.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STAKEGRAPH_EMBEDDER", "lexical")
        settings = load_settings({"home": str(tmp_path_factory.mktemp("starter") / "home"), "embedder": "lexical"})
        init_home(settings)
        first = refresh_manifest(settings)
        second = refresh_manifest(settings)
        yield settings, first, second


@pytest.fixture(scope="module")
def graph(starter: Any) -> Any:
    from kg.backends import open_view

    with open_view(starter[0]) as view:
        yield view


def _rows(view: Any, cypher: str, **params: Any) -> list[list[Any]]:
    return view.query(cypher, params).rows


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_default_manifest_reads_every_real_source_with_its_tier() -> None:
    sources = {s.name: s for s in load_manifest(DEFAULT_MANIFEST)}
    assert {"a-share-list", "szse-list", "stock-kg-companies", "stock-kg-people", "stock-kg-roles", "universities",
            "curated-listed", "curated-organizations", "curated-relations"} <= set(sources)
    assert {sources[n].tier for n in ("a-share-list", "szse-list", "stock-kg-roles")} == {"official"}
    assert sources["curated-relations"].tier == "curated" and sources["illustrative-projects"].tier == "illustrative"
    assert "news" not in sources  # the illustrative news belongs to the sample manifest


def test_refresh_loads_everything_shipped(starter: Any) -> None:
    _, first, _ = starter
    assert first.rejected == [], first.rejected[:5]
    assert first.status == "ok"


def test_the_starter_graph_is_the_size_the_issue_asks(graph: Any) -> None:
    counts = graph.counts()
    listed = _rows(graph, "MATCH (o:Organization) WHERE o.kind = 'listed_company' RETURN count(o)")[0][0]
    assert listed >= 5400 and counts["Person"] >= 20_000 and counts["HAS_ROLE"] >= 24_000, (listed, counts)


def test_one_node_per_stock_code_each_one_normalised_code(graph: Any) -> None:
    rows = _rows(graph, "MATCH (o:Organization) WHERE o.stock_code IS NOT NULL RETURN o.id, o.stock_code")
    codes = Counter(code for _, code in rows)
    assert [c for c, n in codes.items() if n > 1] == []
    a_shares = _rows(graph, "MATCH (o:Organization) WHERE o.id STARTS WITH 'stock-' RETURN o.id, o.stock_code")
    assert [(i, c) for i, c in a_shares if not A_SHARE_CODE.match(c or "") or c[:6] != i[6:]] == []
    # every A-share of the list is one node with its code; its B share (if any) is among its codes
    assert {f"stock-{r['symbol']}" for r in _csv(SOURCES / "a_share_stock_basic" / "stock_basic.csv")} <= {i for i, _ in a_shares}
    vanke = _rows(graph, "MATCH (o:Organization {id: 'stock-000037'}) RETURN o.stock_code, o.stock_codes, o.merged_ids")
    assert vanke == [["000037.SZ", ["200037.SZ"], ["stock-200037"]]]
    zpmc = _rows(graph, "MATCH (o:Organization {id: 'stock-600320'}) RETURN o.stock_code, o.stock_codes")
    assert zpmc == [["600320.SH", ["900947.SH"]]]  # a Shanghai B share, joined by a shipped decision


def test_a_second_refresh_changes_nothing(starter: Any) -> None:
    _, _, second = starter
    totals = second.totals()
    assert (totals["added"], totals["changed"], totals["unseen"], totals["rejected"]) == (0, 0, 0, 0), second.summary()


def test_quirks_are_normalised_and_reported(graph: Any, starter: Any) -> None:
    vanke = _rows(graph, "MATCH (o:Organization {id: 'stock-000002'}) RETURN o.name_zh, o.name_en, o.aliases, o.extra")
    name_zh, name_en, aliases, extra = vanke[0]
    assert (name_zh, name_en) == ("万科企业股份有限公司", "CHINA VANKE CO., LTD.") and "万科A" in aliases
    assert '"shares_a": "9724196533"' in extra  # '9,724,196,533' in the export
    names = _rows(graph, "MATCH (o:Organization) RETURN o.id, o.name_zh, o.name_en, o.aliases")
    bad = [(i, n) for i, zh, en, al in names for n in [zh, en, *(al or [])] if n and (FULLWIDTH.search(n) or "  " in n)]
    assert bad == []
    assert [(i, zh) for i, zh, _, _ in names if zh and STATUS.match(zh)] == []  # shown without the status
    st = _rows(graph, "MATCH (o:Organization {id: 'stock-000004'}) RETURN o.name_zh, o.aliases, o.extra")[0]
    assert st[0] == "深圳国华网安科技股份有限公司" and {"国华", "*ST国华"} <= set(st[1]) and '"status": "*ST"' in st[2]
    rules = {(n["source"], n["rule"]) for n in starter[1].normalised}
    assert {("szse-list", "fullwidth"), ("szse-list", "spaces"), ("a-share-list", "status_prefix"),
            ("szse-list", "thousands_separator"), ("stock-kg-companies", "leading_zeros"),
            ("stock-kg-people", "namesake_number")} <= rules


def test_sources_join_into_one_node_per_organisation(graph: Any, starter: Any) -> None:
    jiangnan = _rows(graph, "MATCH (o:Organization {id: 'uni-jiangnan'}) RETURN o.name_zh, o.name_en, o.aliases")
    assert jiangnan[0][:2] == ["江南大学", "Jiangnan University"] and "Wuxi University of Light Industry" in jiangnan[0][2]
    assert _rows(graph, "MATCH (o:Organization) WHERE o.id = 'org-huawei' RETURN o.merged_ids") == [[[]]]
    merges = starter[1].merges_by_sources
    assert merges["a-share-list + szse-list (same id)"] >= 2800
    assert merges["curated-organizations + universities (resolved)"] >= 14


def test_people_with_one_name_on_different_boards_stay_apart(graph: Any) -> None:
    # stock_kg's own person id is the only evidence that joins board seats: 王平 and 王平1 are two
    wang = _rows(graph, "MATCH (p:Person) WHERE p.name_zh = '王平' RETURN p.id")
    assert len(wang) >= 2


def test_facts_carry_their_tier_and_date(graph: Any) -> None:
    roles = _rows(graph, "MATCH (:Person)-[r:HAS_ROLE]->(:Organization {id: 'stock-000002'}) "
                         "RETURN DISTINCT r.as_of, r.evidence_tier")
    assert roles == [["2018", "official"]]
    curated = _rows(graph, "MATCH (o:Organization {id: 'fund-big-fund-1'})-[r:INVESTS_IN]->() RETURN r.evidence_tier LIMIT 1")
    assert curated == [[None]]  # curated is the default tier: not stamped


def test_every_company_has_its_places_and_an_industry(graph: Any) -> None:
    unplaced = _rows(graph, "MATCH (o:Organization) WHERE NOT (o)-[:LOCATED_IN]->(:Region) RETURN count(o)")
    assert unplaced == [[0]]
    vanke = _rows(graph, "MATCH (:Organization {id: 'stock-000002'})-[:LOCATED_IN]->(r:Region) RETURN r.level, r.name_zh")
    assert ["district", "盐田区"] in vanke  # from the registered address; PART_OF 深圳市, PART_OF 广东省
    assert _rows(graph, "MATCH (:Region {name_zh: '盐田区'})-[:PART_OF]->(c:Region)-[:PART_OF]->(p:Region) "
                        "RETURN c.name_zh, p.name_zh") == [["深圳市", "广东省"]]
    bank = _rows(graph, "MATCH (:Organization {id: 'stock-000001'})-[:ACTIVE_IN]->(s:Sector) RETURN s.id")
    assert ["other.finance.banks"] in bank
    untagged = _rows(graph, "MATCH (o:Organization) WHERE o.kind = 'listed_company' AND NOT (o)-[:ACTIVE_IN]->(:Sector) "
                            "RETURN count(o)")[0][0]
    assert untagged <= 400, untagged  # only companies that left the market before today's list


def test_an_a_share_is_found_first_by_short_name_full_name_english_name_and_code(graph: Any) -> None:
    from ingest.normalize.listing import clean_text, short_name
    from matching.search import search

    szse = {r["A股代码"]: r for r in _csv(SOURCES / "szse_a_share_list" / "szse_a_share_list.csv")}
    basic = _csv(SOURCES / "a_share_stock_basic" / "stock_basic.csv")
    picked = random.Random(18).sample(basic, 150) + [r for r in basic if r["symbol"] in ("000002", "600584", "688981")]
    misses = []
    for row in picked:
        want = f"stock-{row['symbol']}"
        queries = [row["name"], short_name(row["name"])[0], row["symbol"], row["ts_code"]]
        if row["symbol"] in szse:
            queries += [szse[row["symbol"]]["公司全称"], clean_text(szse[row["symbol"]]["英文名称"])[0]]
        for q in queries:
            hits = search(graph, q, limit=3)
            if not hits or hits[0].id != want:
                misses.append((q, want, [h.id for h in hits]))
    assert misses == []
