"""Which images to label next: one score per image per strategy, then `budget` of them selected (numpy).

Strategies (`STRATEGIES`), over the per-image components of `cocoseg.curate.uncertainty`:
  least_confidence, margin, entropy, mask, flip: the image's `{name}_{aggregate}` component, highest
    first, skipping near-duplicates (cosine > 0.98) of an image already selected;
  coreset: k-center greedy on the image embeddings, from the labeled set when given
    (`diversity.k_center_greedy`); the score is the distance gained by the pick;
  hybrid (default): the 4 x budget most uncertain by entropy, then k-center greedy among those down to
    `budget` (PPAL's two-stage idea: uncertain first, then spread out);
  random: a seeded uniform draw (the baseline; no duplicate check).
Ties go to the image that comes first in the source, so a ranking depends only on its inputs and seed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cocoseg.curate.diversity import (
    NEAR_DUPLICATE_COSINE,
    k_center_greedy,
    standardize,
    top_without_duplicates,
)
from cocoseg.curate.uncertainty import AGGREGATES

UNCERTAINTY = ("least_confidence", "margin", "entropy", "mask", "flip")
STRATEGIES = ("hybrid", *UNCERTAINTY, "coreset", "random")
HYBRID_POOL_FACTOR = 4


@dataclass
class Selection:
    """The outcome of a strategy: the picks in order and a score and rank per image (rank 1 = pick first)."""

    picks: list[int]
    scores: np.ndarray
    ranks: np.ndarray


def strategy_scores(components: Sequence[Mapping[str, float]], strategy: str, aggregate: str = "max") -> np.ndarray:
    """Per image the uncertainty component that `strategy` ranks by (entropy for hybrid)."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    name = "entropy" if strategy == "hybrid" else strategy
    key = f"{name}_{aggregate}"
    missing = [i for i, c in enumerate(components) if key not in c]
    if missing:
        raise ValueError(f"strategy {strategy}: image {missing[0]} has no {key!r} component")
    return np.array([c[key] for c in components], dtype=np.float64)


def select(
    strategy: str,
    components: Sequence[Mapping[str, float]],
    budget: int,
    *,
    embeddings: np.ndarray | None = None,
    labeled_embeddings: np.ndarray | None = None,
    candidates: Sequence[int] | None = None,
    aggregate: str = "max",
    seed: int = 0,
    duplicate_cosine: float | None = NEAR_DUPLICATE_COSINE,
) -> Selection:
    """Select up to `budget` of the images (rows of `components`/`embeddings`) by `strategy`.

    `candidates` limits the picks (e.g. to images not labeled yet); `labeled_embeddings` are the
    centers k-center starts from (coreset, hybrid). Embeddings are standardised over pool and labeled
    set together (`diversity.standardize`) before any distance. Returns picks in selection order, a score per
    image and ranks: the picks 1..k in order, then the rest by decreasing score.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    n = len(components)
    pool = np.arange(n) if candidates is None else np.asarray(sorted(set(candidates)), dtype=np.int64)
    budget = max(0, min(int(budget), len(pool)))
    if strategy in ("coreset", "hybrid") and embeddings is None:
        raise ValueError(f"strategy {strategy} needs image embeddings")
    if embeddings is not None:
        embeddings, labeled_embeddings = standardize(embeddings, labeled_embeddings)
    if strategy == "random":
        scores = np.random.default_rng(seed).random(n)
        picks = top_without_duplicates(scores, budget, None, None, pool)
    elif strategy == "coreset":
        picks, gains, final = k_center_greedy(embeddings, budget, labeled_embeddings, pool, duplicate_cosine)
        scores = np.where(np.isfinite(final), final, 0.0)
        scores[picks] = gains
    else:
        scores = strategy_scores(components, strategy, aggregate)
        if strategy == "hybrid":
            shortlist = top_without_duplicates(scores, HYBRID_POOL_FACTOR * budget, None, None, pool)
            picks, _, _ = k_center_greedy(embeddings, budget, labeled_embeddings, shortlist, duplicate_cosine)
        else:
            picks = top_without_duplicates(scores, budget, embeddings, duplicate_cosine, pool)
    return Selection(picks, scores, _ranks(picks, scores))


def _ranks(picks: Sequence[int], scores: np.ndarray) -> np.ndarray:
    """1..k for the picks in order, then the others by decreasing score (ties: source order)."""
    ranks = np.zeros(len(scores), dtype=np.int64)
    ranks[list(picks)] = np.arange(1, len(picks) + 1)
    rest = np.setdiff1d(np.arange(len(scores)), np.asarray(picks, dtype=np.int64))
    rest = rest[np.argsort(-scores[rest], kind="stable")]
    ranks[rest] = np.arange(len(picks) + 1, len(scores) + 1)
    return ranks


def image_components(outputs: object) -> dict[str, float]:
    """All score components of one image from its model outputs (an object with the fields of
    `cocoseg.engine.ranker.ImageOutputs`): the uncertainty scores, and the flip scores when the
    mirrored pass ran."""
    from cocoseg.curate.uncertainty import flip_inconsistency, uncertainty_components

    out = uncertainty_components(outputs.class_scores, outputs.mask_probs)  # type: ignore[attr-defined]
    if getattr(outputs, "flipped_masks", None) is not None:
        out.update(flip_inconsistency(outputs.masks, outputs.scores,  # type: ignore[attr-defined]
                                      outputs.flipped_masks, outputs.flipped_scores))  # type: ignore[attr-defined]
    return out
