"""The industry-chain map: tagging, Wuxi's coverage and gaps, the CLI, the API and the page.

The coverage tests read the session's sample home (tests/conftest.py loads data/sample once);
the tagging tests load a small bundle of their own, because the sample tags every organisation.
Assertions name firms by their Chinese names, not ids, so they survive id changes in the data.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import USERS, home_settings

from kg.store import StoreError
from matching.chain.classify import MIN_TEXT_COSINE, SourceMap, TextClassifier

ROOT = Path(__file__).resolve().parents[1]
WUXI = "cn-js-wuxi"
ORG_HEADER = "id,name_zh,name_en,kind,sectors,city,description,csrc_industry,tushare_industry\n"


# ------------------------------------------------------------------------------------ pure parts


def test_source_map_finds_labels_in_any_spelling() -> None:
    smap = SourceMap(
        {("csrc", "C 制造业"): [("other.manufacturing", 0.3)], ("tushare", "半导体"): [("ic", 0.6)]}
    )
    assert smap.lookup({"csrc_industry": "C 制造业"}) == [("other.manufacturing", 0.3, "C 制造业")]
    assert smap.lookup({"industry": "制造业"}) == [("other.manufacturing", 0.3, "制造业")]
    assert smap.lookup({"行业": "半导体|C 制造业"})[0] == ("ic", 0.6, "半导体")
    assert smap.lookup({"website": "半导体"}) == []  # only industry-like columns are read


def test_text_classifier_confidence_and_restriction() -> None:
    ids = ["ic.packaging_test", "ic.fab.memory", "other.finance"]
    parent = {"ic.packaging_test": "ic", "ic.fab.memory": "ic.fab", "ic.fab": "ic", "other.finance": "other"}
    matrix = np.eye(3, dtype=np.float32)
    clf = TextClassifier(ids, matrix, {i: i for i in ids}, parent)
    sure = clf.classify(np.array([0.9, 0.1, 0.0], dtype=np.float32))
    doubtful = clf.classify(np.array([0.5, 0.48, 0.0], dtype=np.float32))
    assert sure.sector_id == doubtful.sector_id == "ic.packaging_test"
    assert sure.confidence > doubtful.confidence  # a close runner-up from another branch halves trust
    assert clf.classify(np.array([MIN_TEXT_COSINE - 0.01, 0, 0], dtype=np.float32)) is None
    only_memory = clf.classify(np.array([0.9, 0.4, 0.0], dtype=np.float32), allowed={"ic.fab.memory"})
    assert only_memory.sector_id == "ic.fab.memory"


# ------------------------------------------------------------------------ coverage on the sample


@pytest.fixture(scope="module")
def sample_view(template_home):
    from kg.backends import open_view

    with open_view(home_settings(template_home)) as view:
        yield view


@pytest.fixture(scope="module")
def report(sample_view, template_home):
    from matching.chain import chain_report

    return chain_report(sample_view, "Wuxi", settings=home_settings(template_home))


def _firm_names(link) -> list[str]:
    return [f.name_zh or "" for f in link.firms]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Wuxi", "无锡", "无锡市", WUXI])
def test_region_by_id_or_name(sample_view, template_home, name: str) -> None:
    from matching.chain import resolve_region

    assert resolve_region(sample_view, name, home_settings(template_home)) == WUXI


@pytest.mark.slow
def test_unknown_region_is_an_error(sample_view, template_home) -> None:
    from matching.chain import resolve_region

    with pytest.raises(StoreError, match="no region"):
        resolve_region(sample_view, "Atlantis", home_settings(template_home))


@pytest.mark.slow
def test_wuxi_strengths_are_not_gaps(report) -> None:
    packaging = report.link("ic.packaging_test")
    memory = report.link("ic.fab.memory")
    specialty = report.link("ic.fab.specialty_power")
    for link in (packaging, memory, specialty):
        assert not link.gap and link.strength >= report.threshold, link.sector_id
    jcet = next(f for f in packaging.firms if "长电科技" in (f.name_zh or ""))
    assert jcet.presence == "located" and "江阴" in jcet.via_name and jcet.listed
    assert any("海力士" in n for n in _firm_names(memory))
    assert any("华虹" in n for n in _firm_names(specialty))
    assert any("华润" in n for n in _firm_names(specialty))


@pytest.mark.slow
def test_link_without_local_firm_is_a_gap_with_real_outside_candidates(report, sample_view) -> None:
    from matching.facts import trees

    tr = trees(sample_view)
    wuxi = tr.subtree(WUXI)
    empty = [link for link in report.links if link.depth > 0 and not link.firms]
    assert empty and all(link.gap and link.strength == 0 for link in empty)
    assert report.link("ic.materials.substrates") in empty
    checked = 0
    for link in empty:
        subtree = tr.subtree(link.sector_id)
        for c in link.candidates:
            node = sample_view.get(c.org_id)
            assert node is not None and node.label == "Organization"
            sectors = {
                n.node.id for n in sample_view.neighbours(c.org_id, types=["ACTIVE_IN"], direction="out")
            }
            places = {
                n.node.id for n in sample_view.neighbours(c.org_id, types=["LOCATED_IN"], direction="out")
            }
            assert not places & wuxi, (link.sector_id, c.org_id, places)
            if c.member:
                assert sectors & subtree, (link.sector_id, c.org_id, sectors)
            else:  # only when no firm of the link itself is outside Wuxi: its parent's or a child's
                assert sectors & ({tr.parent.get(link.sector_id)} | subtree), (link.sector_id, c.org_id)
            assert c.reasons_en and c.reasons_zh
            checked += 1
    substrates = report.link("ic.materials.substrates").candidates
    assert substrates and all(c.member for c in substrates)
    assert checked >= 20


@pytest.mark.slow
def test_outside_dependencies_of_local_packaging(report) -> None:
    from matching.chain.export import dependency_lines

    packaging = report.link("ic.packaging_test")
    assert "ic.materials.substrates" in packaging.upstream_gaps
    lines = dependency_lines(report, "en")
    assert any(
        "Packaging and test" in line and "IC package substrates" in line and "outside Jiangsu" in line
        for line in lines
    ), lines


@pytest.mark.slow
def test_report_is_json_and_table(report) -> None:
    from matching.chain import to_table

    body = json.loads(json.dumps(report.as_dict(), ensure_ascii=False))
    assert body["region_id"] == WUXI and len(body["links"]) == len(report.links)
    table = to_table(report, "en")
    rows = {line.strip().split("  ")[0]: line for line in table.splitlines()}
    assert "GAP" not in rows["Packaging and test (OSAT)"]
    assert "GAP" in rows["IC package substrates"]
    assert "长电科技" in to_table(report, "zh")


def _table_rows(markdown: str) -> list[tuple[str, str, str, float]]:
    """(link, local firms, gap flag, strength) of each row of a chain table in Markdown.

    Names of top firms and candidates are left out: their order follows standing and embedding
    scores, which news items (`stakegraph refresh` reads them, the test home does not) shift.
    """
    rows = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 6 and cells[3].replace(".", "").isdigit():
            rows.append((cells[0], cells[1], cells[4], float(cells[3])))
    return rows


@pytest.mark.slow
def test_docs_table_is_current(report) -> None:
    from matching.chain import to_table

    doc = (ROOT / "docs" / "chain.md").read_text(encoding="utf-8")
    block = doc.split("<!-- chain-table:start -->")[1].split("<!-- chain-table:end -->")[0]
    documented, current = _table_rows(block), _table_rows(to_table(report, "en", markdown=True))
    hint = "regenerate the block in docs/chain.md: stakegraph refresh && stakegraph chain --region Wuxi --markdown"
    assert [r[:3] for r in documented] == [r[:3] for r in current], hint
    assert all(abs(a[3] - b[3]) <= 0.05 for a, b in zip(documented, current, strict=True)), hint


@pytest.mark.slow
def test_diagram_boxes_do_not_overlap(report) -> None:
    from web.chain import layout

    boxes = layout(report)["boxes"]
    assert len(boxes) == sum(1 for link in report.links if link.depth > 0)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            inside = a.head != b.head and (
                a.link.parent_id == b.link.sector_id or b.link.parent_id == a.link.sector_id
            )
            assert apart or inside, (a.link.sector_id, b.link.sector_id)


# ------------------------------------------------------------------------------------ the CLI


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_xlsx(template_home, tmp_path, capsys, monkeypatch) -> None:
    from openpyxl import load_workbook

    from stakegraph_cli.main import main

    monkeypatch.setenv("STAKEGRAPH_HOME", str(template_home))
    xlsx = tmp_path / "wuxi.xlsx"
    assert main(["--home", str(template_home), "chain", "--region", "Wuxi", "--xlsx", str(xlsx)]) == 0
    out = capsys.readouterr().out
    for column in ("Chain link", "Local", "Top local firms", "Strength", "Gap", "Top candidates"):
        assert column in out
    assert "Industry-chain coverage of Wuxi" in out and "GAP" in out and "JCET" in out
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Chain", "Local firms", "Candidates", "Dependencies", "Projects"]
    assert main(["--home", str(template_home), "chain", "--region", "无锡", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["region_id"] == WUXI


# ------------------------------------------------------------------------------- text tagging


SOURCE_SECTORS = (
    "id,name_zh,name_en,parent_id,description,source\n"
    "src-pkg,先进封装,Advanced packaging,,flip-chip and fan-out packaging,tagtest\n"
    "src-bank,银行,Banking,,retail banking,tagtest\n"
)


def _write_bundle(folder: Path, orgs: list[str]) -> Path:
    """Organisations plus two sectors of the source's own (outside kg/taxonomy)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text(ORG_HEADER + "\n".join(orgs) + "\n", encoding="utf-8")
    (folder / "sectors.csv").write_text(SOURCE_SECTORS, encoding="utf-8")
    return folder


