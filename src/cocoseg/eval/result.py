"""The result of an evaluation: named metrics, pycocotools' arrays, the per-class table, the state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg.eval.params import EvalParams
from cocoseg.eval.state import EvalState
from cocoseg.eval.summary import SummaryItem, summary_line


@dataclass
class EvalResult:
    """Metrics of one evaluation.

    Attributes:
        params: the resolved parameters.
        items: the summary lines (name, AP/AR, IoU, area, max_dets), in order.
        stats: (S,) float64, one value per item; pycocotools' `stats` with default parameters.
        precision: (T, R, K, A, M) float64, -1 where a category has no GT (pycocotools' layout).
        recall: (T, K, A, M) float64; scores: (T, R, K, A, M) float64.
        per_class: one dict per category (category_id, name, ap, ap50, ap75, ap_<area>,
            ar<max_dets>, num_gt, num_dt).
        state: the per-image matching results the arrays were accumulated from.
    """

    params: EvalParams
    items: list[SummaryItem]
    stats: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    per_class: list[dict]
    state: EvalState
    notes: list[str] = field(default_factory=list)

    def metric(self, name: str) -> float:
        """One summary value by name (see `metrics`); KeyError naming the available ones."""
        for item, value in zip(self.items, self.stats):
            if item.name == name:
                return float(value)
        raise KeyError(f"no metric {name!r} in this {self.params.iou_type} summary; metrics: {', '.join(self.metrics)}")

    def _named(self, name: str) -> float:
        try:
            return self.metric(name)
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    ap = property(lambda self: self._named("ap"), doc="AP @[.50:.95], all areas, max_dets[-1]")
    ap50 = property(lambda self: self._named("ap50"), doc="AP @.50")
    ap75 = property(lambda self: self._named("ap75"), doc="AP @.75")
    ap_small = property(lambda self: self._named("ap_small"), doc="AP, small objects (detection defaults)")
    ap_medium = property(lambda self: self._named("ap_medium"), doc="AP, medium objects")
    ap_large = property(lambda self: self._named("ap_large"), doc="AP, large objects")
    ar1 = property(lambda self: self._named("ar1"), doc="AR with 1 detection per image")
    ar10 = property(lambda self: self._named("ar10"), doc="AR with 10 detections per image")
    ar100 = property(lambda self: self._named("ar100"), doc="AR with 100 detections per image")
    ar_small = property(lambda self: self._named("ar_small"), doc="AR, small objects")
    ar_medium = property(lambda self: self._named("ar_medium"), doc="AR, medium objects")
    ar_large = property(lambda self: self._named("ar_large"), doc="AR, large objects")
    ar = property(lambda self: self._named("ar"), doc="AR @[.50:.95] (keypoints)")
    ar50 = property(lambda self: self._named("ar50"), doc="AR @.50 (keypoints)")
    ar75 = property(lambda self: self._named("ar75"), doc="AR @.75 (keypoints)")

    @property
    def metrics(self) -> dict[str, float]:
        """{name: value} of the summary, e.g. ap, ap50, ap75, ap_small, ..., ar1, ar10, ar100, ..."""
        return {item.name: float(v) for item, v in zip(self.items, self.stats)}

    def __getattr__(self, name: str) -> Any:
        # other summary names (ar5, ap_tiny ... with custom max_dets / area ranges)
        if name.startswith(("ap", "ar")) and "items" in self.__dict__:
            try:
                return self.metric(name)
            except KeyError as exc:
                raise AttributeError(str(exc)) from None
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def summary(self) -> str:
        """pycocotools' printed summary (one line per statistic)."""
        return "\n".join(summary_line(self.params, item, v) for item, v in zip(self.items, self.stats))

    def per_class_table(self, digits: int = 3) -> str:
        """The per-class table as aligned text."""
        if not self.per_class:
            return ""
        keys = [k for k in self.per_class[0] if k not in ("category_id", "name")]
        width = max(8, *(len(str(r["name"])) for r in self.per_class))
        head = f"{'id':>5} {'name':<{width}} " + " ".join(f"{k:>9}" for k in keys)
        lines = [head]
        for r in self.per_class:
            cells = [f"{r[k]:>9d}" if isinstance(r[k], int) else f"{r[k]:>9.{digits}f}" for k in keys]
            lines.append(f"{r['category_id']:>5} {str(r['name']):<{width}} " + " ".join(cells))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-friendly: stats (list, summary order), metrics by name, per_class, params."""
        return {"iou_type": self.params.iou_type, "stats": [float(v) for v in self.stats], "metrics": self.metrics,
                "per_class": self.per_class, "params": self.params.to_dict(),
                "num_images": int(len(self.state.image_ids)), "num_detections": int(self.state.num_dt),
                "num_gt": int(self.state.num_gt), "notes": list(self.notes)}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in list(self.metrics.items())[:3])
        return f"EvalResult({self.params.iou_type}: {shown}, ...)"
