"""Diversity in embedding space, in numpy: k-center greedy (core-set), near-duplicates, an embedding store.

Embeddings are compared after L2 normalisation, so the Euclidean distance d and the cosine
similarity s of two images are tied by d^2 = 2 - 2 s; a near-duplicate pair (s > 0.98) is one at
d < 0.2. Work is done in float32 blocks over a float16 store: 10k images x 448 dimensions hold
9 MB, and a k-center pass keeps one (N,) distance vector, never an N x N matrix.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np

NEAR_DUPLICATE_COSINE = 0.98
MEMMAP_BYTES = 64 << 20  # stores larger than this live in a temporary file (np.memmap)
_BLOCK = 4096


def standardize(embeddings: np.ndarray, *others: np.ndarray | None) -> list[np.ndarray | None]:
    """Each array minus the mean and over the standard deviation of every dimension over all rows given.

    Raw pooled activations of a CNN share one large common component (after SiLU they are mostly
    positive): between two unrelated synthetic images the cosine of raw yolov8n embeddings is above
    0.999. Standardised over the pool, unrelated images sit near cosine 0 and only true look-alikes
    come close to 1, so the near-duplicate threshold and k-center distances mean something.
    """
    arrays = [np.asarray(embeddings, dtype=np.float32)] + [None if o is None else np.asarray(o, np.float32) for o in others]
    stacked = np.concatenate([a for a in arrays if a is not None and len(a)], 0)
    mean, std = stacked.mean(0), stacked.std(0)
    scale = np.where(std > 1e-6, std, 1.0)
    return [None if a is None else (a - mean) / scale for a in arrays]


def normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32 (an all-zero row stays zero)."""
    x = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def min_distances(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """For each of `points` (N, D) its Euclidean distance to the nearest of `centers` (M, D); inf when M = 0."""
    points = np.asarray(points, dtype=np.float32)
    out = np.full(len(points), np.inf, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float32)
    if len(centers) == 0:
        return out
    sq_c = (centers.astype(np.float64) ** 2).sum(1)
    for start in range(0, len(points), _BLOCK):
        block = points[start : start + _BLOCK].astype(np.float64)
        for c0 in range(0, len(centers), _BLOCK):
            c = centers[c0 : c0 + _BLOCK].astype(np.float64)
            d2 = (block**2).sum(1)[:, None] - 2 * block @ c.T + sq_c[None, c0 : c0 + _BLOCK]
            out[start : start + len(block)] = np.minimum(out[start : start + len(block)], d2.min(1))
    return np.sqrt(np.maximum(out, 0.0))


def k_center_greedy(
    embeddings: np.ndarray,
    budget: int,
    labeled: np.ndarray | None = None,
    candidates: Sequence[int] | None = None,
    duplicate_cosine: float | None = NEAR_DUPLICATE_COSINE,
) -> tuple[list[int], list[float], np.ndarray]:
    """Core-set selection (Sener & Savarese 2018): repeatedly take the point farthest from all centers.

    Centers start as the `labeled` embeddings; each step picks argmax_i min_c ||x_i - c|| among the
    unselected `candidates` (default: all rows), adds it as a center and updates the distances. With no
    labeled set the first pick is the point nearest the candidates' mean (deterministic and typical).
    A candidate within the near-duplicate radius (cosine > `duplicate_cosine`) of a labeled or selected
    point is never picked, so fewer than `budget` may come back when the pool is mostly duplicates. Ties go to
    the lower row index. Rows are L2-normalised first. Returns the picks in order, each pick's
    distance to the centers before it (its gain; 2.0, the largest distance of unit vectors, for a
    first pick without labeled set) and, per row of `embeddings`, its distance to the nearest
    center (labeled or picked) at the end (inf outside `candidates`).
    """
    x = normalize(embeddings)
    idx = np.arange(len(x)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    points = x[idx]
    dist = min_distances(points, normalize(labeled) if labeled is not None and len(labeled) else points[:0])
    radius = _duplicate_radius(duplicate_cosine)
    sq = (points.astype(np.float64) ** 2).sum(1)
    open_ = dist >= radius  # a look-alike of a labeled image is not worth labeling again
    picks: list[int] = []
    gains: list[float] = []
    while len(picks) < budget and open_.any():
        if np.isinf(dist).all():
            mean = points.mean(0, keepdims=True)
            k = int(np.argmin(np.where(open_, min_distances(points, mean), np.inf)))
            gains.append(2.0)
        else:
            k = int(np.argmax(np.where(open_, dist, -1.0)))
            gains.append(float(dist[k]))
        picks.append(int(idx[k]))
        to_new = _distances_to(points, sq, k)
        dist = np.minimum(dist, to_new)
        open_[k] = False
        open_ &= to_new >= radius
    out = np.full(len(x), np.inf)
    out[idx] = dist
    return picks, gains, out


def _distances_to(points: np.ndarray, sq: np.ndarray, k: int) -> np.ndarray:
    """Euclidean distances of every row of `points` (squared norms `sq`) to row k: one matrix-vector product."""
    d2 = sq + sq[k] - 2.0 * (points @ points[k]).astype(np.float64)
    d2[k] = 0.0
    return np.sqrt(np.maximum(d2, 0.0))


def _duplicate_radius(cosine: float | None) -> float:
    """The Euclidean distance between unit vectors of cosine similarity `cosine` (0: no exclusion)."""
    return 0.0 if cosine is None else float(np.sqrt(max(2.0 - 2.0 * cosine, 0.0)))


def top_without_duplicates(
    scores: np.ndarray,
    budget: int,
    embeddings: np.ndarray | None = None,
    duplicate_cosine: float | None = NEAR_DUPLICATE_COSINE,
    candidates: Sequence[int] | None = None,
) -> list[int]:
    """The `budget` highest `scores` (ties: lower index first), skipping near-duplicates of a picked row."""
    scores = np.asarray(scores, dtype=np.float64)
    idx = np.arange(len(scores)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    order = idx[np.argsort(-scores[idx], kind="stable")]
    if embeddings is None or duplicate_cosine is None:
        return [int(i) for i in order[:budget]]
    x = normalize(embeddings)
    radius = _duplicate_radius(duplicate_cosine)
    picks: list[int] = []
    for i in order:
        if len(picks) == budget:
            break
        if not picks or min_distances(x[i : i + 1], x[picks])[0] >= radius:
            picks.append(int(i))
    return picks


def near_duplicate_pairs(embeddings: np.ndarray, cosine: float = NEAR_DUPLICATE_COSINE) -> list[tuple[int, int]]:
    """Pairs (i < j) of rows whose cosine similarity is > `cosine` (blockwise; for reports and tests)."""
    x = normalize(embeddings)
    pairs = []
    for start in range(0, len(x), _BLOCK):
        sim = x[start : start + _BLOCK] @ x.T
        for a, b in zip(*np.nonzero(sim > cosine)):
            i = start + int(a)
            if i < int(b):
                pairs.append((i, int(b)))
    return pairs


class EmbeddingStore:
    """A (N, D) float16 array filled row by row: in memory when small, else a temporary np.memmap file."""

    def __init__(self, rows: int, dim: int, directory: str | None = None) -> None:
        self.rows, self.dim = int(rows), int(dim)
        self.path: str | None = None
        if self.rows * self.dim * 2 > MEMMAP_BYTES:
            fd, self.path = tempfile.mkstemp(prefix="cocoseg-embeddings-", suffix=".f16", dir=directory)
            os.close(fd)
            self.array = np.memmap(self.path, dtype=np.float16, mode="w+", shape=(self.rows, self.dim))
        else:
            self.array = np.zeros((self.rows, self.dim), dtype=np.float16)

    def close(self) -> None:
        """Drop the array and delete its file, if any."""
        self.array = np.zeros((0, self.dim), dtype=np.float16)
        if self.path is not None:
            os.unlink(self.path)
            self.path = None
