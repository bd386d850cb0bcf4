"""Label-quality scores of one image's annotations against a model's predictions (pure numpy).

The design is ObjectLab's (Tkachenko, Thyagarajan, Mueller, "ObjectLab: Automated Diagnosis of
Mislabeled Images in Object Detection Data", ICML 2023 workshop; the method behind cleanlab's
`object_detection` module, which is AGPL-3 and was read, not copied). Every score is in [0, 1];
LOW means a likely label error.

- similarity of annotation l and prediction k: ``alpha * IoU + (1 - alpha) * exp(-factor * d)``,
  alpha 0.9, factor 0.1, d the distance in pixels between the box centres. IoU is the mask IoU
  where both sides have masks, else the box IoU (cocoseg's one IoU: `cocoseg.masks`).
- overlooked (per prediction with p >= `high`, 0.95, overlapping no annotation of any class):
  its highest similarity with an annotation of its class, or ``floor * (1 - p)`` when the image has
  none of that class. Other predictions: NaN (no evidence). "Overlapping" is IoU > `overlap`, 0.1
  (ObjectLab: > 0; in crowded scenes a missed object nearly always touches a neighbour, and the
  strict rule then never scores it: AUROC 0.58 -> 0.77 on the label_audit benchmark).
- swap (per annotation): 1 when no prediction of another class with p > `high` exists, else
  ``max(floor, 1 - s)`` with s the highest similarity with such a prediction; an annotation that
  overlaps (IoU >= 0.95) an annotation of another class gets `floor` (two labels on one object).
- badloc (per annotation): the highest similarity with a prediction of its class with p > `low`
  (0.5) that overlaps it; 1 when there is none (no evidence either way).
- duplicate (per annotation, cocoseg's addition): 1 - IoU with an earlier annotation of its class
  when that IoU exceeds 0.9, else 1; degenerate (cocoseg's addition): 0 for an annotation under
  `min_area` pixels or whose box leaves the image, else 1.

`floor` is the smallest non-zero similarity seen in the whole dataset (ObjectLab's "min possible
similarity"). Per-image pooling is a softmin with temperature 0.1 (``sum(x * softmax(-x / t))``,
NaN left out, 1 when nothing is scored), and the image's score is the weighted geometric mean of
its pooled type scores.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

ALPHA = 0.9
DISTANCE_FACTOR = 0.1
HIGH_PROBABILITY = 0.95
LOW_PROBABILITY = 0.5
TEMPERATURE = 0.1
LABEL_OVERLAP = 0.95
DUPLICATE_IOU = 0.9
MIN_AREA = 4.0
OVERLAP_IOU = 0.1  # a prediction "overlaps" an annotation above this IoU (ObjectLab: 0)
CALIBRATION_MIN = 5
SHARED_WEIGHT = 0.1  # evidence from a prediction that resembles another annotation more
TYPES = ("overlooked", "swap", "badloc", "duplicate", "degenerate")
_TINY = 1e-100


def centre_distances(a_xywh: np.ndarray, b_xywh: np.ndarray) -> np.ndarray:
    """(A, B) Euclidean distance in pixels between the centres of boxes [x, y, w, h]."""
    a = np.asarray(a_xywh, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b_xywh, dtype=np.float64).reshape(-1, 4)
    ca = a[:, :2] + a[:, 2:] / 2
    cb = b[:, :2] + b[:, 2:] / 2
    return np.sqrt(((ca[:, None, :] - cb[None, :, :]) ** 2).sum(axis=-1))


def similarity(iou: np.ndarray, distance: np.ndarray, alpha: float = ALPHA, factor: float = DISTANCE_FACTOR) -> np.ndarray:
    """ObjectLab's similarity ``alpha * iou + (1 - alpha) * exp(-factor * distance)``, elementwise."""
    return alpha * np.asarray(iou, dtype=np.float64) + (1 - alpha) * np.exp(-factor * np.asarray(distance, dtype=np.float64))


