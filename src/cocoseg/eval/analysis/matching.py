"""The engine's per-detection matches at one IoU threshold, for the analyses.

The summary arrays say how good a detector is; the matches say which detections were right,
which is what F1-vs-confidence, the confusion matrix and the TIDE errors need. They are read from
the engine's `EvalState` (pycocotools' greedy matching, exact), never recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cocoseg.eval.analysis._engine import threshold_index

ALL_CATEGORIES = -1  # the category id of pooled matches (use_cats=False), as pycocotools' catIds [-1]


@dataclass(frozen=True)
class Matches:
    """Outcome of every evaluated detection at one IoU threshold, in the first area range ('all').

    Arrays are (D,), aligned with the engine state's detection rows (maxDets cut applied).
    `gt_match` is the matched GT row of the state (-1: none); `ignored` marks detections matched to
    an ignore region (crowd), which are neither TP nor FP. `gt_count` (K,) is the number of
    non-ignored GT of each of `category_ids` (one pooled entry -1 when use_cats=False).
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

    # cached: the analyses slice these per image, and recomputing (D,) arrays per image is quadratic
    @cached_property
    def tp(self) -> np.ndarray:
        """(D,) bool: matched to a regular GT."""
        return (self.gt_match >= 0) & ~self.ignored

    @cached_property
    def fp(self) -> np.ndarray:
        """(D,) bool: matched nothing and not ignored."""
        return (self.gt_match < 0) & ~self.ignored


def matches_from_result(result: Any, iou_threshold: float = 0.5) -> Matches:
    """Matches at `iou_threshold` (one of the evaluated thresholds) from an `EvalResult`."""
    state, params = result.state, result.params
    t = threshold_index(result, iou_threshold)
    regular = ~np.asarray(state.gt_ignore[0], dtype=bool)
    n_dt = len(state.dt_score)
    if params.use_cats:
        cats = np.asarray(params.category_ids, dtype=np.int64)
        category = np.asarray(state.dt_category_id, dtype=np.int64)
        gt_cat = np.asarray(state.gt_category_id, dtype=np.int64)
        counts = np.array([np.count_nonzero(regular & (gt_cat == c)) for c in cats.tolist()], dtype=np.int64)
    else:
        cats = np.array([ALL_CATEGORIES], dtype=np.int64)
        category = np.full(n_dt, ALL_CATEGORIES, dtype=np.int64)
        counts = np.array([np.count_nonzero(regular)], dtype=np.int64)
    return Matches(float(params.iou_thresholds[t]), cats, counts.reshape(len(cats)),
                   np.asarray(state.dt_image_id, dtype=np.int64), category,
                   np.asarray(state.dt_score, dtype=np.float64), np.asarray(state.dt_index, dtype=np.int64),
                   state.dt_gt_at(0)[t].astype(np.int64), state.dt_ignore_at(0)[t])
