"""Analysis on top of the exact evaluator: PR and F1 curves, confusion matrix, TIDE errors, slices."""
from cocoseg.eval.analysis.confusion import ConfusionMatrix, confusion_matrix
from cocoseg.eval.analysis.curves import F1Curve, PRCurves, f1_curve, pr_curves
from cocoseg.eval.analysis.errors import ERROR_TYPES, ErrorBreakdown, error_breakdown
from cocoseg.eval.analysis.matching import Matches, matches_from_result

__all__ = [
    "ERROR_TYPES", "ConfusionMatrix", "ErrorBreakdown", "F1Curve", "Matches", "PRCurves", "confusion_matrix",
    "error_breakdown", "f1_curve", "matches_from_result", "pr_curves",
]