def softmin(scores: np.ndarray, temperature: float = TEMPERATURE) -> float:
    """``sum(x * softmax(-x / t))`` over the non-NaN scores; 1.0 when there are none."""
    x = np.asarray(scores, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return 1.0
    z = -x / temperature
    w = np.exp(z - z.max())
    return float(np.dot(w / w.sum(), x))


def geometric_mean(scores: Mapping[str, float], weights: Mapping[str, float] | None = None) -> float:
    """Weighted geometric mean of the pooled type scores (equal weights by default)."""
    names = list(scores)
    w = np.array([1.0 if weights is None else float(weights.get(n, 0.0)) for n in names])
    w = w / w.sum()
    logs = np.log(_TINY + np.array([scores[n] for n in names], dtype=np.float64))
    return float(np.exp(np.dot(w, logs)))


def overlooked_scores(sim: np.ndarray, iou: np.ndarray, label_cats: np.ndarray, pred_cats: np.ndarray,
                      pred_scores: np.ndarray, floor: float, high: float = HIGH_PROBABILITY,
                      overlap: float = OVERLAP_IOU) -> np.ndarray:
    """(P,) per prediction: `sim`/`iou` are (L, P) annotation x prediction (see the module docstring)."""
    out = np.full(len(pred_cats), np.nan)
    for k in range(len(pred_cats)):
        if pred_scores[k] < high or (iou.shape[0] and np.any(iou[:, k] > overlap)):
            continue
        same = sim[label_cats == pred_cats[k], k]
        out[k] = same.max() if len(same) else floor * (1 - pred_scores[k])
    return out


def best_label(sim: np.ndarray, label_cats: np.ndarray | None = None, pred_cats: np.ndarray | None = None) -> np.ndarray:
    """(P,) the annotation row each prediction is most similar to (of its own class when the classes are given), -1: none."""
    s = np.array(sim, dtype=np.float64, copy=True)
    if label_cats is not None and pred_cats is not None:
        s[label_cats[:, None] != pred_cats[None, :]] = -1.0
    if s.shape[0] == 0:
        return np.full(s.shape[1], -1, dtype=np.int64)
    best = np.argmax(s, axis=0)
    return np.where(s[best, np.arange(s.shape[1])] > 0, best, -1).astype(np.int64)


def swap_scores(sim: np.ndarray, label_cats: np.ndarray, pred_cats: np.ndarray, pred_scores: np.ndarray,
                floor: float, label_iou: np.ndarray | None = None, high: float = HIGH_PROBABILITY,
                owner: np.ndarray | None = None) -> np.ndarray:
    """(L,) per annotation; `label_iou` (L, L) flags two labels of different classes on one object.

    `owner` (P,) (cocoseg's refinement, `best_label`): a prediction counts fully only for the
    annotation it is most similar to, so a confident neighbour of another class does not accuse a
    label; without such a prediction the score is ``1 - SHARED_WEIGHT * s`` over the others.
    """
    out = np.ones(len(label_cats))
    for i in range(len(label_cats)):
        if label_iou is not None:
            other_label = (label_cats != label_cats[i]) & (label_iou[i] >= LABEL_OVERLAP)
            other_label[i] = False
            if other_label.any():
                out[i] = floor
                continue
        cand = (pred_cats != label_cats[i]) & (pred_scores > high)
        if not cand.any():
            continue
        owned = cand & (owner == i) if owner is not None else cand
        if owned.any():
            out[i] = max(floor, 1.0 - float(sim[i, owned].max()))
        else:  # only other annotations' predictions: weak evidence
            out[i] = 1.0 - SHARED_WEIGHT * float(sim[i, cand].max())
    return out


def badloc_scores(sim: np.ndarray, iou: np.ndarray, label_cats: np.ndarray, pred_cats: np.ndarray,
                  pred_scores: np.ndarray, low: float = LOW_PROBABILITY,
                  owner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(L,) per annotation and (L,) the prediction column it was scored with (-1: none).

    `owner` (P,) (cocoseg's refinement, `best_label` within the class): a prediction counts fully
    only for the same-class annotation it is most similar to, so a missed object's neighbour does
    not make its label look badly drawn; without one, ``1 - SHARED_WEIGHT * (1 - s)`` over the others.
    """
    out = np.ones(len(label_cats))
    best = np.full(len(label_cats), -1, dtype=np.int64)
    for i in range(len(label_cats)):
        ok = (pred_cats == label_cats[i]) & (pred_scores > low) & (iou[i] > 0)
        owned = ok & (owner == i) if owner is not None else ok
        cand = np.flatnonzero(owned)
        if len(cand):
            j = int(cand[np.argmax(sim[i, cand])])
            out[i], best[i] = sim[i, j], j
        elif ok.any():  # only other annotations' predictions: weak evidence
            out[i] = 1.0 - SHARED_WEIGHT * (1.0 - float(sim[i, ok].max()))
    return out, best


def calibrate_by_class(scores: np.ndarray, categories: np.ndarray, min_count: int = CALIBRATION_MIN) -> np.ndarray:
    """Scores divided by their category's median over the scored (< 1) entries, capped at 1 (cocoseg's refinement).

    Thin or ragged classes (people, rings) match their predictions less well than compact ones, so
    one raw threshold flags them all; relative to its class a badly drawn mask stands out. A
    category with fewer than `min_count` scored entries is left as it is.
    """
    s = np.asarray(scores, dtype=np.float64).copy()
    cats = np.asarray(categories)
    for c in np.unique(cats).tolist():
        rows = (cats == c) & (s < 1.0)
        if np.count_nonzero(rows) >= min_count:
            median = float(np.median(s[rows]))
            if median > 0:
                s[rows] = np.minimum(1.0, s[rows] / median)
    return s


def duplicate_scores(label_iou: np.ndarray, label_cats: np.ndarray,
                     threshold: float = DUPLICATE_IOU) -> tuple[np.ndarray, np.ndarray]:
    """(L,) 1 - IoU with the most overlapping EARLIER same-class annotation above `threshold` (else 1), and its row.

    Of a pair the later annotation (file order) is the duplicate, the one the fix removes; the
    earlier keeps 1.
    """
    n = len(label_cats)
    out, partner = np.ones(n), np.full(n, -1, dtype=np.int64)
    for i in range(n):
        same = (label_cats == label_cats[i]) & (label_iou[i] > threshold)
        same[i:] = False
        if same.any():
            j = int(np.flatnonzero(same)[np.argmax(label_iou[i, same])])
            out[i], partner[i] = 1.0 - float(label_iou[i, j]), j
    return out, partner


def degenerate_scores(areas: np.ndarray, boxes_xywh: np.ndarray, height: float, width: float,
                      min_area: float = MIN_AREA, tolerance: float = 1.0) -> np.ndarray:
    """(L,) 0 for an annotation under `min_area` or whose box leaves the image (by more than `tolerance` px), else 1."""
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    outside = (b[:, 0] < -tolerance) | (b[:, 1] < -tolerance) | (b[:, 0] + b[:, 2] > width + tolerance) \
        | (b[:, 1] + b[:, 3] > height + tolerance) | (b[:, 2] <= 0) | (b[:, 3] <= 0)
    small = np.asarray(areas, dtype=np.float64) < min_area
    return np.where(outside | small, 0.0, 1.0)


def min_nonzero(sim: np.ndarray, current: float = 1.0) -> float:
    """The smaller of `current` and the smallest non-zero entry of `sim` (ObjectLab's floor)."""
    nz = np.asarray(sim)[np.asarray(sim) > 0]
    return float(min(current, nz.min())) if len(nz) else current
