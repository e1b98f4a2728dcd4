"""The security probe's bad bundles, mixed with good rows, through the real load path.

Each bad row must be rejected with file, row, field and reason; every good row must load; nothing
hidden inside a cell may load as a row of its own (issue 12: an unclosed quote swallowed the next
rows, and the rest of an over-long cell was read as new rows, which let a row be smuggled in).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.csv_rows import CsvLimits, read_csv
from jobs.tasks import init_home, load_bundle
from kg.backends import open_view
from kg.settings import load_settings

BIG = 140_000  # past csv's own 131,072-character field limit, where the probe smuggled a row
HEADER = "id,name_zh,name_en,kind,description,notes\n"


@pytest.fixture(scope="module")
def blank_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised home (taxonomy only), made once and copied per test."""
    home = tmp_path_factory.mktemp("safety-home")
    init_home(load_settings({"home": str(home), "embedder": "lexical"}))
    return home


@pytest.fixture
def settings(blank_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STAKEGRAPH_EMBEDDER", "lexical")  # loading is under test, not the models
    home = tmp_path / "home"
    shutil.copytree(blank_home, home, ignore=shutil.ignore_patterns("*.lock"))
    return load_settings({"home": str(home), "embedder": "lexical"})


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def all_nodes(settings) -> dict[str, dict]:
    with open_view(settings) as v:
        return {n.id: n.props for label in v.schema.labels for batch in v.iter_nodes(label) for n in batch}


def probe_bundle(tmp_path: Path) -> tuple[Path, set[str], dict[tuple[str, int, str], str]]:
    """The probe's bad bundle: (folder, the ids that must load, the rejections expected as
    (file, row, field) -> a word of the reason). Rows are numbered as an editor shows them."""
    outside = write(tmp_path / "elsewhere", {"people.csv": "id,name_zh\nleak-1,外部文件\n"})
    orgs = [
        HEADER,
        "good-1,好一,Good One,company,plain,\n",  # 2
        'bad-q-1,引号,"Unclosed quote Co,company,the probe row,\n',  # 3: the probe's unclosed quote
        "good-2,好二,Good Two,company,right after the unclosed quote,\n",  # 4
        f'big-1,大,Big Co,company,"{"x" * BIG}\nsmug-1,走私,Smuggled Co,company,inside a cell,\n{"y" * BIG}",\n',  # 5-7
        "good-3,好三,Good Three,company,after the over-long cell,\n",  # 8
        "nul\x00id,零,Nul Id Co,company,NUL in the id,\n",  # 9
        "nul-name,零\x00号,Nul Name Co,company,NUL in the name,\n",  # 10
        "esc-name,转义,\x1b[2JClear Co,company,an escape in the name,\n",  # 11
        "good-4,好四,Good Four,company,\"tab\there, NUL\x00 and bell\x07 in prose\",note\x1b[31m red\n",  # 12
        "wide-1,宽,Wide Co,company,x," + ",".join(["c"] * 100_000) + "\n",  # 13: 100,000 extra cells
        'bad-q-2,引号二,Unclosed Two,company,"a description that never closes,\n',  # 14
        'good-5,好五,"Five, Inc.",company,"a proper\nmulti-line, description\nwith ""quotes""",\n',  # 15-17
        'good-6,好六,Six Co,company,"ends here"\n',  # 18
        'bad-after,后,After Quote Co,company,"closed"then text,\n',  # 19
        "good-7,好七,Seven Co,company,last good row,\n",  # 20
    ]
    bundle = write(tmp_path / "bad", {
        "organizations.csv": "".join(orgs),
        "Organizations.CSV": "id,name_en,kind\ncase-1,Case Co,company\n",
        "sectors.csv": "id,name_en," + ",".join(f"c{i}" for i in range(100_000)) + "\nwide-sector,Wide,\n",
        "relations.csv": "source_id,target_id,type,evidence\ngood-1,good-2,PARTNERS_WITH,met \x00twice\n"
                         "good-1,nul\x00target,SUPPLIES,\n",
        "documents.csv": 'id,name_en,text\ndoc-1,A report,"first line\ndoc-2,Not a row,inside the text\nlast line"\n',
        "README.md": "notes for people\n",
    })
    (bundle / "people.csv").symlink_to(outside / "people.csv")
    good = {"good-1", "good-2", "good-3", "good-4", "good-5", "good-6", "good-7", "doc-1"}
    expected = {
        ("organizations.csv", 3, "name_en"): "unclosed quote",
        ("organizations.csv", 5, "description"): "cell too long",
        ("organizations.csv", 9, "id"): "U+0000",
        ("organizations.csv", 10, "name_zh"): "U+0000",
        ("organizations.csv", 11, "name_en"): "U+001B",
        ("organizations.csv", 13, "(row)"): "100005 cells",
        ("organizations.csv", 14, "description"): "unclosed quote",
        ("organizations.csv", 19, "description"): "text after the closing quote",
        ("Organizations.CSV", 0, "(file)"): "organizations.csv",
        ("sectors.csv", 1, "(header)"): "csv_max_columns",
        ("people.csv", 0, "(file)"): "symbolic link",
        ("relations.csv", 3, "target_id"): "U+0000",
    }
    return bundle, good, expected


def test_probe_bundle_loses_no_good_row_and_loads_nothing_smuggled(settings, tmp_path):
    bundle, good, expected = probe_bundle(tmp_path)
    log = load_bundle(settings, bundle)
    got = {(r["file"], r["row"], r["field"]): r["reason"] for r in log.rejected}
    assert set(got) == set(expected), json.dumps(log.rejected, ensure_ascii=False, indent=1)[:3000]
    for key, word in expected.items():
        assert word in got[key], (key, got[key])
    assert log.totals()["rejected"] == len(expected)
    nodes = all_nodes(settings)
    assert good <= set(nodes), good - set(nodes)
    for smuggled in ("smug-1", "doc-2", "case-1", "leak-1", "wide-sector", "bad-q-1", "bad-q-2", "big-1"):
        assert smuggled not in nodes
    assert not any("Smuggled" in json.dumps(p, ensure_ascii=False) for p in nodes.values())
    assert nodes["good-5"]["name_en"] == "Five, Inc."
    assert nodes["good-5"]["description"] == 'a proper\nmulti-line, description\nwith "quotes"'
    assert nodes["doc-1"]["text"] == "first line\ndoc-2,Not a row,inside the text\nlast line"
    # Prose keeps its tab and loses its control characters, with a warning naming the row.
    assert nodes["good-4"]["description"] == "tab\there, NUL and bell in prose"
    assert json.loads(nodes["good-4"]["extra"]) == {"notes": "note[31m red"}
    warned = {(w["file"], w["row"], w["field"]) for w in log.warnings}
    assert {("organizations.csv", 12, "description"), ("organizations.csv", 12, "notes"),
            ("relations.csv", 2, "evidence"), ("README.md", 0, "(file)")} <= warned
    readme = next(w for w in log.warnings if w["file"] == "README.md")
    assert "organizations.csv" in readme["reason"]  # says what was expected
    with open_view(settings) as v:
        edge = next(n.edge for n in v.neighbours("good-1", types=["PARTNERS_WITH"]))
        assert edge.props["evidence"] == "met twice"


def test_a_missing_required_column_refuses_the_file_once(settings, tmp_path):
    bundle = write(tmp_path / "nokind", {
        "organizations.csv": "id,name_en\nk1,One\nk2,Two\nk3,Three\n",
        "relations.csv": "source_id,target_id\nk1,k2\n",
        "projects.csv": "id,name_en\nproj-1,Still loads\n",
    })
    log = load_bundle(settings, bundle)
    assert [(r["file"], r["row"], r["field"], r["reason"]) for r in log.rejected] == [
        ("organizations.csv", 1, "kind", "file refused: missing required column kind"),
        ("relations.csv", 1, "type", "file refused: missing required column type"),
    ]
    assert "proj-1" in all_nodes(settings)


def test_a_symlinked_file_loads_only_when_the_setting_allows(settings, tmp_path):
    outside = write(tmp_path / "elsewhere", {"people.csv": "id,name_zh\nlinked-1,链接\n"})
    bundle = write(tmp_path / "linked", {})
    (bundle / "people.csv").symlink_to(outside / "people.csv")
    log = load_bundle(settings, bundle)
    assert [(r["file"], r["field"]) for r in log.rejected] == [("people.csv", "(file)")]
    assert "linked-1" not in all_nodes(settings)
    assert not load_bundle(settings.replace(bundle_follow_symlinks=True), bundle).rejected
    assert "linked-1" in all_nodes(settings)


def test_cli_load_of_the_probe_bundle_fails_and_names_every_problem(tmp_path):
    bundle, _, expected = probe_bundle(tmp_path)
    home = tmp_path / "h"
    exe = Path(sys.executable).with_name("stakegraph")
    env = {"STAKEGRAPH_HOME": str(home), "PATH": "/usr/bin:/bin", "STAKEGRAPH_EMBEDDER": "lexical"}
    out = subprocess.run([str(exe), "load", str(bundle)], capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr
    text = out.stdout + out.stderr
    for file, row, field in expected:
        assert f"{file}:{row}: field {field}:" in text, (file, row, field)
    assert "warning bad: README.md" in text
    assert "\x00" not in text and "\x1b" not in text  # bundle text reaches the terminal escaped


# The reader itself, file by file: the cases above in their smallest form.

def rows_of(tmp_path: Path, text: str, prose: tuple[str, ...] = ("note",), **limits) -> tuple[list, list]:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    table = read_csv(path, "t", CsvLimits(**limits), multiline=lambda col: col in prose)
    return [(line, row) for line, row in table.rows], [(r.row, r.field, r.reason) for r in table.rejected]


def test_reader_quotes_line_ends_and_stray_quotes(tmp_path):
    rows, bad = rows_of(tmp_path, 'id,name,note\r\na,"x ""y""",n\r\nb,5" pipe,"two\r\nlines"\r\n\r\nc,z,\n')
    assert bad == []
    assert rows == [(2, {"id": "a", "name": 'x "y"', "note": "n"}),
                    (3, {"id": "b", "name": '5" pipe', "note": "two\nlines"}),
                    (6, {"id": "c", "name": "z", "note": ""})]


def test_reader_a_name_may_not_span_lines_and_the_next_row_loads(tmp_path):
    rows, bad = rows_of(tmp_path, 'id,name,note\na,"open\nb,fine,\n')
    assert [line for line, _ in rows] == [3]
    assert bad[0][:2] == (2, "name") and "unclosed quote in field name" in bad[0][2]


def test_reader_a_stray_quote_in_prose_does_not_swallow_quoted_rows(tmp_path):
    rows, bad = rows_of(tmp_path, 'id,name,note\na,A,"open\nb,"B, Inc",x\nc,C,y\n')
    assert [row["id"] for _, row in rows] == ["b", "c"] and bad[0][:2] == (2, "note")


def test_reader_a_multiline_cell_that_would_make_too_wide_a_row_is_an_unclosed_quote(tmp_path):
    rows, bad = rows_of(tmp_path, 'id,note,name\na,"open\nb,B",x,y\nc,C,z\n')
    assert [row["id"] for _, row in rows] == ["c"]
    assert [b[:2] for b in bad] == [(2, "note"), (3, "(row)")] and "unclosed quote" in bad[0][2]


def test_reader_cell_limits_in_characters_and_lines(tmp_path):
    rows, bad = rows_of(tmp_path, 'id,name,note\na,A,"1\n2\n3\nevil,E,x\n5"\nb,B,ok\n', max_cell_lines=3)
    assert [row["id"] for _, row in rows] == ["b"]
    assert bad == [(2, "note", "cell too long: 5 lines, more than csv_max_cell_lines (3); "
                                "lines 2-6 were skipped, not read as rows")]
    rows, bad = rows_of(tmp_path, "id,name,note\na,AAAAAA,x\nb,B,x\n", max_cell_chars=5)
    assert [row["id"] for _, row in rows] == ["b"] and bad[0][:2] == (2, "name")


def test_reader_refuses_a_header_with_a_column_named_twice(tmp_path):
    rows, bad = rows_of(tmp_path, "id,name,name\na,A,B\n")
    assert rows == [] and bad == [(1, "name", "file refused: column name is named twice")]


def test_reader_refuses_a_column_name_with_a_control_character(tmp_path):
    rows, bad = rows_of(tmp_path, "id,no\x1btes\na,b\n")
    assert rows == [] and bad[0][:2] == (1, "(header)") and "U+001B" in bad[0][2]
