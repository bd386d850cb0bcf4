"""Confusion matrix with a background row and column, at one IoU threshold and confidence.

Matching is done in two passes per image so that the diagonal is exactly what COCO counts as a
true positive and the off-diagonal shows confusions instead of hiding them:

1. class-aware, pycocotools' greedy matching (score order, highest IoU, crowd regions ignored):
   each match adds one to cell [c, c];
2. class-agnostic, for the detections still unmatched (score order across categories): each
   takes the still-unmatched regular GT of highest IoU >= the threshold, whatever its category,
   adding one to cell [gt category, predicted category].

A detection left unmatched adds to [background, predicted] (a false positive: background taken
for an object, duplicates included); a regular GT left unmatched adds to [true, background] (a
missed object). Detections inside a crowd region of their own category are ignored, as COCO does;
crowd GT are never counted as missed. Rows and columns are labelled by COCO category id (never by
array position) and the matrix does not depend on `use_cats`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.eval.analysis._engine import ALL_RANGE, run_evaluate
from cocoseg.eval.analysis._prepare import Instances, check_iou_type, instances_from_result, load_inputs
from cocoseg.eval.analysis.matching import Matches, matches_from_result

BACKGROUND = "background"


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts `matrix[true, predicted]`, (K + 1, K + 1) int64; index K is background.

    Row K counts detections that matched no GT (false positives); column K counts GT that no
    detection matched (missed). `category_ids[i]` / `names[i]` label row and column i.
    """

    matrix: np.ndarray
    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    iou_threshold: float
    confidence: float
    ignored: int

    @property
    def labels(self) -> tuple[str, ...]:
        """Row/column names: the category names, then 'background'."""
        return (*self.names, BACKGROUND)

    def normalized(self) -> np.ndarray:
        """Each row divided by its sum (rows with no entry stay 0): the share of each true class."""
        sums = self.matrix.sum(axis=1, keepdims=True)
        return np.divide(self.matrix, sums, out=np.zeros(self.matrix.shape), where=sums > 0)

    def top_confusions(self, n: int = 10) -> list[tuple[str, str, int]]:
        """The `n` largest off-diagonal cells as (true, predicted, count), background included."""
        off = self.matrix.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(-off, axis=None, kind="stable")[:n]
        rows, cols = np.unravel_index(order, off.shape)
        labels = self.labels
        return [(labels[r], labels[c], int(off[r, c])) for r, c in zip(rows.tolist(), cols.tolist()) if off[r, c] > 0]

    def totals(self) -> dict[str, int]:
        """Matched (diagonal), confused (off-diagonal between categories), false positives, missed."""
        k = len(self.category_ids)
        inner = self.matrix[:k, :k]
        matched = int(np.trace(inner))
        return {"matched": matched, "confused": int(inner.sum()) - matched,
                "false_positives": int(self.matrix[k].sum()), "missed": int(self.matrix[:, k].sum())}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `matrix` rows are true categories, columns predicted."""
        return {"iou_threshold": self.iou_threshold, "confidence": self.confidence,
                "category_ids": list(self.category_ids), "names": list(self.names),
                "layout": "matrix[true][predicted]; the last row/column is background",
                "matrix": self.matrix.tolist(), "ignored_detections": self.ignored, **self.totals()}


def confusion_from_instances(inst: Instances, matches: Matches, confidence: float = 0.25) -> ConfusionMatrix:
    """Confusion matrix of an evaluation's rows and class-aware matches (see the module docstring)."""
    cats = inst.category_ids.tolist()
    label = {c: i for i, c in enumerate(cats)}
    matrix = np.zeros((len(cats) + 1, len(cats) + 1), dtype=np.int64)
    to_label = np.vectorize(label.__getitem__, otypes=[np.int64])
    ignored = 0
    for _, gt, dt in inst.images():
        keep = inst.dt_score[dt] >= confidence
        ignored += int(np.count_nonzero(keep & matches.ignored[dt]))
        dt_label = to_label(inst.dt_category[dt]) if dt.stop > dt.start else np.zeros(0, np.int64)
        gt_label = to_label(inst.gt_category[gt]) if gt.stop > gt.start else np.zeros(0, np.int64)
        # pass 1: greedy matching is in score order, so the matches of the detections kept at
        # this confidence are the evaluation's own
        tp = keep & matches.tp[dt]
        np.add.at(matrix, (dt_label[tp], dt_label[tp]), 1)
        free = ~inst.gt_ignore[gt]
        free[matches.gt_match[dt][tp] - gt.start] = False
        rest = np.flatnonzero(keep & matches.fp[dt])
        rest = rest[np.argsort(-inst.dt_score[dt][rest], kind="mergesort")]
        _second_pass(matrix, inst.ious(gt, dt, rest), dt_label[rest], gt_label, free, matches.iou_threshold)
        np.add.at(matrix, (gt_label[free], len(cats)), 1)
    names = tuple(inst.names[c] for c in cats)
    return ConfusionMatrix(matrix, tuple(cats), names, matches.iou_threshold, float(confidence), ignored)


def _second_pass(matrix: np.ndarray, ious: np.ndarray, dt_label: np.ndarray, gt_label: np.ndarray,
                 free: np.ndarray, threshold: float) -> None:
    """Class-agnostic greedy matching of unmatched detections (score order) to free GT; updates `free`."""
    background = matrix.shape[0] - 1
    thr = min(threshold, 1 - 1e-10)  # pycocotools' cap, so IoU 1 still matches at threshold 1
    for d in range(len(dt_label)):
        cand = np.flatnonzero(free & (ious[d] >= thr))
        if len(cand) == 0:
            matrix[background, dt_label[d]] += 1
            continue
        g = int(cand[np.argmax(ious[d, cand])])
        matrix[gt_label[g], dt_label[d]] += 1
        free[g] = False


def confusion_matrix(
    gt: Any,
    results: Any,
    iou_type: str,
    *,
    iou_threshold: float = 0.5,
    confidence: float = 0.25,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    max_dets: int = 100,
) -> ConfusionMatrix:
    """Confusion matrix of `results` against `gt` (paths, a CocoDataset, or loaded results).

    Detections below `confidence` are left out (0.25 is Ultralytics' default for this plot);
    `max_dets` per image and category as in COCO evaluation. One engine run at `iou_threshold`.
    """
    check_iou_type(iou_type)
    gt_ds, dets = load_inputs(gt, results, iou_type)
    result = run_evaluate(gt_ds, dets, iou_type, image_ids=image_ids, category_ids=category_ids,
                          max_dets=(max_dets,), iou_thresholds=(iou_threshold,), area_ranges=[ALL_RANGE])
    return confusion_from_instances(instances_from_result(gt_ds, dets, result),
                                    matches_from_result(result, iou_threshold), confidence)
