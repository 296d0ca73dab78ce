"""The shared bit-quantized index: recall on CLIP-like data, exactness where promised, the file."""

from __future__ import annotations

import os

import numpy as np
import pytest
from huisou.plugins.clip_search import vector_index
from huisou.plugins.clip_search.bitcode import asymmetric_scores, code_bytes, hamming
from huisou.plugins.clip_search.vector_index import VectorIndex


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clip_like(n: int, dims: int = 512, queries: int = 40, seed: int = 0):
    """Clustered unit vectors with a shared offset (CLIP's "modality cone") and text-like
    queries: a cluster direction plus as much noise again, cosine ~0.3 to their best images."""
    rng = np.random.default_rng(seed)
    common = unit(rng.standard_normal((1, dims)))
    centres = unit(rng.standard_normal((max(10, n // 100), dims)))
    labels = rng.integers(0, len(centres), n)
    noise = unit(rng.standard_normal((n, dims)))
    vectors = unit(common + 0.8 * centres[labels] + 0.9 * noise)
    picks = rng.integers(0, len(centres), queries)
    q = unit(0.3 * common + 0.5 * centres[picks] + unit(rng.standard_normal((queries, dims))))
    return vectors, q


def build(vectors, ids=None, token=7, path=None, chunk=1000):
    ids = np.arange(1, len(vectors) + 1) * 3 if ids is None else np.asarray(ids)
    chunks = ((ids[s : s + chunk], vectors[s : s + chunk]) for s in range(0, len(ids), chunk))
    return VectorIndex.build(chunks, len(ids), vectors.shape[1], token, path), ids


def exact_top(vectors, ids, query, k):
    scores = vectors @ query
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]


def test_recall_at_20_on_20k_clip_like_vectors_uses_the_bit_path(tmp_path):
    vectors, queries = clip_like(20_000)
    index, ids = build(vectors, path=str(tmp_path / "x.vidx"))
    assert len(index) > vector_index.EXACT_MAX  # so search takes the coarse path
    found = 0
    row_of = {item_id: row for row, item_id in enumerate(ids.tolist())}
    for query in queries:
        truth, truth_scores = exact_top(vectors, ids, query, 20)
        got, scores = index.search(query, 20)
        found += len(set(truth.tolist()) & set(got.tolist()))
        # scores are exact cosines of the returned ids, best first
        assert np.allclose(scores, [vectors[row_of[i]] @ query for i in got.tolist()], atol=1e-5)
        assert list(scores) == sorted(scores, reverse=True)
    recall = found / (20 * len(queries))
    assert recall >= 0.99, recall


def test_small_rerank_budget_lowers_recall_so_the_test_above_can_fail():
    vectors, queries = clip_like(20_000, dims=128, seed=3)
    index, ids = build(vectors)
    found = sum(
        len(set(exact_top(vectors, ids, q, 20)[0].tolist())
            & set(index.search(q, 20, rerank=20)[0].tolist()))
        for q in queries
    )
    assert found / (20 * len(queries)) < 0.99


def test_small_index_and_candidate_subsets_are_exact():
    vectors, queries = clip_like(3_000, dims=64, seed=1)
    index, ids = build(vectors)
    for query in queries[:5]:
        truth, truth_scores = exact_top(vectors, ids, query, 20)
        got, scores = index.search(query, 20)
        assert got.tolist() == truth.tolist()
        assert np.allclose(scores, truth_scores, atol=1e-5)
    wanted = ids[::5].tolist() + [10**9, -4]  # unknown ids are ignored
    rows = index.rows_of(wanted)
    assert len(rows) == len(ids[::5])
    got, _ = index.search(queries[0], 10, rows)
    truth, _ = exact_top(vectors[::5], ids[::5], queries[0], 10)
    assert got.tolist() == truth.tolist()


def test_large_candidate_subsets_use_bits_restricted_to_the_subset(monkeypatch):
    monkeypatch.setattr(vector_index, "SUBSET_EXACT_MAX", 100)
    vectors, queries = clip_like(5_000, dims=128, seed=2)
    index, ids = build(vectors)
    subset = ids[1::2]
    got, _ = index.search(queries[0], 20, index.rows_of(subset.tolist()))
    assert set(got.tolist()) <= set(subset.tolist())
    truth, _ = exact_top(vectors[1::2], subset, queries[0], 20)
    assert len(set(got.tolist()) & set(truth.tolist())) >= 19


@pytest.mark.parametrize("dims", [8, 100, 512])
def test_asymmetric_scores_are_the_query_against_the_signs_in_any_block_size(dims):
    rng = np.random.default_rng(dims)
    width = code_bytes(dims)
    signs = rng.standard_normal((500, dims)) > 0
    bits = np.zeros((500, width), dtype=np.uint8)
    bits[:, : -(-dims // 8)] = np.packbits(signs, axis=1)
    q_pad = np.zeros(width * 8, dtype=np.float32)
    q_pad[:dims] = rng.standard_normal(dims)
    expected = np.where(signs, 1.0, -1.0) @ q_pad[:dims]
    assert np.allclose(asymmetric_scores(q_pad, bits, block=64), expected, atol=1e-4)
    rows = np.array([499, 3, 3, 250])
    assert np.allclose(asymmetric_scores(q_pad, bits, rows, block=3), expected[rows], atol=1e-4)


def test_coarse_shortlist_is_capped_and_recall_holds_at_the_cap(monkeypatch):
    """The Hamming shortlist stops growing with N (at 10M, N/64 made the asymmetric stage a
    5 s query); with the cap forced low here, recall still comes from the re-rank budget."""
    vectors, queries = clip_like(20_000, seed=4)
    index, ids = build(vectors)
    widths: list[int] = []
    coarse = VectorIndex._coarse

    def spy(self, q, keep, rows, wide):
        widths.append(wide)
        return coarse(self, q, keep, rows, wide)

    monkeypatch.setattr(VectorIndex, "_coarse", spy)
    monkeypatch.setattr(vector_index, "COARSE_DIVISOR", 1)  # uncapped: N/1 = every row
    monkeypatch.setattr(vector_index, "COARSE_MAX", 5_000)
    monkeypatch.setattr(vector_index, "ESCALATED_COARSE_MAX", 10_000)
    found = sum(
        len(set(exact_top(vectors, ids, q, 20)[0].tolist())
            & set(index.search(q, 20)[0].tolist()))
        for q in queries
    )
    assert widths and max(widths) <= 10_000 and widths[0] == 5_000
    assert found / (20 * len(queries)) >= 0.99


@pytest.mark.parametrize("dims", [8, 100, 512, 700])
def test_hamming_matches_a_bit_by_bit_count(dims):
    rng = np.random.default_rng(dims)
    width = code_bytes(dims)
    bits = np.zeros((300, width), dtype=np.uint8)
    bits[:, : -(-dims // 8)] = np.packbits(rng.standard_normal((300, dims)) > 0, axis=1)
    q = np.zeros(width, dtype=np.uint8)
    q[: -(-dims // 8)] = np.packbits(rng.standard_normal(dims) > 0)
    expected = np.unpackbits(bits ^ q, axis=1).sum(axis=1)
    assert hamming(bits, q.view(np.uint64), None, block=64).tolist() == expected.tolist()
    rows = np.array([5, 0, 299, 17])
    assert hamming(bits, q.view(np.uint64), rows).tolist() == expected[rows].tolist()


def test_sidecar_maps_back_and_rejects_wrong_token_dims_or_damage(tmp_path):
    vectors, queries = clip_like(2_000, dims=64)
    path = str(tmp_path / "x.vidx")
    built, ids = build(vectors, token=42, path=path)
    loaded = VectorIndex.load(path, 42, 64)
    assert loaded is not None and len(loaded) == 2_000
    assert loaded.search(queries[0], 5)[0].tolist() == built.search(queries[0], 5)[0].tolist()
    assert VectorIndex.load(path, 43, 64) is None  # stale
    assert VectorIndex.load(path, 42, 32) is None  # other dimensions
    assert VectorIndex.load(str(tmp_path / "missing.vidx"), 42, 64) is None
    with open(path, "r+b") as handle:  # truncated (a crash while copying, a full disk)
        handle.truncate(os.path.getsize(path) // 2)
    assert VectorIndex.load(path, 42, 64) is None
    with open(path, "wb") as handle:
        handle.write(b"not an index at all")
    assert VectorIndex.load(path, 42, 64) is None
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".huisou-vidx-")]


def test_build_checks_the_row_count_and_leaves_no_temporary_file(tmp_path):
    vectors, _ = clip_like(100, dims=16)
    ids = np.arange(100)
    with pytest.raises(ValueError, match="counted"):
        VectorIndex.build([(ids, vectors)], 99, 16, 1, str(tmp_path / "x.vidx"))
    with pytest.raises(ValueError, match="counted"):
        VectorIndex.build([(ids, vectors)], 101, 16, 1, str(tmp_path / "x.vidx"))
    assert os.listdir(tmp_path) == []


def test_empty_index_searches_to_nothing(tmp_path):
    index = VectorIndex.build([], 0, 16, 1, str(tmp_path / "x.vidx"))
    assert index.search(np.ones(16, np.float32), 5)[0].tolist() == []
    assert VectorIndex.load(str(tmp_path / "x.vidx"), 1, 16) is not None


def test_query_of_the_wrong_length_is_refused():
    index, _ = build(clip_like(50, dims=16)[0])
    with pytest.raises(ValueError, match="16"):
        index.search(np.ones(8, np.float32), 5)


def test_crowded_queries_get_a_bigger_budget(monkeypatch):
    """Random unit vectors (no structure: the k-th score barely clears the bulk) are the worst
    case; the adaptive budget must still reach recall 0.99 where the base budget does not."""
    rng = np.random.default_rng(5)
    vectors = unit(rng.standard_normal((30_000, 256)))
    queries = unit(rng.standard_normal((20, 256)))
    index, ids = build(vectors)

    def measured() -> float:
        found = sum(
            len(set(exact_top(vectors, ids, q, 20)[0].tolist())
                & set(index.search(q, 20)[0].tolist()))
            for q in queries
        )
        return found / (20 * len(queries))

    assert measured() >= 0.99
    monkeypatch.setattr(vector_index, "ESCALATION", ((0.0, 1),))
    assert measured() < 0.99
