"""pycocotools' greedy matching at one IoU threshold, kept per detection for the analyses.

The summary arrays say how good a detector is; the per-detection matches say which detections
were right, which is what F1-vs-confidence, the confusion matrix and the TIDE errors need.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg.eval.analysis._prepare import Instances


@dataclass(frozen=True)
class Matches:
    """Outcome of every kept detection at one IoU threshold (maxDets and the 'all' area range).

    Arrays are (D,) in evaluation order (images ascending, then category, then score), aligned
    with `Instances.dt_*`. `gt_match` is the matched GT's position in `Instances.gt_*` (-1: none);
    `ignored` marks detections matched to an ignore region (crowd), which are neither TP nor FP.
    `gt_count` (K,) is the number of non-ignored GT of each of `category_ids`.
    """

    iou_threshold: float
    category_ids: np.ndarray
    gt_count: np.ndarray
    image_id: np.ndarray
    category_id: np.ndarray
    score: np.ndarray
    det_index: np.ndarray
    gt_match: np.ndarray
    ignored: np.ndarray

    @property
    def tp(self) -> np.ndarray:
        """(D,) bool: matched to a regular GT."""
        return (self.gt_match >= 0) & ~self.ignored

    @property
    def fp(self) -> np.ndarray:
        """(D,) bool: matched nothing and not inside an ignore region."""
        return (self.gt_match < 0) & ~self.ignored


def greedy_match(ious: np.ndarray, gt_crowd: np.ndarray, gt_ignore: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Match score-ordered detections to GT of one (image, category) as `COCOeval.evaluateImg` does.

    ious: (D, G) with detections in score order and GT with the ignored ones last. Each detection
    takes the unmatched GT of highest IoU >= threshold (ties: the later GT, as pycocotools'
    `<` comparison keeps it); ignore regions are reached only when no regular GT qualifies, and a
    crowd region can absorb any number of detections. Returns (gt position or -1, ignored) per detection.
    """
    n_dt, n_gt = ious.shape
    match = np.full(n_dt, -1, dtype=np.int64)
    ignored = np.zeros(n_dt, dtype=bool)
    taken = np.zeros(n_gt, dtype=bool)
    thr = min(threshold, 1 - 1e-10)
    for d in range(n_dt):
        ok = (ious[d] >= thr) & (~taken | gt_crowd)
        cand = np.flatnonzero(ok & ~gt_ignore)
        if len(cand) == 0:
            cand = np.flatnonzero(ok & gt_ignore)
        if len(cand) == 0:
            continue
        vals = ious[d, cand]
        m = int(cand[len(cand) - 1 - int(np.argmax(vals[::-1]))])
        match[d], ignored[d] = m, bool(gt_ignore[m])
        taken[m] = True
    return match, ignored


def match_image(ious: np.ndarray, dt_category: np.ndarray, gt_category: np.ndarray, gt_crowd: np.ndarray,
                gt_ignore: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Class-aware matching of one image's detections (score order within a category) to its GT.

    Returns (GT position within the image or -1, ignored) per detection.
    """
    match = np.full(len(dt_category), -1, dtype=np.int64)
    ignored = np.zeros(len(dt_category), dtype=bool)
    for key in np.unique(dt_category).tolist():
        d_sel = np.flatnonzero(dt_category == key)
        g_sel = np.flatnonzero(gt_category == key)
        if len(g_sel) == 0:
            continue
        g_sel = g_sel[np.argsort(gt_ignore[g_sel], kind="mergesort")]  # pycocotools puts ignored GT last
        m, ign = greedy_match(ious[np.ix_(d_sel, g_sel)], gt_crowd[g_sel], gt_ignore[g_sel], threshold)
        match[d_sel] = np.where(m >= 0, g_sel[np.maximum(m, 0)], -1)
        ignored[d_sel] = ign
    return match, ignored


def match_detections(inst: Instances, iou_threshold: float = 0.5, use_cats: bool = True) -> Matches:
    """Match every image's detections at `iou_threshold` (class-aware unless `use_cats=False`)."""
    gt_match = np.full(len(inst.dt_index), -1, dtype=np.int64)
    ignored = np.zeros(len(inst.dt_index), dtype=bool)
    for _, gt, dt in inst.images():
        if dt.stop == dt.start:
            continue
        dt_key = inst.dt_category[dt] if use_cats else np.zeros(dt.stop - dt.start, dtype=np.int64)
        gt_key = inst.gt_category[gt] if use_cats else np.zeros(gt.stop - gt.start, dtype=np.int64)
        m, ign = match_image(inst.ious(gt, dt), dt_key, gt_key, inst.gt_crowd[gt], inst.gt_ignore[gt], iou_threshold)
        gt_match[dt] = np.where(m >= 0, m + gt.start, -1)
        ignored[dt] = ign
    cats = inst.category_ids if use_cats else np.array([-1], dtype=np.int64)
    regular = ~inst.gt_ignore
    counts = (np.array([np.count_nonzero(regular & (inst.gt_category == c)) for c in cats.tolist()])
              if use_cats else np.array([np.count_nonzero(regular)]))
    category = inst.dt_category if use_cats else np.full(len(inst.dt_index), -1, dtype=np.int64)
    return Matches(float(iou_threshold), cats, counts.astype(np.int64), inst.dt_image, category, inst.dt_score,
                   inst.dt_index, gt_match, ignored)
