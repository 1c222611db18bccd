import json

import numpy as np
import pytest

from knowledge.vector_index import INDEX_FILE, SIDECAR_FILE, VectorIndex

DIM = 32


def unit(n, dim=DIM, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_returns_added_ids():
    vectors = unit(20)
    ids = np.arange(100, 120)
    index = VectorIndex.build(ids, vectors, dimension=DIM)
    assert len(index) == 20 and index.kind == "flat"
    scores, found = index.search(vectors[[3, 7]], 1)
    assert found[:, 0].tolist() == [103, 107]
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert sorted(index.ids().tolist()) == ids.tolist()


def test_search_more_than_stored_and_empty():
    index = VectorIndex(DIM)
    scores, ids = index.search(unit(1), 5)
    assert ids.tolist() == [[-1] * 5]
    index.add(np.array([1, 2]), unit(2))
    scores, ids = index.search(unit(1, seed=9), 10)
    assert sorted(ids[0].tolist()) == [1, 2]


def test_remove():
    vectors = unit(10)
    index = VectorIndex.build(np.arange(10), vectors, dimension=DIM)
    assert index.remove(np.array([3, 4, 999])) == 2
    assert len(index) == 8 and 3 not in index.ids().tolist()
    _, found = index.search(vectors[3:4], 8)
    assert 3 not in found[0].tolist() and 4 not in found[0].tolist()
    assert index.remove(np.array([], dtype=np.int64)) == 0


def test_add_same_id_is_upsert():
    vectors = unit(3)
    index = VectorIndex(DIM)
    index.add(np.array([7]), vectors[0:1])
    index.add(np.array([7]), vectors[1:2])
    assert len(index) == 1
    scores, found = index.search(vectors[1:2], 1)
    assert found[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(index.vectors_of([7])[0], vectors[1], atol=1e-6)


def test_wrong_shape_rejected():
    index = VectorIndex(DIM)
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), unit(1))
    with pytest.raises(ValueError):
        VectorIndex(0)


def test_save_load_round_trip(tmp_path):
    vectors = unit(15)
    index = VectorIndex.build(np.arange(50, 65), vectors, dimension=DIM)
    meta = index.save(tmp_path, model="m", kb_version=12)
    assert (meta.count, meta.kb_version, meta.kind) == (15, 12, "flat")
    loaded, meta2 = VectorIndex.load(tmp_path, model="m", dimension=DIM)
    assert meta2 == meta
    assert sorted(loaded.ids().tolist()) == list(range(50, 65))
    _, found = loaded.search(vectors[4:5], 1)
    assert found[0, 0] == 54
    assert not list(tmp_path.glob("*.tmp"))


def test_load_missing(tmp_path):
    assert VectorIndex.load(tmp_path, model="m", dimension=DIM) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other_model", "other_dimension",
                                    "sidecar_garbage", "sidecar_count", "sidecar_missing_field"])
def test_load_rejects_mismatch_or_corruption(tmp_path, damage):
    VectorIndex.build(np.arange(5), unit(5), dimension=DIM).save(tmp_path, model="m", kb_version=1)
    index_file, sidecar = tmp_path / INDEX_FILE, tmp_path / SIDECAR_FILE
    meta = json.loads(sidecar.read_text())
    if damage == "garbage":
        index_file.write_bytes(b"\x00garbage\xff" * 100)
    elif damage == "truncated":
        index_file.write_bytes(index_file.read_bytes()[:50])
    elif damage == "other_model":
        sidecar.write_text(json.dumps({**meta, "model": "other"}))
    elif damage == "other_dimension":
        sidecar.write_text(json.dumps({**meta, "dimension": 64}))
    elif damage == "sidecar_garbage":
        sidecar.write_text("{not json")
    elif damage == "sidecar_count":
        sidecar.write_text(json.dumps({**meta, "count": 99}))
    elif damage == "sidecar_missing_field":
        sidecar.write_text(json.dumps({"model": "m"}))
    assert VectorIndex.load(tmp_path, model="m", dimension=DIM) is None


