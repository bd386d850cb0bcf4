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

    @property
    def metrics(self) -> dict[str, float]:
        """{name: value} of the summary, e.g. ap, ap50, ap75, ap_small, ..., ar1, ar10, ar100, ..."""
        return {item.name: float(v) for item, v in zip(self.items, self.stats)}

    def __getattr__(self, name: str) -> Any:
        # ap, ap50, ap_small, ar100, ... resolve through the summary items
        if name.startswith(("ap", "ar")) and "items" in self.__dict__:
            for item, value in zip(self.__dict__["items"], self.__dict__["stats"]):
                if item.name == name:
                    return float(value)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}"
                             + (f"; metrics: {', '.join(self.metrics)}" if "items" in self.__dict__ else ""))

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
