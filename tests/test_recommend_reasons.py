"""Reasons in both languages from one evidence record: every template renders in zh and en, the
direction words agree for parent/subsidiary, investor/investee and supplier/customer, ended ties
show their dates and weigh less, illustrative ties never count, extracted ones are marked."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kg.backends import open_view
from kg.settings import load_settings
from matching.evidence import DIRECTION_WORDS, TEMPLATES, Evidence, render
from matching.facts import Tie

DIRECTIONS = [("SUBSIDIARY_OF", "out"), ("SUBSIDIARY_OF", "in"), ("INVESTS_IN", "out"), ("INVESTS_IN", "in"),
              ("SUPPLIES", "out"), ("SUPPLIES", "in")]
OPPOSITE = {"out": "in", "in": "out"}


def sample(kind: str, rel: str = "SUBSIDIARY_OF", direction: str = "out") -> Evidence:
    return Evidence(kind, rel=rel, direction=direction, other="x", other_zh="甲公司", other_en="Alpha Co", since="2014",
                    until="2021", tier="extracted", sentence="甲公司与乙公司签约。", context="anchor", target_zh="封测项目",
                    target_en="Packaging project", value=0.8, count=2, code="600584", terms=("ABF substrate",))


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_template_renders_in_both_languages(kind):
    for rel, direction in [*DIRECTIONS, ("PARTNERS_WITH", "out"), ("ACTIVE_IN", "out")]:
        e = sample(kind, rel, direction)
        en, zh = render(e, "en"), render(e, "zh")
        assert en and zh and en != zh
        names_removed = en.replace("甲公司与乙公司签约。", "").replace("甲公司", "").replace("封测项目", "")
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in names_removed), en


@pytest.mark.parametrize("rel,direction", DIRECTIONS)
def test_direction_words_agree_in_both_languages(rel, direction):
    e = Evidence("tie", rel=rel, direction=direction, other_zh="甲公司", other_en="Alpha Co")
    en, zh = render(e, "en"), render(e, "zh")
    word_en, word_zh = DIRECTION_WORDS[(rel, direction)]
    other_en, other_zh = DIRECTION_WORDS[(rel, OPPOSITE[direction])]
    assert word_en in en and word_zh in zh, (en, zh)
    assert other_en not in en and other_zh not in zh, (en, zh)


def test_an_ended_tie_shows_its_dates_in_both_languages():
    e = Evidence("tie", rel="SUBSIDIARY_OF", direction="out", other_zh="中芯国际", other_en="SMIC", since="2014", until="2021")
    assert "2014–2021" in render(e, "en") and "ended" in render(e, "en")
    assert "2014–2021" in render(e, "zh") and "已结束" in render(e, "zh")


def test_tie_weights_by_time_and_tier():
    def tie(**props):
        return Tie("SUPPLIES", "out", "o", "Organization", "o", props)

    assert tie(tier="curated").weight(2026, 0.5, 3) == 1.0
    assert tie(tier="extracted").weight(2026, 0.5, 3) == 0.5
    assert tie(tier="illustrative").weight(2026, 0.5, 3) == 0.0
    ended = tie(tier="curated", until="2021").weight(2026, 0.5, 3)
    assert 0 < ended < 0.5 and tie(tier="curated", until="2030").weight(2026, 0.5, 3) == 1.0


ORGS = [  # id, name_zh, name_en, kind, city, sectors
    ("parent", "母集团股份有限公司", "Mother Group", "listed_company", "无锡", "ic.packaging_test"),
    ("child", "子封测有限公司", "Child Packaging", "company", "江阴", "ic.packaging_test"),
    ("fund", "产业投资基金", "Industry Fund", "fund", "北京", ""),
    ("investee", "被投芯片有限公司", "Investee Chips", "company", "上海", "ic.packaging_test"),
    ("supplier", "供货材料有限公司", "Supplier Materials", "company", "苏州", "ic.packaging_test"),
    ("customer", "客户晶圆有限公司", "Customer Wafers", "company", "无锡", "ic.packaging_test"),
    ("former", "原子公司有限公司", "Former Unit", "company", "江阴", "ic.packaging_test"),
]
RELATIONS = [  # source, target, type, since, until
    ("child", "parent", "SUBSIDIARY_OF", "2015", ""),
    ("fund", "investee", "INVESTS_IN", "2018", ""),
    ("supplier", "customer", "SUPPLIES", "2019", ""),
    ("former", "parent", "SUBSIDIARY_OF", "2014", "2021"),
]


def write_bundle(folder: Path, orgs, relations) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "organizations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name_zh", "name_en", "kind", "city", "sectors", "description", "source"])
        for row in orgs:
            w.writerow([*row, "packaging and test", "t"])
    with open(folder / "relations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "target_id", "type", "since", "until", "source"])
        for row in relations:
            w.writerow([*row, "t"])
    return folder


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from jobs.tasks import init_home, refresh_manifest

    tmp = tmp_path_factory.mktemp("reasons")
    settings = load_settings({"home": str(tmp / "home"), "embedder": "lexical"}, env={})
    init_home(settings)
    write_bundle(tmp / "real", ORGS, RELATIONS)
    # a made-up example: an illustrative partnership that must never count
    write_bundle(tmp / "example", [], [("customer", "parent", "PARTNERS_WITH", "2024", "")])
    (tmp / "m.yaml").write_text("sources:\n  - {name: real, kind: bundle, path: real}\n"
                                "  - {name: example, kind: bundle, path: example, tier: illustrative}\n", encoding="utf-8")
    refresh_manifest(settings, tmp / "m.yaml")
    return settings


def reasons_of(settings, entity: str, rel: str, org: str) -> tuple[list[str], list[str], list[dict]]:
    from matching.recommend import recommend

    with open_view(settings) as view:
        recs = recommend(view, entity, rel_type=rel, k=20, settings=settings, exclude_involved=False)
    rec = next(r for r in recs if r.org_id == org)
    records = [e for s in rec.signals + rec.policy_signals for e in s.records]
    en = [e for s in rec.signals + rec.policy_signals for e in s.evidence]
    zh = [e for s in rec.signals + rec.policy_signals for e in s.evidence_zh]
    return en, zh, records


@pytest.mark.slow
@pytest.mark.parametrize("entity,rel,org,word", [
    ("customer", "SUBSIDIARY_OF", "parent", ("parent company of Child", "是子封测有限公司的母公司")),
    ("customer", "SUBSIDIARY_OF", "child", ("subsidiary of Mother", "是母集团股份有限公司的子公司")),
    ("investee", "PARTNERS_WITH", "fund", ("invests in Investee", "投资了被投芯片有限公司")),
    ("fund", "PARTNERS_WITH", "investee", ("backed by Industry Fund", "获产业投资基金投资")),
    ("customer", "PARTNERS_WITH", "supplier", ("supplies Customer", "向客户晶圆有限公司供货")),
    ("supplier", "PARTNERS_WITH", "customer", ("buys from Supplier", "采购供货材料有限公司的产品")),
])
def test_reasons_on_a_small_graph_name_the_direction_in_both_languages(loaded, entity, rel, org, word):
    en, zh, records = reasons_of(loaded, entity, rel, org)
    assert any(word[0] in x for x in en), en
    assert any(word[1] in x for x in zh), zh
    assert len(en) == len(zh) == len(records)


@pytest.mark.slow
def test_an_ended_tie_is_history_and_an_illustrative_one_never_counts(loaded):
    from matching.recommend import recommend

    en, zh, records = reasons_of(loaded, "customer", "SUBSIDIARY_OF", "former")
    ended = [r for r in records if r.get("until")]
    assert ended and all(r["until"] == "2021" for r in ended)
    assert any("2014–2021" in x for x in en) and any("2014–2021" in x for x in zh)
    with open_view(loaded) as view:
        assert view.query("MATCH (:Organization {id: 'customer'})-[e:PARTNERS_WITH]-() RETURN e.evidence_tier").rows == [["illustrative"]]
        recs = recommend(view, "customer", k=20, settings=loaded, rel_type="PARTNERS_WITH")
    parent = next(r for r in recs if r.org_id == "parent")
    assert not any(rec.get("rel") == "PARTNERS_WITH" for s in parent.signals for rec in s.records), \
        "the illustrative partnership is no evidence"
    coop = next(s for s in parent.signals if s.name == "cooperation")
    assert not any(r.get("context") == "anchor" for r in coop.records), "the made-up tie does not make it an anchor"


def test_a_manifest_tier_is_stamped_on_the_sources_facts(tmp_path):
    from ingest.sources import ManifestError, load_manifest
    from kg.schema import load_schema

    write_bundle(tmp_path / "real", ORGS[:2], RELATIONS[:1])
    m = tmp_path / "m.yaml"
    m.write_text("sources:\n  - {name: a, kind: bundle, path: real}\n  - {name: b, kind: bundle, path: real, tier: illustrative}\n",
                 encoding="utf-8")
    a, b = load_manifest(m)[1:]
    assert (a.tier, b.tier) == ("curated", "illustrative") and type(b).__name__ == "BundleSource"
    batch_a, batch_b = a.read(load_schema()), b.read(load_schema())
    assert all("evidence_tier" not in e.props for e in batch_a.edges), "curated is the default, not stamped"
    assert batch_b.edges and all(e.props["evidence_tier"] == "illustrative" for e in batch_b.edges)
    m.write_text("sources:\n  - {name: a, kind: bundle, path: real, tier: rumour}\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="source a: unknown tier 'rumour'"):
        load_manifest(m)


@pytest.mark.slow
def test_a_path_reason_names_the_node_in_between_in_each_language(template_home):
    """"close to X in the graph, through Y": Y is seldom a fetched candidate, so its names come
    from the tie that reaches it; the English reason used to show Y's Chinese name (a packaging
    project's partners "through 无锡市人民政府")."""
    import re

    from matching.recommend import recommend
    from tests.conftest import home_settings

    settings = home_settings(template_home)
    seen = 0
    with open_view(settings) as view:
        projects = [n.id for batch in view.iter_nodes("Project") for n in batch]
        for project in projects:
            for rec in recommend(view, project, k=20, settings=settings):
                for s in rec.signals:
                    if s.name != "diffusion":
                        continue
                    for en, zh, record in zip(s.evidence, s.evidence_zh, s.records, strict=True):
                        node = view.get(record["other"])
                        if node is None or node.label != "Organization" or not node.props.get("name_en"):
                            continue
                        seen += 1
                        assert node.props["name_en"] in en and not re.search(r"[\u4e00-\u9fff]", en.split(" in the graph")[1]), en
                        assert (node.props.get("name_zh") or node.props["name_en"]) in zh, zh
    assert seen, "no path reason through an organisation in the sample's projects"
