"""`analyze`: one call for the evaluation and everything users otherwise assemble from three tools.

The engine's evaluation (pycocotools-exact), then from it: PR curves per category and IoU
threshold, F1 against confidence with the best threshold, the confusion matrix with background
at that threshold, the TIDE error breakdown and the challenge slices. See
`cocoseg.eval.analysis` for each piece's definitions.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cocoseg.errors import CocosegError
from cocoseg.eval.analysis._engine import run_evaluate
from cocoseg.eval.analysis._prepare import IOU_TYPES, instances_from_result, load_inputs
from cocoseg.eval.analysis.confusion import ConfusionMatrix, confusion_from_instances
from cocoseg.eval.analysis.curves import F1Curve, PRCurves, f1_curve, pr_curves
from cocoseg.eval.analysis.errors import ErrorBreakdown, error_breakdown_from_result
from cocoseg.eval.analysis.matching import matches_from_result
from cocoseg.eval.analysis.slices import SliceReport, evaluate_slices


@dataclass(frozen=True)
class Analysis:
    """The evaluation and its analyses; `confusion` and `errors` are None for keypoints."""

    result: Any
    pr: PRCurves
    f1: F1Curve
    confusion: ConfusionMatrix | None
    errors: ErrorBreakdown | None
    slices: SliceReport | None

    @property
    def iou_type(self) -> str:
        """bbox, segm or keypoints."""
        return str(self.result.params.iou_type)

    def to_dict(self, include_evaluation: bool = True) -> dict[str, Any]:
        """JSON-ready: the evaluation (stats, per_class, params; optional) and every analysis."""
        out = {"evaluation": self.result.to_dict()} if include_evaluation else {}
        out.update({"pr_curves": self.pr.to_dict(), "f1": self.f1.to_dict(),
                    "confusion": None if self.confusion is None else self.confusion.to_dict(),
                    "errors": None if self.errors is None else self.errors.to_dict(),
                    "slices": None if self.slices is None else self.slices.to_dict()})
        return out

    def format(self, top_confusions: int = 10) -> str:
        """The analyses as text (the summary and per-class table are `result.summary()` / `per_class_table()`)."""
        parts = [_format_f1(self.f1, "OKS" if self.iou_type == "keypoints" else "IoU")]
        if self.confusion is not None:
            parts.append(_format_confusion(self.confusion, top_confusions))
        if self.errors is not None:
            parts.append(self.errors.format())
        if self.slices is not None:
            parts.append(f"Challenge slices ({self.iou_type})\n{self.slices.format()}")
        return "\n\n".join(parts)


def _format_f1(f1: F1Curve, overlap: str) -> str:
    if math.isnan(f1.best_f1):
        return f"F1 ({overlap} {f1.iou_threshold:.2f}): no detections or no GT"
    return (f"F1 ({overlap} {f1.iou_threshold:.2f}, mean over categories): best {f1.best_f1:.3f} at confidence >= "
            f"{f1.best_confidence:.4g} (precision {f1.best_precision:.3f}, recall {f1.best_recall:.3f})")


def _format_confusion(cm: ConfusionMatrix, top: int) -> str:
    t = cm.totals()
    lines = [f"Confusion (IoU {cm.iou_threshold:.2f}, confidence >= {cm.confidence:.4g}): {t['matched']} matched, "
             f"{t['confused']} confused, {t['false_positives']} false positives, {t['missed']} missed"]
    for true, pred, n in cm.top_confusions(top):
        what = "missed" if pred == "background" else "false positive" if true == "background" else "confused"
        lines.append(f"  {true:>20} -> {pred:<20} {n:>6}  ({what})")
    return "\n".join(lines)


def _check_reusable(result: Any, iou_type: str, num_results: int) -> None:
    state = result.state
    if result.params.iou_type != iou_type or not result.params.use_cats:
        raise CocosegError(f"the given result is a {result.params.iou_type} evaluation"
                           f"{'' if result.params.use_cats else ' with pooled categories'}; analyze needs "
                           f"a {iou_type} evaluation with categories used")
    if len(state.dt_index) and int(state.dt_index.max()) >= num_results:
        raise CocosegError("the given result was computed from other detections than `results`")


def analyze(
    gt: Any,
    results: Any,
    iou_type: str = "bbox",
    *,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    iou_threshold: float = 0.5,
    confidence: float | None = None,
    bg_threshold: float = 0.1,
    errors: bool = True,
    slices: bool = True,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    occlusion_threshold: float = 0.3,
    occlusion_by: str = "box",
    crowded_min: int = 10,
    result: Any = None,
) -> Analysis:
    """Evaluate `results` against `gt` and analyze them (COCO's default parameters, categories used).

    Args:
        gt, results: paths, a CocoDataset / dict, or loaded results (as `cocoseg.eval.evaluate`).
        iou_threshold: for the F1 curve, the confusion matrix and TIDE's foreground threshold.
        confidence: the confusion matrix's score cut; None uses the best-F1 threshold.
        bg_threshold: TIDE's background IoU threshold.
        errors, slices: compute the TIDE breakdown / the challenge slices (each runs the engine again).
        area_ranges, occlusion_threshold, occlusion_by, crowded_min: see `evaluate_slices`.
        result: the `evaluate(gt, results, iou_type, ...)` result of these same inputs, reused
            instead of evaluating again (the CLI has one already); categories must be used.
    """
    gt_ds, dets = load_inputs(gt, results, iou_type)
    if result is None:
        result = run_evaluate(gt_ds, dets, iou_type, image_ids=image_ids, category_ids=category_ids)
    else:
        _check_reusable(result, iou_type, len(dets))
    names = {row["category_id"]: str(row["name"]) for row in result.per_class}
    matches = matches_from_result(result, iou_threshold)
    f1 = f1_curve(matches, names)
    confusion = breakdown = None
    if iou_type in IOU_TYPES:
        cut = confidence if confidence is not None else (0.0 if math.isnan(f1.best_confidence) else f1.best_confidence)
        confusion = confusion_from_instances(instances_from_result(gt_ds, dets, result), matches, cut)
        if errors:
            breakdown = error_breakdown_from_result(gt_ds, dets, result, pos_threshold=iou_threshold,
                                                    bg_threshold=bg_threshold)
    report = None
    if slices:
        report = evaluate_slices(gt_ds, dets, iou_type, area_ranges=area_ranges, occlusion_threshold=occlusion_threshold,
                                 occlusion_by=occlusion_by, crowded_min=crowded_min, image_ids=image_ids,
                                 category_ids=category_ids)
    return Analysis(result, pr_curves(result, names), f1, confusion, breakdown, report)
