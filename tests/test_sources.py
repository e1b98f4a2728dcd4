"""Source kinds declared in a manifest: csv, json, jsonl, http and text, each read through the
real refresh into a real embedded store, and their rejections (file, row, field, reason)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from ingest.sources import DEFAULT_MANIFEST, ManifestError, load_manifest
from jobs.refresh import run_refresh
from jobs.tasks import init_home
from kg.backends import open_view
from kg.schema import load_schema
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def blank_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised home (taxonomy only), made once and copied per test. The lexical embedder
    is a real setting that keeps the derived-vectors step quick; vectors are tested elsewhere."""
    home = tmp_path_factory.mktemp("sources-home")
    init_home(load_settings({"home": str(home), "embedder": "lexical"}))
    return home


@pytest.fixture
def store(blank_home: Path, tmp_path: Path):
    home = tmp_path / "home"
    shutil.copytree(blank_home, home, ignore=shutil.ignore_patterns("*.lock"))
    return load_settings({"home": str(home), "embedder": "lexical"})


def refresh(settings, tmp_path: Path, sources: list[dict]):
    """Write a manifest of these entries, load it as `stakegraph refresh --manifest` does, run it."""
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    return run_refresh(settings, load_manifest(manifest))


def node(settings, node_id: str) -> dict:
    with open_view(settings) as v:
        found = v.get(node_id)
        assert found is not None, f"{node_id} not in the graph"
        return found.props


def edges(settings, rel_type: str) -> dict[tuple[str, str], dict]:
    with open_view(settings) as v:
        return {(e.source_id, e.target_id): e.props for batch in v.iter_edges(rel_type) for e in batch}


def rejected(log) -> list[tuple]:
    return [(r["source"], r["file"], r["row"], r["field"]) for r in log.rejected]


LISTED_MAPPING = {
    "label": "Organization",
    "id": {"template": "stock-{证券代码|stock_number}"},
    "source": {"value": "exchange export"},
    "fields": {
        "name_zh": "公司全称",
        "name_en": "英文名称",
        "aliases": {"column": "证券简称", "split": ["、", ";"]},
        "stock_code": {"column": "证券代码", "filter": "stock_code"},
        "kind": {"column": "公司类型", "map": {"上市公司": "listed_company", "高校": "university"}},
        "city": "所在城市",
    },
    "extra": ["备注"],
    "relations": [{"type": "PARTNERS_WITH", "target": {"column": "合作方代码", "split": "|",
                                                        "template": "stock-{value|stock_number}"}}],
}
LISTED_CSV = """证券代码,公司全称,英文名称,证券简称,公司类型,所在城市,合作方代码,备注
600584,江苏长电科技股份有限公司,"JCET Group Co., Ltd.",长电科技、长电;JCET,上市公司,江阴,688396.SH,封测
688396.SH,华润微电子有限公司,China Resources Microelectronics Limited,华润微,上市公司,无锡,,功率
12345,坏代码公司,,,上市公司,无锡,,
000581,,,威孚高科,上市公司,无锡,,
688981,中芯国际集成电路制造有限公司,SMIC,中芯国际,晶圆厂,上海,,
"""


def test_csv_with_chinese_headers_is_mapped_onto_the_graph(store, tmp_path):
    (tmp_path / "listed.csv").write_text(LISTED_CSV, encoding="utf-8")
    log = refresh(store, tmp_path, [{"name": "listed", "kind": "csv", "path": "listed.csv", "mapping": LISTED_MAPPING}])
    jcet = node(store, "stock-600584")
    assert jcet["name_zh"] == "江苏长电科技股份有限公司" and jcet["name_en"] == "JCET Group Co., Ltd."
    assert jcet["aliases"] == ["长电科技", "长电", "JCET"]
    assert jcet["stock_code"] == "600584.SH" and jcet["kind"] == "listed_company"
    assert jcet["record_ids"] == ["exchange export:stock-600584"] and jcet["feeds"] == ["listed"]
    assert json.loads(jcet["extra"]) == {"备注": "封测"}
    assert node(store, "stock-688396")["stock_code"] == "688396.SH"  # 688396.SH and 688396 give one id
    assert ("stock-600584", "stock-688396") in edges(store, "PARTNERS_WITH")
    assert node(store, "stock-600584")["city"] == "江阴"
    # bad rows are reported with their line (the header is row 1) and the column to fix
    assert rejected(log) == [("listed", "listed.csv", 4, "证券代码"), ("listed", "listed.csv", 5, "name_zh|name_en"),
                             ("listed", "listed.csv", 6, "公司类型")]
    assert "5 digits" in log.rejected[0]["reason"] and "晶圆厂" in log.rejected[2]["reason"]