PACKAGER = (
    "t-pack,示例封测科技有限公司,Example Packaging Technology Co.,company,{sectors},无锡,"
    '"集成电路封装测试企业，提供倒装、凸块、晶圆级封装和成品测试服务。Outsourced semiconductor assembly and '
    'test (OSAT): flip-chip, bumping, wafer-level packaging and final test.",,'
)
# Each firm its own name core: with one shared core (示例…) resolution rightly joins some of them
# (示例农村商业银行 / 示例银行 read like 无锡农村商业银行 / 无锡银行), which these tests are not about.
ORGS = [
    "t-bank,庚辛农村商业银行,Gengxin Rural Commercial Bank,company,,无锡,,J 金融业,",
    "t-power,壬癸功率半导体有限公司,Rengui Power Semiconductor Co.,company,,苏州,"
    '"SiC MOSFET和IGBT功率器件晶圆制造。Silicon-carbide MOSFET and IGBT power-device wafer fab.",,半导体',
    "t-curated,子丑液冷科技,Zichou Liquid Cooling,company,ai.aidc.cooling_liquid,无锡,冷板式液冷,,",
    "t-src-bank,丙丁银行股份有限公司,Bingding Bank Co.,listed_company,src-bank,深圳,retail bank,,",
    "t-src-pkg,戊己封装股份有限公司,Wuji OSAT Co.,listed_company,src-pkg,南通,semiconductor packaging and test,,",
]


