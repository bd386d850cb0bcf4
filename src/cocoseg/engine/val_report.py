"""What validation tells the user: one line per epoch, and after the final validation a per-class table
(images, instances, P, R, mAP50, mAP50-95 for box and mask) and the analysis plots in the run folder.

The numbers come from the validator's COCO evaluations; the curves, F1 and confusion matrix from
`eval.analysis.analyze` (reusing those evaluations) and `viz.eval_plots.write_plots`.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.io import CocoDataset

LOGGER = logging.getLogger(__name__)


def epoch_line(epoch: int, epochs: int, metrics: Any) -> str:
    """`epoch 3/10 val: box mAP50-95 0.412 mAP50 0.611 | mask mAP50-95 0.380 mAP50 0.590`."""
    return (f"epoch {epoch + 1}/{epochs} val: box mAP50-95 {metrics.box_map:.3f} mAP50 {metrics.box_map50:.3f}"
            f" | mask mAP50-95 {metrics.mask_map:.3f} mAP50 {metrics.mask_map50:.3f}")


def class_table(gt: CocoDataset, box: Any, mask: Any, box_pr: dict[int, tuple[float, float]],
                mask_pr: dict[int, tuple[float, float]]) -> str:
    """The per-class table as text; the first row is `all` (the means, as the COCO summary)."""
    images, instances = _class_counts(gt)
    head = (f"{'class':>14} {'images':>7} {'instances':>9} | {'box P':>6} {'R':>6} {'mAP50':>6} {'mAP50-95':>8}"
            f" | {'mask P':>6} {'R':>6} {'mAP50':>6} {'mAP50-95':>8}")
    lines = [head, _row("all", len(gt.images), sum(instances.values()), _mean_pr(box_pr),
                        (box.metrics["ap50"], box.metrics["ap"]), _mean_pr(mask_pr),
                        (mask.metrics["ap50"], mask.metrics["ap"]))]
    masks_by_id = {r["category_id"]: r for r in mask.per_class}
    for r in box.per_class:
        cid, m = r["category_id"], masks_by_id.get(r["category_id"], {})
        lines.append(_row(str(r["name"])[:14], images.get(cid, 0), instances.get(cid, 0), box_pr.get(cid, (math.nan,) * 2),
                          (r["ap50"], r["ap"]), mask_pr.get(cid, (math.nan,) * 2), (m.get("ap50", -1), m.get("ap", -1))))
    return "\n".join(lines)


def write_final_report(gt: CocoDataset, records: Sequence[dict], box: Any, mask: Any, folder: Path | None) -> str:
    """Log the per-class table; with `folder`, write the PR, F1 and confusion plots of box and mask there
    (`folder/box/`, `folder/mask/`). Returns the table."""
    from cocoseg.eval.analysis.analyze import analyze

    analyses = {t: analyze(gt, list(records), t, errors=False, slices=False, result=r)
                for t, r in (("bbox", box), ("segm", mask))}
    table = class_table(gt, box, mask, _best_pr(analyses["bbox"].f1), _best_pr(analyses["segm"].f1))
    LOGGER.info("final validation (best.pt):\n%s", table)
    if folder is not None:
        try:
            from cocoseg.viz.eval_plots import write_plots

            for kind, name in (("bbox", "box"), ("segm", "mask")):
                write_plots(analyses[kind], folder / name)
        except (ImportError, OSError) as exc:  # a plot must never fail a finished run
            LOGGER.warning("validation plots not written: %s", exc)
    return table


def _best_pr(f1: Any) -> dict[int, tuple[float, float]]:
    """Per class: precision and recall at the confidence of the best mean F1 (as the reference's table)."""
    if math.isnan(f1.best_confidence):
        return {}
    i = int(np.argmin(np.abs(f1.confidence - f1.best_confidence)))
    return {int(c): (float(f1.precision[k, i]), float(f1.recall[k, i])) for k, c in enumerate(f1.category_ids)}


def _class_counts(gt: CocoDataset) -> tuple[dict[int, int], dict[int, int]]:
    images: dict[int, set] = {}
    instances: dict[int, int] = {}
    for a in gt.annotations:
        if a.get("iscrowd", 0):
            continue
        images.setdefault(a["category_id"], set()).add(a["image_id"])
        instances[a["category_id"]] = instances.get(a["category_id"], 0) + 1
    return {c: len(s) for c, s in images.items()}, instances


def _row(name: str, images: int, instances: int, box_pr: tuple, box_ap: tuple, mask_pr: tuple, mask_ap: tuple) -> str:
    f = lambda v: "     -" if v is None or (isinstance(v, float) and math.isnan(v)) or v < 0 else f"{v:6.3f}"  # noqa: E731
    return (f"{name:>14} {images:>7} {instances:>9} | {f(box_pr[0])} {f(box_pr[1])} {f(box_ap[0])} {f(box_ap[1]):>8}"
            f" | {f(mask_pr[0])} {f(mask_pr[1])} {f(mask_ap[0])} {f(mask_ap[1]):>8}")


def _mean_pr(pr: dict[int, tuple[float, float]]) -> tuple[float, float]:
    return _nanmean([v[0] for v in pr.values()]), _nanmean([v[1] for v in pr.values()])


def _nanmean(values: Sequence[float]) -> float:
    valid = [v for v in values if not math.isnan(v)]
    return float(np.mean(valid)) if valid else math.nan
