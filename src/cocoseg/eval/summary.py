"""Summary metrics from the precision/recall arrays: pycocotools' 12 (10 for keypoints) and beyond.

pycocotools' `summarize` hard-codes maxDets=100 for the headline AP (20 for keypoints) and reads
maxDets[2] for the rest, so custom `maxDets` silently give -1 or an IndexError (cocoapi #558).
Here every line names the setting it uses: AP lines use the largest max_dets, there is one AR
line per max_dets value, and one AP and AR line per area range after the first ("all"). With
the default parameters the lines and values are exactly pycocotools'. `pycocotools_compat=True`
reproduces pycocotools' own choices for any parameters (including its -1s).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.params import EvalParams

_LINE = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"


@dataclass(frozen=True)
class SummaryItem:
    """One summary line: AP or AR at an IoU threshold (None: mean over all), area label, max_dets."""

    name: str
    ap: bool
    iou: float | None
    area: str
    max_dets: int


def mean_valid(precision: np.ndarray, recall: np.ndarray, params: EvalParams, item: SummaryItem) -> float:
    """pycocotools' `_summarize`: mean of the entries > -1 of the selected slice, -1 when none."""
    aind = [i for i, label in enumerate(params.area_labels) if label == item.area]
    mind = [i for i, m in enumerate(params.max_dets) if m == item.max_dets]
    s = precision if item.ap else recall
    if item.iou is not None:
        s = s[np.where(item.iou == np.asarray(params.iou_thresholds))[0]]
    s = s[:, :, :, aind, mind] if item.ap else s[:, :, aind, mind]
    valid = s[s > -1]
    return -1.0 if len(valid) == 0 else float(np.mean(valid))


def summary_items(params: EvalParams, pycocotools_compat: bool = False) -> list[SummaryItem]:
    """The summary lines for these parameters (pycocotools' 12 / 10 with its defaults)."""
    if pycocotools_compat:
        return _legacy_items(params)
    top = params.max_dets[-1]
    areas = params.area_labels[1:]
    kp = params.iou_type == "keypoints"
    items = [SummaryItem("ap", True, None, params.area_labels[0], top),
             SummaryItem("ap50", True, 0.5, params.area_labels[0], top),
             SummaryItem("ap75", True, 0.75, params.area_labels[0], top)]
    items += [SummaryItem(f"ap_{a}", True, None, a, top) for a in areas]
    if kp:
        items += [SummaryItem("ar", False, None, params.area_labels[0], top),
                  SummaryItem("ar50", False, 0.5, params.area_labels[0], top),
                  SummaryItem("ar75", False, 0.75, params.area_labels[0], top)]
    else:
        items += [SummaryItem(f"ar{m}", False, None, params.area_labels[0], m) for m in params.max_dets]
    items += [SummaryItem(f"ar_{a}", False, None, a, top) for a in areas]
    return items


def _legacy_items(params: EvalParams) -> list[SummaryItem]:
    """pycocotools' `_summarizeDets` / `_summarizeKps` choices, verbatim."""
    if params.iou_type == "keypoints":
        return [SummaryItem("ap", True, None, "all", 20), SummaryItem("ap50", True, .5, "all", 20),
                SummaryItem("ap75", True, .75, "all", 20), SummaryItem("ap_medium", True, None, "medium", 20),
                SummaryItem("ap_large", True, None, "large", 20), SummaryItem("ar", False, None, "all", 20),
                SummaryItem("ar50", False, .5, "all", 20), SummaryItem("ar75", False, .75, "all", 20),
                SummaryItem("ar_medium", False, None, "medium", 20), SummaryItem("ar_large", False, None, "large", 20)]
    md = params.max_dets
    if len(md) < 3:
        raise CocosegError(f"pycocotools' summary reads maxDets[2], but max_dets is {list(md)} "
                           "(pycocotools raises IndexError); use pycocotools_compat=False")
    return [SummaryItem("ap", True, None, "all", 100), SummaryItem("ap50", True, .5, "all", md[2]),
            SummaryItem("ap75", True, .75, "all", md[2]), SummaryItem("ap_small", True, None, "small", md[2]),
            SummaryItem("ap_medium", True, None, "medium", md[2]), SummaryItem("ap_large", True, None, "large", md[2]),
            SummaryItem(f"ar{md[0]}", False, None, "all", md[0]), SummaryItem(f"ar{md[1]}", False, None, "all", md[1]),
            SummaryItem(f"ar{md[2]}", False, None, "all", md[2]), SummaryItem("ar_small", False, None, "small", md[2]),
            SummaryItem("ar_medium", False, None, "medium", md[2]), SummaryItem("ar_large", False, None, "large", md[2])]


def summary_line(params: EvalParams, item: SummaryItem, value: float) -> str:
    """pycocotools' printed line for one statistic."""
    thr = params.iou_thresholds
    iou = f"{thr[0]:0.2f}:{thr[-1]:0.2f}" if item.iou is None else f"{item.iou:0.2f}"
    title, kind = ("Average Precision", "(AP)") if item.ap else ("Average Recall", "(AR)")
    return _LINE.format(title, kind, iou, item.area, item.max_dets, value)


def per_class_rows(precision: np.ndarray, recall: np.ndarray, params: EvalParams, names: dict[int, str],
                   num_gt: np.ndarray, num_dt: np.ndarray) -> list[dict]:
    """One dict per category: AP, AP50, AP75, AP per area range, AR at max_dets[-1], counts.

    Values are -1 where the category has no GT that is not ignored (as pycocotools' arrays).
    With pooled categories (use_cats=False) there is a single row with category_id -1.
    """
    cats = list(params.category_ids) if params.use_cats else [-1]
    thr = np.asarray(params.iou_thresholds)
    rows = []
    for k, cid in enumerate(cats):
        p = precision[:, :, k, :, -1]  # (T, R, A) at max_dets[-1]
        r = recall[:, k, :, -1]  # (T, A)
        row: dict = {"category_id": int(cid), "name": names.get(cid, "all" if cid == -1 else str(cid)),
                     "ap": _mean(p[:, :, 0])}
        for label, t in (("ap50", 0.5), ("ap75", 0.75)):
            row[label] = _mean(p[thr == t, :, 0])
        for a, label in enumerate(params.area_labels[1:], start=1):
            row[f"ap_{label}"] = _mean(p[:, :, a])
        row[f"ar{params.max_dets[-1]}"] = _mean(r[:, 0])
        row["num_gt"] = int(num_gt[k])
        row["num_dt"] = int(num_dt[k])
        rows.append(row)
    return rows


def _mean(s: np.ndarray) -> float:
    valid = s[s > -1]
    return -1.0 if len(valid) == 0 else float(np.mean(valid))