@pytest.fixture(scope="module")
def tagged_home(tmp_path_factory):
    from jobs.tasks import init_home, load_bundle

    home = tmp_path_factory.mktemp("chain-tagging")
    settings = home_settings(home)
    init_home(settings)
    bundle = _write_bundle(home / "bundle" / "tagtest", [PACKAGER.format(sectors=""), *ORGS])
    first = load_bundle(settings, bundle)
    second = load_bundle(settings, bundle)
    return settings, bundle, first, second


def _derived(settings, node_id: str) -> dict[str, dict]:
    from kg.backends import open_view

    with open_view(settings) as view:
        return {
            n.node.id: n.edge.props for n in view.neighbours(node_id, types=["ACTIVE_IN"], direction="out")
        }


@pytest.mark.slow
def test_text_tagging_puts_a_packaging_firm_under_packaging(tagged_home) -> None:
    from kg.backends import open_view
    from matching.chain import chain_report

    settings, _, first, _ = tagged_home
    assert not first.rejected
    tags = _derived(settings, "t-pack")
    assert tags and all(p["extracted"] for p in tags.values())
    sector, props = next(iter(tags.items()))
    assert sector.startswith("ic.packaging_test") and 0.3 < props["confidence"] <= 1.0
    assert props["evidence"].startswith("text classification")
    with open_view(settings) as view:
        assert view.get("t-pack").props["sector_tags"] == [sector]
        assert not view.get("t-curated").props.get("sector_tags")
        link = chain_report(view, "Wuxi", candidates=0, settings=settings).link("ic.packaging_test")
    firm = next(f for f in link.firms if f.org_id == "t-pack")
    assert firm.tagged_by == "derived" and firm.tag_confidence == props["confidence"]


@pytest.mark.slow
def test_source_labels_map_to_chain_sectors(tagged_home) -> None:
    settings, *_ = tagged_home
    bank = _derived(settings, "t-bank")
    assert set(bank) == {"other.finance"} and bank["other.finance"]["confidence"] == 1.0
    assert "J 金融业" in bank["other.finance"]["evidence"]
    power = _derived(settings, "t-power")
    assert power["ic"]["confidence"] == 0.6  # tushare 半导体 -> ic, refined by the text within ic
    assert any(s.startswith("ic.") for s in power), power
    curated = _derived(settings, "t-curated")
    assert set(curated) == {"ai.aidc.cooling_liquid"}
    assert not curated["ai.aidc.cooling_liquid"].get("extracted")


