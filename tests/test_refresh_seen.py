"""last_seen after a refresh: every node and edge a source gave this run is seen by the run, whether
it changed or not and whether all of its feeds ran or only some; unchanged facts whose feeds all
ran are not written (the version records the feeds the run read: kg.seen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.tasks import load_bundle
from kg.backends import open_view
from kg.seen import feeds_seen, last_seen


def bundle(folder: Path, orgs: str, relations: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text("id,name_zh,name_en,kind,city,source\n" + orgs, encoding="utf-8")
    (folder / "relations.csv").write_text("source_id,target_id,type,source\n" + relations, encoding="utf-8")
    return folder


@pytest.fixture
def settings(lexical_home):
    return lexical_home


def seen(settings) -> dict[str, tuple[str, str]]:
    """Each fact's last sighting (kg.seen: its stored last_seen, or the run that last read all its feeds)."""
    with open_view(settings) as v:
        runs = feeds_seen(v.data_dir)
        out = {n.id: (last_seen(n.props, runs), n.props["status"]) for b in v.iter_nodes("Organization") for n in b}
        out.update({e.props["id"]: (last_seen(e.props, runs), e.props["status"]) for b in v.iter_edges("SUPPLIES") for e in b})
    return out


def stored(settings) -> dict[str, str]:
    with open_view(settings) as v:
        out = {n.id: n.props["last_seen"] for b in v.iter_nodes("Organization") for n in b}
        out.update({e.props["id"]: e.props["last_seen"] for b in v.iter_edges("SUPPLIES") for e in b})
    return out


def test_last_seen_of_unchanged_facts_from_all_or_some_feeds(settings, tmp_path):
    orgs = "a1,甲科技有限公司,Alpha Tech,company,无锡,a\nb1,乙微电子有限公司,Beta Micro,company,无锡,a\n"
    a = bundle(tmp_path / "a", orgs, "a1,b1,SUPPLIES,a\n")
    b = bundle(tmp_path / "b", "c1,丙材料有限公司,Gamma Materials,company,江阴,b\n", "a1,b1,SUPPLIES,b\nc1,a1,SUPPLIES,b\n")
    load_bundle(settings, a, name="a")
    load_bundle(settings, b, name="b")  # a1->b1 now comes from feeds a and b
    before = stored(settings)
    again = load_bundle(settings, b, name="b")  # only feed b runs; nothing changed
    assert again.totals()["changed"] == again.totals()["added"] == again.totals()["unseen"] == 0
    now = seen(settings)
    assert now["a1|SUPPLIES|b1"] == now["c1|SUPPLIES|a1"] == now["c1"] == (again.run_id, "active")
    assert now["a1"][0] != again.run_id  # feed a did not run: a1 was not seen by this run
    written = {k for k, v in stored(settings).items() if v != before[k]}
    assert written == {"a1|SUPPLIES|b1"}, "only the fact seen through some of its feeds is written"
    bundle(tmp_path / "a", orgs, "")  # feed a runs without its edge: still given by b, so not unseen
    last = load_bundle(settings, a, name="a")
    now = seen(settings)
    assert now["a1"] == now["b1"] == (last.run_id, "active")
    assert now["a1|SUPPLIES|b1"][1] == "active" and now["c1"][0] != last.run_id
