"""Precision-recall curves per category and IoU threshold, and F1 against confidence.

PR curves are read from the engine's precision array [T, R, K, A, M] as pycocotools builds it
(interpolated precision at the 101 recall thresholds), so a curve's mean over recall is exactly
that category's AP at that threshold. Categories without GT (-1 in the array) become NaN and are
left out of every mean. Curves are labelled by COCO category id, never by array position.

F1 against confidence comes from the per-detection matches (exact, no interpolation): keeping
the detections scoring >= c, P = TP / kept, R = TP / GT and F1 = 2 TP / (GT + kept) per category;
the "all classes" curve is the mean F1 over categories with GT (the Ultralytics convention). The
best threshold maximizes that mean over every distinct detection score, not over a grid.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.eval.analysis.matching import ALL_CATEGORIES, Matches


def _name_map(names: Mapping[int, str] | None, category_ids: np.ndarray) -> tuple[str, ...]:
    names = names or {}
    return tuple("all" if c == ALL_CATEGORIES else str(names.get(c, c)) for c in category_ids.tolist())


@dataclass(frozen=True)
class PRCurves:
    """Interpolated precision at each recall threshold, per IoU threshold and category.

    precision, scores: (T, K, R) float64, NaN for categories without GT; recall: (R,);
    `category_ids[k]` / `names[k]` label index k (-1 / "all" when categories are pooled).
    """

    recall: np.ndarray
    iou_thresholds: np.ndarray
    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    precision: np.ndarray
    scores: np.ndarray
    area: str
    max_dets: int

    def ap(self) -> np.ndarray:
        """(T, K) AP per IoU threshold and category: the mean of its curve (NaN without GT)."""
        return self.precision.mean(axis=2)

    def mean_curve(self, iou_threshold: float = 0.5) -> np.ndarray:
        """(R,) precision averaged over the categories with GT at one IoU threshold."""
        t = self.threshold_index(iou_threshold)
        rows = self.precision[t]
        keep = ~np.isnan(rows).any(axis=1)
        return rows[keep].mean(axis=0) if keep.any() else np.full(len(self.recall), np.nan)

    def threshold_index(self, iou_threshold: float) -> int:
        """Index of an IoU threshold; ValueError when it was not evaluated."""
        hit = np.flatnonzero(np.isclose(self.iou_thresholds, iou_threshold, rtol=0, atol=1e-9))
        if len(hit) == 0:
            raise ValueError(f"IoU threshold {iou_threshold} not in {self.iou_thresholds.round(2).tolist()}")
        return int(hit[0])

    def to_dict(self, iou_thresholds: tuple[float, ...] = (0.5, 0.75)) -> dict[str, Any]:
        """JSON-ready curves at the given IoU thresholds (null where a category has no GT)."""
        out: dict[str, Any] = {"recall": self.recall.tolist(), "area": self.area, "max_dets": self.max_dets,
                               "category_ids": list(self.category_ids), "names": list(self.names), "curves": {}}
        for thr in iou_thresholds:
            t = self.threshold_index(thr)
            out["curves"][f"{thr:.2f}"] = [None if np.isnan(row).any() else row.tolist() for row in self.precision[t]]
        return out


def pr_curves(result: Any, names: Mapping[int, str] | None = None, area: str = "all",
              max_dets: int | None = None) -> PRCurves:
    """PR curves from an `EvalResult` (its precision and scores arrays) for one area range and maxDets.

    Names default to the result's per-class table.
    """
    params = result.params
    if names is None:
        names = {row["category_id"]: str(row["name"]) for row in getattr(result, "per_class", [])}
    a = list(params.area_labels).index(area) if hasattr(params, "area_labels") else 0
    dets = list(params.max_dets)
    m = len(dets) - 1 if max_dets is None else dets.index(max_dets)
    precision = np.asarray(result.precision, dtype=np.float64)[:, :, :, a, m].transpose(0, 2, 1)
    scores = np.asarray(result.scores, dtype=np.float64)[:, :, :, a, m].transpose(0, 2, 1)
    missing = precision <= -1
    cats = np.asarray(params.category_ids if params.use_cats else [ALL_CATEGORIES], dtype=np.int64)
    return PRCurves(np.asarray(params.recall_thresholds, dtype=np.float64),
                    np.asarray(params.iou_thresholds, dtype=np.float64), tuple(cats.tolist()), _name_map(names, cats),
                    np.where(missing, np.nan, precision), np.where(missing, np.nan, scores), area, dets[m])


@dataclass(frozen=True)
class F1Curve:
    """Precision, recall and F1 against confidence, per category and averaged (see module docstring).

    confidence: (C,) ascending grid; precision, recall, f1: (K, C), NaN for categories without GT
    (precision is also NaN where no detection is kept); mean_f1: (C,) over categories with GT.
    best_*: the exact maximum of the mean F1 over all detection scores; per_class_best_*: (K,).
    """

    iou_threshold: float
    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    confidence: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    mean_f1: np.ndarray
    best_confidence: float
    best_f1: float
    best_precision: float
    best_recall: float
    per_class_best_confidence: np.ndarray
    per_class_best_f1: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the best threshold overall and per category."""
        per_class = [{"category_id": c, "name": n, "best_confidence": _num(bc), "best_f1": _num(bf)}
                     for c, n, bc, bf in zip(self.category_ids, self.names, self.per_class_best_confidence.tolist(),
                                             self.per_class_best_f1.tolist())]
        return {"iou_threshold": self.iou_threshold, "best_confidence": _num(self.best_confidence),
                "best_f1": _num(self.best_f1), "best_precision": _num(self.best_precision),
                "best_recall": _num(self.best_recall), "per_class": per_class}


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _class_stats(matches: Matches, k: int, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, F1) of category k when keeping its detections scoring >= each of `conf`.

    Precision is NaN where nothing is kept; the category must have GT.
    """
    sel = (matches.category_id == matches.category_ids[k]) & ~matches.ignored
    order = np.argsort(-matches.score[sel], kind="mergesort")
    scores, cum_tp = matches.score[sel][order], np.r_[0, np.cumsum(matches.tp[sel][order])]
    kept = np.searchsorted(-scores, -conf, side="right")  # ties at the threshold are kept
    tp, n_gt = cum_tp[kept], int(matches.gt_count[k])
    precision = np.divide(tp, kept, out=np.full(len(conf), np.nan), where=kept > 0)
    return precision, tp / n_gt, 2 * tp / (n_gt + kept)


def f1_curve(matches: Matches, names: Mapping[int, str] | None = None, points: int = 1001) -> F1Curve:
    """F1 against confidence from matches (see module docstring); the curves use a `points` grid on [0, 1]."""
    cats = np.asarray(matches.category_ids, dtype=np.int64)
    grid = np.linspace(0.0, 1.0, points)
    candidates = np.unique(matches.score[~matches.ignored])
    curves = np.full((3, len(cats), points), np.nan)  # precision, recall, F1
    per_class = np.full((2, len(cats)), np.nan)  # best confidence, best F1
    sums = np.zeros((3, len(candidates)))  # precision, recall, F1 summed over categories with GT
    n_precision = np.zeros(len(candidates))
    with_gt = np.flatnonzero(matches.gt_count > 0)
    for k in with_gt.tolist():
        curves[:, k] = _class_stats(matches, k, grid)
        p, r, f = _class_stats(matches, k, candidates)
        sums += np.stack([np.nan_to_num(p), r, f])
        n_precision += ~np.isnan(p)
        if len(candidates):
            j = len(f) - 1 - int(np.argmax(f[::-1]))  # highest F1; on ties the highest confidence
            per_class[:, k] = candidates[j], f[j]
    best = (float("nan"),) * 4
    if len(with_gt) and len(candidates):
        mean_f1 = sums[2] / len(with_gt)
        j = len(mean_f1) - 1 - int(np.argmax(mean_f1[::-1]))
        mean_p = sums[0, j] / n_precision[j] if n_precision[j] else float("nan")
        best = (float(candidates[j]), float(mean_f1[j]), float(mean_p), float(sums[1, j] / len(with_gt)))
    mean_curve = curves[2, with_gt].mean(axis=0) if len(with_gt) else np.full(points, np.nan)
    return F1Curve(float(matches.iou_threshold), tuple(cats.tolist()), _name_map(names, cats), grid, curves[0],
                   curves[1], curves[2], mean_curve, *best, per_class[0], per_class[1])