def test_csv_missing_a_mapped_column_is_refused_and_judges_nothing_unseen(store, tmp_path):
    (tmp_path / "listed.csv").write_text(LISTED_CSV, encoding="utf-8")
    entry = {"name": "listed", "kind": "csv", "path": "listed.csv", "mapping": LISTED_MAPPING}
    refresh(store, tmp_path, [entry])
    (tmp_path / "listed.csv").write_text(LISTED_CSV.replace("英文名称", "English name"), encoding="utf-8")
    log = refresh(store, tmp_path, [entry])
    assert rejected(log) == [("listed", "listed.csv", 1, "英文名称")]
    assert "listed" not in log.feeds and log.totals()["unseen"] == 0
    assert node(store, "stock-600584")["status"] == "active"


def test_csv_of_relations_with_an_edge_mapping(store, tmp_path):
    (tmp_path / "listed.csv").write_text(LISTED_CSV, encoding="utf-8")
    (tmp_path / "supply.csv").write_text("供应商代码,客户代码,起始年份\n688396,600584.SH,2021\n688396,,2022\n",
                                         encoding="utf-8")
    log = refresh(store, tmp_path, [
        {"name": "listed", "kind": "csv", "path": "listed.csv", "mapping": LISTED_MAPPING},
        {"name": "supply", "kind": "csv", "path": "supply.csv", "mapping": {
            "type": {"value": "SUPPLIES"}, "source_id": {"template": "stock-{供应商代码|stock_number}"},
            "target_id": {"template": "stock-{客户代码|stock_number}"}, "props": {"since": "起始年份"}}}])
    assert edges(store, "SUPPLIES")[("stock-688396", "stock-600584")]["since"] == "2021"
    assert ("supply", "supply.csv", 3, "客户代码") in rejected(log)