def test_load_with_other_requested_dimension(tmp_path):
    VectorIndex.build(np.arange(5), unit(5), dimension=DIM).save(tmp_path, model="m", kb_version=1)
    assert VectorIndex.load(tmp_path, model="m", dimension=64) is None
    assert VectorIndex.load(tmp_path, model="other", dimension=DIM) is None


def _recall_at_1(index, vectors, ids, rng, n=200):
    picks = rng.choice(len(ids), n, replace=False)
    queries = vectors[picks] + rng.normal(scale=0.02, size=(n, vectors.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = ids[np.argmax(queries @ vectors.T, axis=1)]
    _, found = index.search(queries, 1)
    return float(np.mean(found[:, 0] == exact))


def test_switches_to_ivf_above_threshold_with_good_recall(tmp_path):
    dim, rng = 64, np.random.default_rng(1)
    vectors = unit(1200, dim, seed=1)
    ids = np.arange(1000, 2200)
    index = VectorIndex(dim, approximate_threshold=500)
    index.add(ids[:500], vectors[:500])
    assert index.kind == "flat"
    index.add(ids[500:], vectors[500:])
    assert index.kind == "ivf" and len(index) == 1200
    assert sorted(index.ids().tolist()) == ids.tolist()
    assert _recall_at_1(index, vectors, ids, rng) >= 0.95

    # removal and upsert still work on IVF
    assert index.remove(ids[:10]) == 10
    assert len(index) == 1190 and not set(ids[:10].tolist()) & set(index.ids().tolist())
    _, found = index.search(vectors[:10], 5)
    assert not set(found.ravel().tolist()) & set(ids[:10].tolist())
    index.add(ids[20:21], vectors[0:1])
    assert len(index) == 1190
    _, found = index.search(vectors[0:1], 1)
    assert found[0, 0] == ids[20]

    # and it survives a save/load round trip as IVF
    index.save(tmp_path, model="m", kb_version=3)
    loaded, meta = VectorIndex.load(tmp_path, model="m", dimension=dim, approximate_threshold=500)
    assert meta.kind == "ivf" and loaded.kind == "ivf" and len(loaded) == 1190
    got_ids, got_vectors = loaded.export()
    assert _recall_at_1(loaded, got_vectors, got_ids, rng) >= 0.95
    loaded.remove(ids[30:40])
    assert len(loaded) == 1180


def test_build_large_is_ivf_and_export_round_trips():
    dim = 32
    vectors = unit(700, dim, seed=3)
    ids = np.arange(700) * 3
    index = VectorIndex.build(ids, vectors, dimension=dim, approximate_threshold=500)
    assert index.kind == "ivf"
    got_ids, got_vectors = index.export()
    order = np.argsort(got_ids)
    assert got_ids[order].tolist() == ids.tolist()
    np.testing.assert_allclose(got_vectors[order], vectors, atol=1e-6)


def test_two_processes_saving_into_one_folder_never_share_temporary_files(tmp_path):
    """`supportbot run --workers N`: every app process saves the index into the same folder;
    fixed temporary names made one process rename the other's file (or find it gone)."""
    import os
    import subprocess
    import sys

    index = VectorIndex(4)
    index.add(np.arange(4), np.eye(4, dtype=np.float32))
    index.save(tmp_path, model="m", kb_version=1)
    script = ("import sys, numpy as np; from pathlib import Path;"
              "from knowledge.vector_index import VectorIndex;"
              "i = VectorIndex(4); i.add(np.arange(4), np.eye(4, dtype=np.float32));"
              "[i.save(Path(sys.argv[1]), model='m', kb_version=2) for _ in range(30)]")
    others = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                               cwd=os.getcwd(), stderr=subprocess.PIPE) for _ in range(3)]
    for _ in range(30):
        index.save(tmp_path, model="m", kb_version=1)
    for other in others:
        assert other.wait(timeout=60) == 0, other.stderr.read().decode()
    loaded = VectorIndex.load(tmp_path, model="m", dimension=4)
    assert loaded is not None and loaded[1].count == 4
    assert not list(tmp_path.glob("*.tmp"))