@pytest.mark.slow
def test_source_sectors_map_onto_the_chain(tagged_home) -> None:
    settings, *_ = tagged_home
    bank = _derived(settings, "t-src-bank")  # the source's own sector '银行' is a mapped label
    assert not bank["src-bank"].get("extracted")
    assert bank["other.finance"]["extracted"] and bank["other.finance"]["confidence"] == 1.0
    osat = _derived(settings, "t-src-pkg")  # '先进封装' is not mapped: the text decides
    assert not osat["src-pkg"].get("extracted")
    assert any(s.startswith("ic.packaging_test") and p["extracted"] for s, p in osat.items()), osat


@pytest.mark.slow
def test_tags_are_stable_and_give_way_to_curated_sectors(tagged_home) -> None:
    from jobs.tasks import load_bundle
    from kg.backends import open_view

    settings, bundle, _, second = tagged_home
    assert second.totals()["added"] == 0 and second.totals()["changed"] == 0, second.details[:5]
    derived = next(iter(_derived(settings, "t-pack")))
    # a source now states the tag we derived for t-pack, and gives t-power a sector of its own
    orgs = [o.replace(",company,,苏州,", ",company,ic.fab.specialty_power,苏州,") for o in ORGS]
    _write_bundle(bundle, [PACKAGER.format(sectors=derived), *orgs])
    third = load_bundle(settings, bundle)
    assert any(d["op"] == "untagged" and d["id"] == "t-power|ACTIVE_IN|ic" for d in third.details)
    adopted = _derived(settings, "t-pack")[derived]
    assert adopted["extracted"] is False and adopted.get("confidence") is None
    assert set(_derived(settings, "t-power")) == {"ic.fab.specialty_power"}
    with open_view(settings) as view:
        assert not view.get("t-pack").props.get("sector_tags")
        assert not view.get("t-power").props.get("sector_tags")
    fourth = load_bundle(settings, bundle)
    assert fourth.totals()["added"] == 0 and fourth.totals()["changed"] == 0, fourth.details[:5]


# ------------------------------------------------------------------------------- web and API


@pytest.mark.slow
def test_api_needs_auth_and_returns_json(client, settings) -> None:
    from kg.workspace import Workspace

    anonymous = client.get("/api/v1/chain?region=Wuxi")
    assert anonymous.status_code == 401 and "error" in anonymous.get_json()
    token = Workspace.open(settings).create_token("researcher1", "chain test")
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/chain?region=%E6%97%A0%E9%94%A1&k=2", headers=headers).get_json()
    assert body["region_id"] == WUXI and body["threshold"] == settings.gap_threshold
    links = {link["sector_id"]: link for link in body["links"]}
    assert not links["ic.packaging_test"]["gap"] and links["ic.materials.substrates"]["gap"]
    assert 0 < len(links["ic.materials.substrates"]["candidates"]) <= 2
    missing = client.get("/api/v1/chain?region=Atlantis", headers=headers)
    assert missing.status_code == 404 and "Atlantis" in missing.get_json()["error"]


@pytest.mark.slow
def test_chain_page_and_xlsx(client, auth) -> None:
    from openpyxl import load_workbook

    assert client.get("/chain").status_code == 302
    auth.login("researcher")
    page = client.get("/chain?region=Wuxi&link=ic.materials.substrates")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="chain-map"' in html
    assert 'id="box-ic.packaging_test"' in html and 'class="chain-detail card open gap"' in html
    xlsx = client.get("/chain.xlsx?region=Wuxi")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(xlsx.data)).worksheets[0]["A2"].value
    assert client.get("/chain?region=Atlantis").status_code == 404
    assert client.get("/chain?region=" + "x" * 300).status_code == 400


@pytest.mark.slow
@pytest.mark.browser
def test_chain_page_in_the_browser(live_server, tmp_path: Path) -> None:
    """Its picture goes to $STAKEGRAPH_SCREENSHOTS when set (bench/screenshots.py: docs/screenshots),
    else to tmp_path: a test run leaves the work tree as it found it."""
    from playwright.sync_api import sync_playwright

    screenshot = Path(os.environ.get("STAKEGRAPH_SCREENSHOTS") or tmp_path) / "chain.png"

    username, password = USERS["staff"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
            page.goto(f"{live_server}/lang/en?next=/chain")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_selector("#chain-map", timeout=180_000)
            assert page.locator("#chain-map a.link-box").count() >= 40
            assert page.locator("#chain-map a.link-box.gap").count() >= 1
            detail = page.locator('[id="d-ic.materials.substrates"]')
            assert not detail.is_visible()
            page.click('[id="box-ic.materials.substrates"]')
            detail.wait_for(state="visible")
            assert "Shennan" in detail.inner_text() or "深南" in detail.inner_text()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            page.click('[id="box-ic.packaging_test"]')
            assert "JCET" in page.locator('[id="d-ic.packaging_test"]').inner_text()
        finally:
            browser.close()
