"""Diversity and selection of `cocoseg rank`: k-center on tiny point sets, near-duplicates, strategies."""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.curate import diversity
from cocoseg.curate.diversity import (
    EmbeddingStore,
    k_center_greedy,
    min_distances,
    near_duplicate_pairs,
    standardize,
    top_without_duplicates,
)
from cocoseg.curate.ranking import HYBRID_POOL_FACTOR, select

# unit-circle points; row 1 is a near-duplicate of row 0 (cosine 0.99995)
POINTS = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [-1.0, 0.0], [0.7, 0.7]])
R2 = np.sqrt(2 - 2 * np.cos(np.pi / 4))  # chord of 45 degrees: 0.765367


def test_min_distances():
    got = min_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [3.0, 0.0]]))
    assert got == pytest.approx([1.0, 4.0])
    assert np.isinf(min_distances(POINTS, POINTS[:0])).all()


def test_k_center_by_hand():
    picks, gains, final = k_center_greedy(POINTS, 3)
    # first: nearest the mean (the 45-degree point); then the farthest from it (-1, 0); then (1, 0),
    # tied with (0, 1) at 45 degrees and taken for its lower index
    assert picks == [4, 3, 0]
    assert gains == pytest.approx([2.0, np.sqrt(2 + 2 * np.cos(np.pi / 4)), R2])
    assert final[[0, 3, 4]] == pytest.approx([0, 0, 0])
    assert final[2] == pytest.approx(R2)


def test_k_center_skips_near_duplicates():
    picks, _, _ = k_center_greedy(POINTS, 5)
    assert picks == [4, 3, 0, 2]  # row 1 never joins row 0, so only 4 of 5
    everything, _, _ = k_center_greedy(POINTS, 5, duplicate_cosine=None)
    assert everything == [4, 3, 0, 2, 1]


def test_k_center_from_a_labeled_set():
    picks, gains, _ = k_center_greedy(POINTS, 5, labeled=np.array([[1.0, 0.0]]))
    # (1, 0) and its look-alike are labeled already: never picked
    assert picks == [3, 2, 4]
    assert gains == pytest.approx([2.0, np.sqrt(2), R2])


def test_k_center_within_candidates():
    picks, _, final = k_center_greedy(POINTS, 2, candidates=[0, 2, 3])
    assert set(picks) <= {0, 2, 3} and len(picks) == 2
    assert np.isinf(final[[1, 4]]).all()


def test_top_without_duplicates():
    scores = np.array([0.9, 0.8, 0.7, 0.7, 0.1])
    assert top_without_duplicates(scores, 3) == [0, 1, 2]
    assert top_without_duplicates(scores, 3, POINTS) == [0, 2, 3]  # row 1 is row 0's look-alike
    assert top_without_duplicates(scores, 2, POINTS, candidates=[1, 3, 4]) == [1, 3]


def test_near_duplicate_pairs():
    assert near_duplicate_pairs(POINTS) == [(0, 1)]
    assert near_duplicate_pairs(POINTS, cosine=0.6) == [(0, 1), (0, 4), (1, 4), (2, 4)]


def test_standardize_removes_the_common_component():
    rng = np.random.default_rng(0)
    raw = 100 + rng.normal(size=(50, 8))  # every raw cosine is ~1
    z, = standardize(raw)
    assert near_duplicate_pairs(raw) and not near_duplicate_pairs(z)
    assert z.mean(0) == pytest.approx(np.zeros(8), abs=1e-4)


def test_embedding_store_in_memory_and_on_disk(monkeypatch, tmp_path):
    small = EmbeddingStore(10, 4)
    assert small.path is None and small.array.dtype == np.float16
    monkeypatch.setattr(diversity, "MEMMAP_BYTES", 16)
    big = EmbeddingStore(10, 4, directory=str(tmp_path))
    assert isinstance(big.array, np.memmap) and big.path and (tmp_path / big.path).exists()
    big.array[3] = 1.5
    assert big.array[3, 0] == np.float16(1.5)
    path = big.path
    big.close()
    assert not (tmp_path / path).exists()


def _components(values: list[float]) -> list[dict[str, float]]:
    return [{f"{n}_{a}": v for n in ("entropy", "margin", "least_confidence", "mask") for a in ("max", "mean", "sum")}
            for v in values]


def test_uncertainty_strategy_ranks_by_its_component():
    comps = _components([0.1, 0.9, 0.5, 0.7])
    s = select("entropy", comps, 2)
    assert s.picks == [1, 3]
    assert list(s.ranks) == [4, 1, 3, 2]
    assert list(s.scores) == [0.1, 0.9, 0.5, 0.7]
    assert select("margin", comps, 1, candidates=[0, 2]).picks == [2]


def test_random_is_seeded():
    comps = _components([0.0] * 20)
    a, b = select("random", comps, 5, seed=3), select("random", comps, 5, seed=3)
    assert a.picks == b.picks and len(set(a.picks)) == 5
    assert select("random", comps, 5, seed=4).picks != a.picks
    assert set(select("random", comps, 5, candidates=range(10, 20)).picks) <= set(range(10, 20))


def test_hybrid_is_k_center_among_the_most_uncertain():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(30, 6))
    values = rng.random(30)
    budget = 2
    s = select("hybrid", _components(list(values)), budget, embeddings=emb)
    shortlist = list(np.argsort(-values, kind="stable")[: HYBRID_POOL_FACTOR * budget])
    expected, _, _ = k_center_greedy(standardize(emb)[0], budget, candidates=shortlist)
    assert s.picks == expected and set(s.picks) <= set(shortlist)


def test_coreset_scores_are_the_gains():
    s = select("coreset", _components([0.0] * 5), 3, embeddings=POINTS * 10)
    assert len(s.picks) == 3 and list(s.ranks[s.picks]) == [1, 2, 3]
    assert s.scores[s.picks[0]] == 2.0


def test_bad_strategy_and_missing_embeddings():
    with pytest.raises(ValueError):
        select("nope", _components([0.1]), 1)
    with pytest.raises(ValueError):
        select("coreset", _components([0.1]), 1)
    with pytest.raises(ValueError):
        select("flip", _components([0.1]), 1)  # no flip_max component
