"""Analysis on top of the exact evaluator: PR and F1 curves, confusion matrix, TIDE errors, slices.

Everything is computed from the engine's result (its arrays and per-detection matches) or by
running the engine again on edited inputs; nothing re-implements COCO matching.
"""
from cocoseg.eval.analysis.confusion import ConfusionMatrix, confusion_from_instances, confusion_matrix
from cocoseg.eval.analysis.curves import F1Curve, PRCurves, f1_curve, pr_curves
from cocoseg.eval.analysis.errors import (
    ERROR_TYPES,
    ErrorBreakdown,
    error_breakdown,
    error_breakdown_from_result,
)
from cocoseg.eval.analysis.matching import Matches, matches_from_result
from cocoseg.eval.analysis.slices import SliceReport, SliceResult, evaluate_slices, occlusion_iou

__all__ = [
    "ERROR_TYPES", "ConfusionMatrix", "ErrorBreakdown", "F1Curve", "Matches", "PRCurves", "SliceReport", "SliceResult",
    "confusion_from_instances", "confusion_matrix", "error_breakdown", "error_breakdown_from_result",
    "evaluate_slices", "f1_curve", "matches_from_result", "occlusion_iou", "pr_curves",
]
