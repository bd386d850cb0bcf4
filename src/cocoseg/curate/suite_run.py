"""Evaluate a challenge suite: every slice by the engine, its metrics against their minimums.

A slice without GT (metric -1) or without images is reported as such and does not fail: there is
nothing to measure. A metric name the slice's evaluation does not produce is an error (the
size/area slices evaluate one area range, so they have ap, ap50, ap75, ar1, ar10, ar100 but no
ap_small).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.curate.suite import SliceSpec, slice_inputs
from cocoseg.errors import CocosegError
from cocoseg.eval.analysis._engine import run_evaluate
from cocoseg.eval.analysis._prepare import load_inputs

SHOWN = ("ap", "ap50", "ap75", "ar100")


@dataclass(frozen=True)
class SliceOutcome:
    """One slice's figures and its checks: {metric: (value, minimum, passed)}."""

    name: str
    description: str
    num_images: int
    num_gt: int
    metrics: dict[str, float]
    checks: dict[str, tuple[float, float, bool]]

    @property
    def passed(self) -> bool:
        """No check failed."""
        return all(ok for _, _, ok in self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "where": self.description, "num_images": self.num_images, "num_gt": self.num_gt,
                "metrics": self.metrics, "passed": self.passed,
                "checks": {k: {"value": v, "min": m, "passed": ok} for k, (v, m, ok) in self.checks.items()}}


@dataclass(frozen=True)
class SuiteReport:
    """All slices of a suite, in the file's order."""

    iou_type: str
    slices: tuple[SliceOutcome, ...]

    @property
    def passed(self) -> bool:
        """Every slice passed."""
        return all(s.passed for s in self.slices)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"iou_type": self.iou_type, "passed": self.passed, "slices": [s.to_dict() for s in self.slices]}

    def format(self) -> str:
        """A text table: figures of each slice, then each check as value >= min and PASS/FAIL."""
        lines = [f"{'slice':<22}{'images':>8}{'GT':>8}" + "".join(f"{m:>8}" for m in SHOWN) + "  checks"]
        for s in self.slices:
            cells = "".join(f"{s.metrics[m]:>8.3f}" if s.metrics.get(m, -1) >= 0 else f"{'-':>8}" for m in SHOWN)
            checks = "  ".join(f"{k} {_fmt(v)} >= {m:g} {'ok' if ok else 'FAIL'}" for k, (v, m, ok) in s.checks.items())
            lines.append(f"{s.name:<22}{s.num_images:>8}{s.num_gt:>8}{cells}  {checks}")
        failed = [s.name for s in self.slices if not s.passed]
        lines.append("suite passed" if not failed else f"suite FAILED: {', '.join(failed)}")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{v:.3f}" if v >= 0 else "n/a"


def evaluate_slice(gt: Any, dets: Any, iou_type: str, spec: SliceSpec, **options: Any) -> tuple[Any, Any]:
    """(SliceInputs, EvalResult or None when the slice has no image) of one slice."""
    inputs = slice_inputs(gt, spec)
    if not inputs.image_ids or not inputs.category_ids:
        return inputs, None
    return inputs, run_evaluate(inputs.gt, dets, iou_type, **inputs.options(), **options)


def run_suite(gt: Any, results: Any, iou_type: str, specs: Sequence[SliceSpec], **options: Any) -> SuiteReport:
    """Evaluate every slice of `specs` and check its minimums (see the module docstring)."""
    gt_ds, dets = load_inputs(gt, results, iou_type)
    out = []
    for spec in specs:
        inputs, result = evaluate_slice(gt_ds, dets, iou_type, spec, **options)
        metrics = result.metrics if result is not None else {}
        num_gt = 0 if result is None else int(np.count_nonzero(~np.asarray(result.state.gt_ignore[0])))
        checks = {}
        for name, minimum in spec.minimum.items():
            if result is not None and name not in metrics:
                raise CocosegError(f"slice {spec.name!r}: min: no metric {name!r} in this slice's evaluation; "
                                   f"metrics: {', '.join(metrics)}")
            value = metrics.get(name, -1.0)
            checks[name] = (value, minimum, value < 0 or value >= minimum)
        out.append(SliceOutcome(spec.name, inputs.description, len(inputs.image_ids), num_gt, metrics, checks))
    return SuiteReport(iou_type, tuple(out))


def gate(gt: Any, results: Any, iou_type: str, suite: str) -> int:
    """Print the suite's table; 0 when every slice passes, 1 otherwise (the CLI's exit code)."""
    from cocoseg.curate.suite import load_suite

    report = run_suite(gt, results, iou_type, load_suite(suite))
    print()
    print(report.format())
    return 0 if report.passed else 1
