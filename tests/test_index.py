"""VectorIndex behaviour: exact vs HNSW agreement, persistence, incremental changes."""

from __future__ import annotations

import numpy as np
import pytest

from matching.index import IndexSettings, VectorIndex

DIM = 32


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def data() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(10, DIM))
    rows = centres[rng.integers(0, 10, size=500)] + 0.3 * rng.normal(size=(500, DIM))
    return [f"org:{i}" for i in range(500)], _unit(rows)


def _settings(flat_max: int, rebuild_fraction: float = 0.2) -> IndexSettings:
    settings = IndexSettings()
    settings.flat_max = flat_max
    settings.rebuild_fraction = rebuild_fraction
    return settings


def _hnsw(rebuild_fraction: float = 0.2) -> VectorIndex:
    return VectorIndex(DIM, _settings(flat_max=0, rebuild_fraction=rebuild_fraction))


def test_size_picks_the_kind(data):
    ids, vectors = data
    small = VectorIndex(DIM, _settings(flat_max=1000))
    small.build(ids, vectors)
    large = VectorIndex(DIM, _settings(flat_max=100))
    large.build(ids, vectors)
    assert (small.kind, large.kind) == ("flat", "hnsw")
    assert len(small) == len(large) == 500 and small.dim == DIM


def test_flat_and_hnsw_agree_on_top1(data):
    ids, vectors = data
    flat = VectorIndex(DIM, _settings(flat_max=10_000))
    flat.build(ids, vectors)
    hnsw = _hnsw()
    hnsw.build(ids, vectors)
    queries = _unit(vectors[:50] + 0.05 * np.random.default_rng(1).normal(size=(50, DIM)))
    exact = [hits[0][0] for hits in flat.search(queries, k=1)]
    approx = [hits[0][0] for hits in hnsw.search(queries, k=1)]
    assert exact == approx
    assert exact == ids[:50]


def test_single_query_returns_sorted_id_score_pairs(data):
    ids, vectors = data
    index = VectorIndex(DIM)
    index.build(ids, vectors)
    hits = index.search(vectors[3], k=5)
    assert hits[0] == ("org:3", pytest.approx(1.0, abs=1e-5))
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and len(hits) == 5


@pytest.mark.parametrize("flat_max", [10_000, 0], ids=["flat", "hnsw"])
def test_exclude_ids_are_filtered_not_just_dropped(data, flat_max):
    ids, vectors = data
    index = VectorIndex(DIM, _settings(flat_max=flat_max))
    index.build(ids, vectors)
    full = index.search(vectors[3], k=6)
    excluded = {full[0][0], full[1][0]}
    hits = index.search(vectors[3], k=4, exclude_ids=excluded)
    assert len(hits) == 4
    assert not excluded & {i for i, _ in hits}
    assert [i for i, _ in hits] == [i for i, _ in full[2:6]]


@pytest.mark.parametrize("flat_max", [10_000, 0], ids=["flat", "hnsw"])
def test_save_load_round_trip(tmp_path, data, flat_max):
    ids, vectors = data
    index = VectorIndex(DIM, _settings(flat_max=flat_max))
    index.build(ids, vectors)
    index.remove(["org:1"])
    index.save(tmp_path / "ann")
    loaded = VectorIndex.load(tmp_path / "ann", _settings(flat_max=flat_max))
    assert (loaded.kind, len(loaded), loaded.dim) == (index.kind, 499, DIM)
    assert "org:1" not in loaded
    assert loaded.search(vectors[:20], k=3) == index.search(vectors[:20], k=3)


def test_save_switches_versions_and_keeps_one_previous(tmp_path, data):
    ids, vectors = data
    index = VectorIndex(DIM)
    for n in (10, 20, 30):
        index.build(ids[:n], vectors[:n])
        index.save(tmp_path)
    assert len(VectorIndex.load(tmp_path)) == 30
    assert len(list(tmp_path.glob("v-*"))) == 2
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("flat_max", [10_000, 0], ids=["flat", "hnsw"])
def test_upsert_adds_and_replaces(data, flat_max):
    ids, vectors = data
    index = VectorIndex(DIM, _settings(flat_max=flat_max, rebuild_fraction=0.9))
    index.build(ids[:400], vectors[:400])
    # org:0 moves to where org:450 is; org:450..459 are new
    index.upsert(["org:0", *ids[450:460]], np.vstack([vectors[450], vectors[450:460]]))
    assert len(index) == 410 and index.tombstones == 1
    top = {i for i, _ in index.search(vectors[450], k=2)}
    assert top == {"org:0", "org:450"}
    assert np.allclose(index.vector("org:0"), vectors[450])


def test_remove_then_rebuild_when_tombstones_pile_up(data):
    ids, vectors = data
    index = _hnsw(rebuild_fraction=0.2)
    index.build(ids, vectors)
    assert index.remove(ids[:50]) == 50 and index.tombstones == 50
    assert index.remove(["org:unknown"]) == 0
    assert all(i not in set(ids[:50]) for i, _ in index.search(vectors[0], k=20))
    index.remove(ids[50:120])  # 120 of 500 stored > 20 %: rebuilt from stored vectors
    assert index.tombstones == 0 and len(index) == 380
    assert index.search(vectors[200], k=1)[0][0] == "org:200"


def test_flat_grows_into_hnsw(data):
    ids, vectors = data
    index = VectorIndex(DIM, _settings(flat_max=300))
    index.build(ids[:300], vectors[:300])
    assert index.kind == "flat"
    index.upsert(ids[300:], vectors[300:])
    assert index.kind == "hnsw" and len(index) == 500


def test_hnsw_shrinks_back_into_flat(data):
    ids, vectors = data
    index = VectorIndex(DIM, _settings(flat_max=450, rebuild_fraction=0.9))
    index.build(ids, vectors)
    assert index.kind == "hnsw"
    index.remove(ids[:60])  # 440 left: exact search again, as a fresh build of them would pick
    assert index.kind == "flat" and len(index) == 440 and index.tombstones == 0


def test_save_without_the_previous_version(tmp_path, data):
    ids, vectors = data
    index = VectorIndex(DIM)
    index.build(ids[:10], vectors[:10])
    index.save(tmp_path)
    index.upsert(ids[10:20], vectors[10:20])
    index.save(tmp_path, keep_previous=False)  # a folder no reader has open
    assert len(list(tmp_path.glob("v-*"))) == 1 and len(VectorIndex.load(tmp_path)) == 20


def test_rejects_bad_input(data):
    ids, vectors = data
    index = VectorIndex(DIM)
    with pytest.raises(ValueError):
        index.build(ids[:3], vectors[:2])
    with pytest.raises(ValueError):
        index.build(["a", "a"], vectors[:2])
    with pytest.raises(ValueError):
        index.build(["a"], np.zeros((1, DIM + 1), dtype=np.float32))
    assert index.search(vectors[0], k=5) == []
