"""The analyses' one door to the evaluation engine, and readings of its arrays."""
from __future__ import annotations

from typing import Any

import numpy as np

from cocoseg.errors import CocosegError

ALL_RANGE = ("all", 0.0, 1e10)  # pycocotools' 'all' area range


def run_evaluate(gt: Any, results: Any, iou_type: str, **options: Any) -> Any:
    """The engine's `evaluate` (imported when called, so this subpackage loads without it)."""
    from cocoseg.eval.evaluator import evaluate

    return evaluate(gt, results, iou_type, **options)


def threshold_index(result: Any, iou_threshold: float) -> int:
    """Index of `iou_threshold` among the result's IoU thresholds; CocosegError when absent."""
    thresholds = np.asarray(result.params.iou_thresholds, dtype=np.float64)
    hit = np.flatnonzero(np.isclose(thresholds, iou_threshold, rtol=0, atol=1e-9))
    if len(hit) == 0:
        raise CocosegError(f"IoU threshold {iou_threshold:g} is not one of the evaluated thresholds "
                           f"{[round(t, 2) for t in thresholds.tolist()]}")
    return int(hit[0])


def mean_precision(result: Any, iou_threshold: float | None = None, area_index: int = 0, max_det_index: int = -1) -> float:
    """AP as pycocotools' summarize computes it: the mean of precision entries > -1 (-1 if none).

    `iou_threshold=None` averages over all thresholds (the headline AP); otherwise AP at that IoU.
    """
    precision = np.asarray(result.precision)[..., area_index, max_det_index]
    if iou_threshold is not None:
        precision = precision[threshold_index(result, iou_threshold)]
    valid = precision > -1
    return float(precision[valid].mean()) if valid.any() else -1.0


def mean_recall(result: Any, area_index: int = 0, max_det_index: int = -1) -> float:
    """AR as pycocotools' summarize computes it: the mean of recall entries > -1 over IoU thresholds."""
    recall = np.asarray(result.recall)[..., area_index, max_det_index]
    valid = recall > -1
    return float(recall[valid].mean()) if valid.any() else -1.0
