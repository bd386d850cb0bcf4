"""Per-image uncertainty of a segmentation model's detections, in numpy (pure functions).

Every score here is computed from the detections kept for an image (candidates whose best class
score is > 0.05 before NMS, after NMS), each described by its vector of per-class sigmoid scores
and, for masks, the mask probabilities inside its box. A per-detection value is pooled per image
three ways (`aggregate`): max (the most uncertain object), mean (the typical object) and sum (grows
with the number of objects, so it favours crowded images). An image without detections scores 0
everywhere: there is nothing the model is unsure about, only (possibly) something it missed,
which the flip-consistency and diversity scores are for.

With candidates kept down to 0.05, 1 - p1 and 1 - (p1 - p2) are near 0.95 for any faint detection,
so their max saturates on almost every image; their mean is the informative pooling. Binary
entropy peaks at p = 0.5 and is small for faint and for sure detections alike, so its max is not
swamped by faint ones (hence entropy in the hybrid default).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AGGREGATES = ("max", "mean", "sum")
_EPS = 1e-12


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """H(p) = -p log2 p - (1 - p) log2(1 - p), elementwise, in bits (0 at p in {0, 1}, 1 at p = 0.5)."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    h = -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))
    return np.where((q <= _EPS) | (q >= 1.0 - _EPS), 0.0, h)


