"""The refresh's vector step updates the published indexes in place: only changed texts are encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.tasks import load_bundle
from kg.backends import open_view
from matching.index import VectorIndex
from matching.vectors import VECTORS_DIR, Vectors, node_text

HEADER = "id,name_zh,name_en,kind,city,description,source\n"
ROWS = [f"org-{i},企业{i}号科技有限公司,Firm {i} Technology,company,无锡,maker of part {i},src\n" for i in range(30)]


def bundle(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organizations.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    return folder


@pytest.fixture
def settings(lexical_home):
    return lexical_home


def published(settings) -> tuple[Vectors, VectorIndex, dict]:
    with open_view(settings) as v:
        folder = Path(v.data_dir) / VECTORS_DIR
        node = v.get("org-3")
        return Vectors(folder), VectorIndex.load(folder / "Organization"), node.props if node else {}


def test_one_changed_org_re_encodes_one_text_and_the_index_answers_its_new_vector(settings, tmp_path):
    load_bundle(settings, bundle(tmp_path / "src", ROWS))
    _, before, _ = published(settings)
    assert len(before) == 30

    rows = list(ROWS)
    rows[3] = rows[3].replace("maker of part 3", "foundry for silicon photonics wafers")
    log = load_bundle(settings, bundle(tmp_path / "src", rows))

    assert log.timings["texts_encoded"] == 1
    vectors, index, props = published(settings)
    assert index.tombstones == 1 and len(index) == 30  # updated in place, not rebuilt
    expected = vectors.embedder.encode([node_text(props, [])])[0]
    assert np.allclose(vectors.vector("org-3"), expected, atol=1e-6)
    assert index.search(expected, k=1)[0][0] == "org-3"


def test_an_org_no_longer_seen_leaves_the_index_and_nothing_is_encoded(settings, tmp_path):
    load_bundle(settings, bundle(tmp_path / "src", ROWS))
    log = load_bundle(settings, bundle(tmp_path / "src", ROWS[:29]))  # org-29 is unseen now
    assert log.timings["texts_encoded"] == 0
    _, index, _ = published(settings)
    assert len(index) == 29 and "org-29" not in index
    again = load_bundle(settings, bundle(tmp_path / "src", ROWS[:29]))
    assert again.timings["texts_encoded"] == 0 and again.totals()["changed"] == 0
