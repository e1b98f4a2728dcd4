"""The project brief: one printable page and an XLSX with the project's facts, needs, stage
history, shortlist with notes, top recommendations with reasons in the reader's language, and
sources; money as 亿元 / 万元 in Chinese and CNY bn / m in English."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from web.money import money, parse_yi

PROJECT = "proj-jiangyin-advanced-packaging"  # 12,000,000,000 yuan in the sample


@pytest.mark.parametrize("amount,zh,en", [
    (12_000_000_000, "120亿元", "CNY 12 bn"),
    (500_000_000, "5亿元", "CNY 500 m"),
    (150_000_000, "1.5亿元", "CNY 150 m"),
    (50_000_000, "5000万元", "CNY 50 m"),
    (35_000, "3.5万元", "CNY 35,000"),
    (None, "", ""),
])
def test_money(amount, zh, en) -> None:
    assert money(amount, "zh") == zh and money(amount, "en") == en


def test_parse_yi() -> None:
    assert parse_yi("120") == 12_000_000_000 and parse_yi("") is None


def _shortlist_first(client, view) -> str:
    from web import recommendations as recs
    from web.state import settings, workspace

    top = recs.for_project(view, settings(), workspace(), PROJECT, k=3)
    org = top[0].org_id
    client.post(f"/projects/{PROJECT}/shortlist", data={"org_id": org, "action": "shortlisted",
                                                        "note": "<b>strong</b> packaging fit"})
    return org


def test_brief_page_in_both_languages(client, auth, app, view) -> None:
    auth.login("staff")
    with app.test_request_context():
        org = _shortlist_first(client, view)
    client.get("/lang/zh")
    page = client.get(f"/projects/{PROJECT}/brief").get_data(as_text=True)
    assert "项目简报" in page and "120亿元" in page and "12,000,000,000" not in page
    for section in ("brief-facts", "brief-history", "brief-shortlist", "brief-recs", "brief-sources"):
        assert f'id="{section}"' in page
    shortlist = page[page.index('id="brief-shortlist"'):page.index('id="brief-recs"')]
    assert "&lt;b&gt;strong&lt;/b&gt; packaging fit" in shortlist  # the note, escaped
    recs = page[page.index('id="brief-recs"'):page.index('id="brief-sources"')]
    assert recs.count("<tr>") >= 3 and "<li>" in recs
    assert "print.css" in page and "main-nav" not in page
    assert "（仅有英文）" in page  # the sample's needs are English only: marked as the fallback
    client.get("/lang/en")
    page_en = client.get(f"/projects/{PROJECT}/brief").get_data(as_text=True)
    assert "Project brief" in page_en and "CNY 12 bn" in page_en
    assert org not in page_en.split('id="brief-shortlist"')[1].split("</section>")[0]  # names, not ids


def test_brief_xlsx(client, auth, app, view) -> None:
    auth.login("staff")
    with app.test_request_context():
        _shortlist_first(client, view)
    client.get("/lang/zh")
    r = client.get(f"/projects/{PROJECT}/brief.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["项目", "入围名单", "推荐", "阶段记录", "来源"]
    facts = {row[0].value: row[1].value for row in wb["项目"].iter_rows(min_row=2)}
    assert facts["计划投资"] == "120亿元"
    assert [c.value for c in wb["入围名单"][1]][:3] == ["名称", "编号", "备注"]
    assert wb["入围名单"].max_row == 2 and "packaging fit" in wb["入围名单"]["C2"].value
    assert wb["推荐"].max_row >= 4 and wb["推荐"]["E2"].value


def test_brief_unknown_project_is_404(client, auth) -> None:
    auth.login("researcher")
    assert client.get("/projects/no-such/brief").status_code == 404
    assert client.get("/projects/no-such/brief.xlsx").status_code == 404


def test_exports_speak_the_readers_language(client, auth, app, view) -> None:
    """A reader who chose Chinese gets Chinese headers and codes; a script that states no
    language keeps the plain keys."""
    import csv

    auth.login("staff")
    with app.test_request_context():
        _shortlist_first(client, view)
    plain = list(csv.reader(io.StringIO(client.get(f"/projects/{PROJECT}/export.csv").data.decode("utf-8-sig"))))
    assert plain[0][:3] == ["section", "rank", "org_id"] and plain[1][0] == "shortlisted"
    client.get("/lang/zh")
    zh = list(csv.reader(io.StringIO(client.get(f"/projects/{PROJECT}/export.csv").data.decode("utf-8-sig"))))
    assert zh[0][:3] == ["类别", "排名", "机构编号"] and zh[1][0] == "已入围"
    book = load_workbook(io.BytesIO(client.get(f"/projects/{PROJECT}/export.xlsx").data))
    assert book.sheetnames == ["入围与排除", "推荐"] and book["推荐"]["A2"].value == "推荐"