def _sorted_scores(class_scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(class_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"class_scores: expected (N, num_classes), got shape {scores.shape}")
    return -np.sort(-scores, axis=1)


def least_confidence(class_scores: np.ndarray) -> np.ndarray:
    """Per detection 1 - p1, p1 its highest class score; class_scores (N, C) -> (N,)."""
    scores = _sorted_scores(class_scores)
    return 1.0 - scores[:, 0] if scores.shape[1] else np.ones(scores.shape[0])


def margin(class_scores: np.ndarray) -> np.ndarray:
    """Per detection 1 - (p1 - p2), p1 >= p2 its two highest class scores (p2 = 0 with one class); (N, C) -> (N,)."""
    scores = _sorted_scores(class_scores)
    p1 = scores[:, 0] if scores.shape[1] else np.zeros(scores.shape[0])
    p2 = scores[:, 1] if scores.shape[1] > 1 else np.zeros(scores.shape[0])
    return 1.0 - (p1 - p2)


def class_entropy(class_scores: np.ndarray) -> np.ndarray:
    """Per detection sum_c H(p_c): the entropy (bits) of its C independent sigmoid scores; (N, C) -> (N,).

    A YOLOv8 head scores each class with its own sigmoid, trained as an independent yes/no question,
    so the C scores are C Bernoulli probabilities, not a distribution: they need not sum to 1 (0.06 and
    0.05 for a faint blob, 0.9 and 0.8 for an object both classes fit). The entropy of independent
    Bernoullis is the sum of their binary entropies. Softmax (or normalised) entropy would rescale the
    scores into a distribution the model never produced: (0.06, 0.05) becomes (0.55, 0.45), near the
    maximum of 1 bit, for a detection the model is in fact sure is nothing much, and a confident
    (0.99, 0.01) and a doubtful (0.5, 0.005) detection look alike after normalisation.
    """
    scores = np.asarray(class_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"class_scores: expected (N, num_classes), got shape {scores.shape}")
    return binary_entropy(scores).sum(axis=1)


def mask_entropy(mask_probs: Sequence[np.ndarray]) -> np.ndarray:
    """Per detection the mean binary entropy (bits) of its mask probabilities inside its box; [(h, w)] * N -> (N,).

    An empty crop (a box under one mask pixel) scores 1, as unsure as a mask can be.
    """
    out = np.ones(len(mask_probs), dtype=np.float64)
    for i, probs in enumerate(mask_probs):
        if np.asarray(probs).size:
            out[i] = float(binary_entropy(probs).mean())
    return out


def aggregate(values: np.ndarray, how: str) -> float:
    """One image's score from per-detection values: 'max', 'mean' or 'sum' (0 without detections)."""
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {how!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 0.0
    return float({"max": np.max, "mean": np.mean, "sum": np.sum}[how](values))


def uncertainty_components(class_scores: np.ndarray, mask_probs: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """Every uncertainty score of one image: {least_confidence,margin,entropy,mask}_{max,mean,sum} and detections.

    `class_scores` (N, C): the sigmoid class scores of the image's kept detections; `mask_probs`: their
    mask probabilities inside the boxes (the mask scores are left out when None).
    """
    per_detection = {
        "least_confidence": least_confidence(class_scores),
        "margin": margin(class_scores),
        "entropy": class_entropy(class_scores),
    }
    if mask_probs is not None:
        if len(mask_probs) != len(class_scores):
            raise ValueError(f"mask_probs: {len(mask_probs)} crops for {len(class_scores)} detections")
        per_detection["mask"] = mask_entropy(mask_probs)
    out: dict[str, float] = {"detections": len(class_scores)}
    for name, values in per_detection.items():
        for how in AGGREGATES:
            out[f"{name}_{how}"] = aggregate(values, how)
    return out


def mask_iou_matrix(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    """Mask IoU (len(a), len(b)) of two stacks of (H, W) bitmaps of one size (cocoseg.masks, pycocotools' codec)."""
    from cocoseg.masks import encode, iou

    a, b = np.asarray(masks_a), np.asarray(masks_b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    return iou(encode(a), encode(b), [0] * len(b))


def match_by_iou(ious: np.ndarray, scores_a: np.ndarray) -> list[tuple[int, int]]:
    """Greedy one-to-one matching: detections of `a` by decreasing score take the free `b` of highest IoU > 0.

    Ties go to the lower index (stable), so the matching is deterministic.
    """
    free = np.ones(ious.shape[1], dtype=bool)
    pairs = []
    for i in np.argsort(-np.asarray(scores_a, dtype=np.float64), kind="stable"):
        if not free.any():
            break
        row = np.where(free, ious[i], -1.0)
        j = int(np.argmax(row))
        if row[j] > 0:
            pairs.append((int(i), j))
            free[j] = False
    return pairs


def flip_inconsistency(
    masks: np.ndarray, scores: np.ndarray, flipped_masks: np.ndarray, flipped_scores: np.ndarray
) -> dict[str, float]:
    """How much the detections of an image and of its horizontal mirror disagree (CALD's idea, with masks).

    `flipped_masks` must already be mirrored back onto the original image. Detections are matched
    one-to-one by mask IoU (`match_by_iou`); a matched pair contributes v = 1 - IoU with weight
    w = (p_a + p_b) / 2, a detection left unmatched on either side v = 1 with its own score as weight.
    Returns flip_mean = sum(w v) / sum(w) (the confidence-weighted disagreement; 0 without
    detections), flip_max = max(w v) (the most confident disagreement: max v alone would be 1 for
    nearly every image, which always has some faint unmatched detection) and flip_sum = sum(w v).
    """
    scores, flipped_scores = np.asarray(scores, np.float64), np.asarray(flipped_scores, np.float64)
    ious = mask_iou_matrix(masks, flipped_masks)
    pairs = match_by_iou(ious, scores)
    weights, values = [], []
    for i, j in pairs:
        weights.append((scores[i] + flipped_scores[j]) / 2)
        values.append(1.0 - ious[i, j])
    matched_a, matched_b = {i for i, _ in pairs}, {j for _, j in pairs}
    for side, matched in ((scores, matched_a), (flipped_scores, matched_b)):
        for k in range(len(side)):
            if k not in matched:
                weights.append(side[k])
                values.append(1.0)
    w, v = np.asarray(weights, np.float64), np.asarray(values, np.float64)
    total = float(w.sum())
    return {
        "flip_mean": float((w * v).sum() / total) if total > 0 else 0.0,
        "flip_max": float((w * v).max()) if v.size else 0.0,
        "flip_sum": float((w * v).sum()),
    }