def test_csv_folder_is_read_by_the_safe_reader(store, tmp_path):
    """The csv kind shares the bundle's reader (issue 12): a quote that does not close in a mapped
    name rejects only its row, an over-long note is skipped whole (the row inside it never
    loads), control characters are refused in names and stripped from notes, a linked file is
    refused and a stray file is reported."""
    folder = tmp_path / "exports"
    folder.mkdir()
    header = LISTED_CSV.splitlines()[0]
    rows = [
        header,
        '600584,江苏长电科技股份有限公司,"JCET Group,长电,上市公司,江阴,,',  # 2: unclosed quote in 英文名称
        "688396,华润微电子有限公司,CR Micro,华润微,上市公司,无锡,,功率",  # 3
        '600000,大单元格,Big Cell,,上市公司,无锡,,"' + "x" * 140_000 + '\n688000,走私,Smuggled,,上市公司,无锡,,"',  # 4-5
        "002156,通富\x00微电,Tongfu,,上市公司,南通,,",  # 6: NUL in a name
        "000581,威孚高科,Weifu,,上市公司,无锡,,note\x07 with a bell",  # 7
    ]
    (folder / "listed.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "outside.csv").write_text(header + "\n600111,外部,Outside,,上市公司,无锡,,\n", encoding="utf-8")
    (folder / "linked.csv").symlink_to(tmp_path / "outside.csv")
    (folder / "README.txt").write_text("exports from the exchange", encoding="utf-8")
    log = refresh(store, tmp_path, [{"name": "listed", "kind": "csv", "path": "exports", "mapping": LISTED_MAPPING}])
    assert rejected(log) == [("listed", "linked.csv", 0, "(file)"), ("listed", "listed.csv", 2, "英文名称"),
                             ("listed", "listed.csv", 4, "备注"), ("listed", "listed.csv", 6, "公司全称")]
    reasons = [r["reason"] for r in log.rejected]
    assert "symbolic link" in reasons[0] and "unclosed quote" in reasons[1]
    assert "cell too long" in reasons[2] and "U+0000" in reasons[3]
    assert node(store, "stock-688396")["name_en"] == "CR Micro"
    assert json.loads(node(store, "stock-000581")["extra"]) == {"备注": "note with a bell"}
    with open_view(store) as v:
        for absent in ("stock-600584", "stock-600000", "stock-688000", "stock-002156", "stock-600111"):
            assert v.get(absent) is None, absent
    assert {(w["file"], w["row"], w["field"]) for w in log.warnings} == {("README.txt", 0, "(file)"),
                                                                        ("listed.csv", 7, "备注")}


def test_gbk_csv_with_an_encoding_option(store, tmp_path):
    (tmp_path / "gbk.csv").write_bytes(LISTED_CSV.encode("gbk"))
    log = refresh(store, tmp_path, [{"name": "gbk", "kind": "csv", "path": "gbk.csv", "encoding": "gbk",
                                     "mapping": LISTED_MAPPING}])
    assert node(store, "stock-600584")["name_zh"] == "江苏长电科技股份有限公司"
    assert len(log.rejected) == 3


JSONL = [
    {"ref": "uni-jiangnan", "name": {"zh": "江南大学", "en": "Jiangnan University"}, "names": {"other": ["JNU", "江大"]},
     "type": "高校", "location": {"city": "无锡"}, "partners": [{"id": "uni-wuxi"}]},
    {"ref": "uni-wuxi", "name": {"zh": "无锡学院", "en": "Wuxi University"}, "type": "高校", "location": {"city": "无锡"}},
    {"ref": "", "name": {"zh": "无编号大学"}, "type": "高校"},
    {"ref": "uni-x", "name": {"zh": {"nested": "too deep"}}, "type": "高校"},
]
JSON_MAPPING = {
    "label": "Organization",
    "id": "ref",
    "fields": {"name_zh": "name.zh", "name_en": "name.en", "aliases": "names.other", "city": "location.city",
               "kind": {"column": "type", "map": {"高校": "university"}}},
    "relations": [{"type": "PARTNERS_WITH", "target": "partners.*.id"}],
}


def test_jsonl_with_dotted_paths_and_bad_lines(store, tmp_path):
    lines = [json.dumps(r, ensure_ascii=False) for r in JSONL]
    lines.insert(2, "{not json")
    (tmp_path / "orgs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = refresh(store, tmp_path, [{"name": "unis", "kind": "jsonl", "path": "orgs.jsonl", "mapping": JSON_MAPPING}])
    jiangnan = node(store, "uni-jiangnan")
    assert jiangnan["name_en"] == "Jiangnan University" and jiangnan["aliases"] == ["JNU", "江大"]
    assert jiangnan["kind"] == "university" and jiangnan["city"] == "无锡"
    assert ("uni-jiangnan", "uni-wuxi") in edges(store, "PARTNERS_WITH")
    assert rejected(log) == [("unis", "orgs.jsonl", 3, "(line)"), ("unis", "orgs.jsonl", 4, "ref"),
                             ("unis", "orgs.jsonl", 5, "name.zh")]


def test_json_document_with_a_records_path(store, tmp_path):
    (tmp_path / "export.json").write_text(json.dumps({"meta": {"n": 2}, "data": {"items": JSONL[:2]}}), encoding="utf-8")
    log = refresh(store, tmp_path, [{"name": "unis", "kind": "json", "path": "export.json", "records": "data.items",
                                     "mapping": JSON_MAPPING}])
    assert not log.rejected
    assert node(store, "uni-wuxi")["name_zh"] == "无锡学院"


class FakeApi(BaseHTTPRequestHandler):
    """A paged JSON API: /page?page=N&per_page=2 (page 2 fails once with 503), /cursor with
    next links, /offset with offset+limit, /down always 500."""

    records = [{"id": f"api-{i}", "name": {"zh": f"测试公司{i}号"}, "kind": "company"} for i in range(1, 6)]
    calls: list[str] = []
    failed_once: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        FakeApi.calls.append(self.path)
        if url.path == "/page":
            page, size = int(q["page"]), int(q["per_page"])
            if page == 2 and "page2" not in FakeApi.failed_once:
                FakeApi.failed_once.add("page2")
                return self._send(503, {"error": "busy"})
            return self._send(200, {"data": self.records[(page - 1) * size: page * size]})
        if url.path == "/cursor":
            at = int(q.get("cursor", 0))
            nxt = f"/cursor?cursor={at + 2}" if at + 2 < len(self.records) else None
            return self._send(200, {"items": self.records[at:at + 2], "links": {"next": nxt}})
        if url.path == "/offset":
            at, limit = int(q["offset"]), int(q["limit"])
            return self._send(200, {"results": self.records[at:at + limit], "total": len(self.records)})
        return self._send(500, {"error": "down"})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api():
    FakeApi.calls, FakeApi.failed_once = [], set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


API_MAPPING = {"label": "Organization", "id": "id", "fields": {"name_zh": "name.zh", "kind": "kind"}}


def test_http_page_paging_retries_a_503(store, tmp_path, api):
    log = refresh(store, tmp_path, [{
        "name": "api", "kind": "http", "url": f"{api}/page", "records": "data", "backoff": 0.01,
        "paging": {"style": "page", "param": "page", "size_param": "per_page", "size": 2},
        "mapping": API_MAPPING}])
    assert not log.rejected and "api" in log.feeds
    assert [c for c in FakeApi.calls] == ["/page?page=1&per_page=2", "/page?page=2&per_page=2",
                                          "/page?page=2&per_page=2", "/page?page=3&per_page=2"]
    assert all(node(store, f"api-{i}")["name_zh"] == f"测试公司{i}号" for i in range(1, 6))
    assert node(store, "api-3")["record_ids"] == ["api:api-3"]


def test_http_next_links_and_offsets(store, tmp_path, api):
    log = refresh(store, tmp_path, [
        {"name": "cursor", "kind": "http", "url": f"{api}/cursor", "records": "items",
         "paging": {"style": "next", "next": "links.next"}, "mapping": API_MAPPING},
        {"name": "offset", "kind": "http", "url": f"{api}/offset", "records": "results",
         "paging": {"style": "offset", "size": 3, "total": "total"}, "mapping": API_MAPPING}])
    assert not log.rejected
    assert FakeApi.calls == ["/cursor", "/cursor?cursor=2", "/cursor?cursor=4", "/offset?offset=0&limit=3",
                             "/offset?offset=3&limit=3"]
    assert all(node(store, f"api-{i}")["feeds"] == ["cursor", "offset"] for i in range(1, 6))


def test_http_source_that_stays_down_is_reported_and_marks_nothing_unseen(store, tmp_path, api):
    ok = {"name": "api", "kind": "http", "url": f"{api}/cursor", "records": "items",
          "paging": {"style": "next", "next": "links.next"}, "mapping": API_MAPPING}
    refresh(store, tmp_path, [ok])
    log = refresh(store, tmp_path, [{**ok, "url": f"{api}/down", "retries": 2, "backoff": 0.01}])
    assert rejected(log) == [("api", "/down", 0, "(page)")]
    assert "HTTP 500 after 2 retries" in log.rejected[0]["reason"]
    assert FakeApi.calls[-3:] == ["/down"] * 3
    assert log.totals()["unseen"] == 0 and node(store, "api-1")["status"] == "active"


def test_text_folder_becomes_documents(store, tmp_path):
    news = tmp_path / "news"
    (news / "zh").mkdir(parents=True)
    (news / "zh" / "2024-03-12-jcet.md").write_text(
        "---\nurl: https://example.org/a\n---\n# 长电科技与江南大学签署战略合作协议\n\n双方将开展合作。\n", encoding="utf-8")
    (news / "2024-05-20-hynix.txt").write_text("SK hynix expands its Wuxi fab\n\nThe company said so.\n", encoding="utf-8")
    (news / "notice.txt").write_text("date: 2024年7月2日\nsource: Wuxi Daily\n无锡发布集成电路产业政策\n正文。", encoding="utf-8")
    (news / "bad-date.txt").write_text("date: 2024-02-30\nTitle\n", encoding="utf-8")
    (news / "empty.md").write_text("\n\n", encoding="utf-8")
    (news / "latin1.txt").write_bytes("Caf\xe9 news".encode("latin-1"))
    log = refresh(store, tmp_path, [{"name": "news", "kind": "text", "path": "news"}])
    with open_view(store) as v:
        docs = {n.id: n.props for batch in v.iter_nodes("Document") for n in batch}
    assert len(docs) == 3
    zh = next(p for i, p in docs.items() if i.startswith("doc-zh-2024-03-12-jcet-"))
    assert zh["name_zh"] == "长电科技与江南大学签署战略合作协议" and zh["language"] == "zh"
    assert zh["published"] == "2024-03-12" and zh["url"] == "https://example.org/a"
    assert zh["text"].startswith("长电科技与江南大学") and "#" not in zh["text"]
    en = next(p for i, p in docs.items() if "hynix" in i)
    assert en["name_en"] == "SK hynix expands its Wuxi fab" and en["language"] == "en" and en["published"] == "2024-05-20"
    notice = next(p for i, p in docs.items() if "notice" in i)
    assert notice["published"] == "2024-07-02" and json.loads(notice["extra"]) == {"source": "Wuxi Daily"}
    assert sorted(rejected(log)) == [("news", "bad-date.txt", 1, "date"), ("news", "empty.md", 0, "text"),
                                     ("news", "latin1.txt", 0, "(file)")]
    assert refresh(store, tmp_path, [{"name": "news", "kind": "text", "path": "news"}]).totals()["added"] == 0


@pytest.mark.parametrize("mapping, message", [
    ({"label": "Organization", "id": "id", "fields": {"name": "x"}}, "no property 'name'"),
    ({"label": "Company", "id": "id"}, "unknown label"),
    ({"label": "Organization", "id": {"value": "same"}}, "same id"),
    ({"label": "Organization", "fields": {"name_zh": "n"}}, "`id` is required"),
    ({"label": "Organization", "id": {"template": "x-{a|shout}"}}, "unknown filter"),
    ({"label": "Organization", "id": "id", "relations": [{"type": "LIKES", "target": "t"}]}, "unknown relationship"),
    ({"label": "Organization", "id": "id", "colums": {}}, "unknown key(s) colums"),
])
def test_mapping_mistakes_fail_when_the_manifest_loads(tmp_path, mapping, message):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"sources": [{"name": "x", "kind": "csv", "path": "x.csv", "mapping": mapping}]}))
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_manifest(manifest)


def test_sample_manifest_reads_the_bundle_then_the_news():
    names = [(s.name, type(s).__name__) for s in load_manifest(DEFAULT_MANIFEST.with_name("sample.yaml"))]
    assert names[1] == ("sample", "BundleSource") and ("news", "TextSource") in names


def test_the_examples_read_cleanly():
    """Every example of data/examples reads without a rejection (the docs point at them)."""
    schema = load_schema()
    sources = {s.name: s for s in load_manifest(EXAMPLES / "manifest.yaml")}
    counts = {}
    for name in ("listed-csv", "research-jsonl", "parks-json", "news"):
        batch = sources[name].read(schema)
        assert not batch.rejected, [str(r) for r in batch.rejected]
        counts[name] = len(batch.nodes)
    assert counts == {"listed-csv": 3, "research-jsonl": 3, "parks-json": 2, "news": 5}
