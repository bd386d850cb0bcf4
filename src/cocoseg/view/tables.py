"""The viewer's numbers as per-image, per-annotation and per-detection numpy arrays, built once.

GT rows are the dataset's annotations in file order; detection rows are the evaluator's state
rows (those kept after the maxDets cut), so every outcome is the evaluator's own (the numbers of
`cocoseg eval`). Filtering and sorting (`cocoseg.view.query`) only read these arrays.

Per-image figures at IoU threshold t (class-aware matches of the evaluation, area range 'all'):
TP, FP (ignored detections count as neither), FN (regular GT nothing matched), F1 = 2TP / (2TP +
FP + FN), and the image's AP: the mean over the evaluated IoU thresholds of the non-interpolated
average precision of its detections ranked by score, sum(precision@k at each TP) / regular GT;
NaN for images without regular GT.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg.io import CocoDataset

SMALL_MAX, MEDIUM_MAX = 32.0**2, 96.0**2  # COCO's area ranges
CROWDED_MIN = 10  # regular GT per image of the 'crowded' slice (as cocoseg.eval.analysis.slices)


@dataclass
class Detections:
    """Evaluated detection rows (the engine state's order); tp/fp are (T, D) at each IoU threshold."""

    image: np.ndarray  # (D,) int64 position in Tables.image_ids
    category: np.ndarray  # (D,) int64
    score: np.ndarray  # (D,) float64
    index: np.ndarray  # (D,) int64 row of the loaded results
    gt_row: np.ndarray  # (T, D) matched GT row of the engine state (-1 none); `Tables.state_gt` maps it
    tp: np.ndarray  # (T, D) bool
    fp: np.ndarray  # (T, D) bool


@dataclass
class Tables:
    """Everything the grid filters and sorts on (see the module docstring)."""

    image_ids: np.ndarray  # (I,) int64, dataset order
    width: np.ndarray
    height: np.ndarray
    gt_image: np.ndarray  # (G,) position in image_ids
    gt_category: np.ndarray
    gt_area: np.ndarray
    gt_crowd: np.ndarray  # (G,) bool
    regular_count: np.ndarray  # (I,) regular GT per image
    iou_thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dets: Detections | None = None
    gt_fn: np.ndarray | None = None  # (T, G) bool: evaluated regular GT left unmatched
    image_ap: np.ndarray | None = None  # (I,) float64, after add_image_ap
    state_gt: np.ndarray | None = None  # (G_state,) annotation position of each engine-state GT row
    gt_regular_count: np.ndarray | None = None  # (I,) evaluated regular GT per image
    occlusion: np.ndarray | None = None  # (G,) float64, filled in by the background analyses
    audit_score: np.ndarray | None = None  # (I,) float64, NaN where absent
    rank_score: np.ndarray | None = None
    file_rank: np.ndarray | None = None  # (I,) position of the file name in sorted order
    id_order: np.ndarray | None = None  # argsort of image_ids, for id -> position

    @property
    def num_images(self) -> int:
        """Images in the dataset."""
        return len(self.image_ids)

    def positions(self, image_ids: Any) -> np.ndarray:
        """Positions of image ids in `image_ids` (-1 where unknown)."""
        ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
        if self.id_order is None:
            self.id_order = np.argsort(self.image_ids, kind="stable")
        if len(self.id_order) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        sorted_ids = self.image_ids[self.id_order]
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == ids, self.id_order[at], -1)

    def threshold_index(self, iou: float) -> int:
        """Index of the evaluated IoU threshold nearest `iou`."""
        return int(np.argmin(np.abs(self.iou_thresholds - iou))) if len(self.iou_thresholds) else 0


def build_tables(gt: CocoDataset, result: Any = None) -> Tables:
    """The arrays of a dataset, and of its evaluation when `result` (an `EvalResult`) is given.

    The per-image AP is left to `add_image_ap` (the viewer computes it in the background).
    """
    images = gt.images
    image_ids = np.fromiter((im["id"] for im in images), dtype=np.int64, count=len(images))
    width = np.fromiter((im.get("width", 0) for im in images), dtype=np.int64, count=len(images))
    height = np.fromiter((im.get("height", 0) for im in images), dtype=np.int64, count=len(images))
    image_of, category, area, crowd = _annotation_columns(gt, result)
    tables = Tables(image_ids, width, height, np.zeros(len(area), np.int64), category, area, crowd,
                    np.zeros(len(images), np.int64))
    names = np.array([str(im.get("file_name", "")) for im in images])
    tables.file_rank = np.empty(len(images), np.int64)
    tables.file_rank[np.argsort(names, kind="stable")] = np.arange(len(images))
    tables.gt_image = tables.positions(image_of)
    tables.regular_count = np.bincount(tables.gt_image[~tables.gt_crowd], minlength=len(images))
    if result is not None:
        _add_evaluation(tables, result)
    return tables


def _annotation_columns(gt: CocoDataset, result: Any) -> tuple[np.ndarray, ...]:
    """(image id, category, area, crowd) per annotation; from the evaluator's state when it covers them all."""
    anns = gt.annotations
    n = len(anns)
    state = None if result is None else result.state
    if state is not None and len(state.gt_ann_index) == n:
        pos = np.asarray(state.gt_ann_index, dtype=np.int64)
        out = [np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64), np.empty(n, bool)]
        for column, values in zip(out, (state.gt_image_id, state.gt_category_id, state.gt_area, state.gt_iscrowd)):
            column[pos] = values
        return tuple(out)
    return (np.fromiter((a["image_id"] for a in anns), dtype=np.int64, count=n),
            np.fromiter((a["category_id"] for a in anns), dtype=np.int64, count=n),
            np.fromiter((a.get("area", 0.0) for a in anns), dtype=np.float64, count=n),
            np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), dtype=bool, count=n))


def _add_evaluation(tables: Tables, result: Any) -> None:
    """Detection rows and per-threshold outcomes from the evaluator's state."""
    state = result.state
    tables.iou_thresholds = np.asarray(result.params.iou_thresholds, dtype=np.float64)
    gt_pos = np.asarray(state.gt_ann_index, dtype=np.int64)  # state GT row -> annotation position
    dt_gt = state.dt_gt_at(0)
    ignore = state.dt_ignore_at(0)
    matched = dt_gt >= 0
    tables.state_gt = gt_pos
    tables.dets = Detections(tables.positions(state.dt_image_id), np.asarray(state.dt_category_id, dtype=np.int64),
                             np.asarray(state.dt_score, dtype=np.float64), np.asarray(state.dt_index, dtype=np.int64),
                             dt_gt, matched & ~ignore, ~matched & ~ignore)
    regular = ~np.asarray(state.gt_ignore[0], dtype=bool)
    fn = np.zeros((len(tables.iou_thresholds), len(tables.gt_area)), dtype=bool)
    fn[:, gt_pos] = (state.gt_match[:, 0, :].T == 0) & regular[None, :]
    tables.gt_fn = fn
    tables.gt_regular_count = np.bincount(tables.gt_image[gt_pos[regular]], minlength=tables.num_images)


def add_image_ap(tables: Tables) -> None:
    """Fill `tables.image_ap` (see the module docstring)."""
    if tables.dets is not None and tables.gt_regular_count is not None:
        tables.image_ap = image_ap(tables.dets, tables.gt_regular_count, tables.num_images)


def image_ap(dets: Detections, n_gt: np.ndarray, num_images: int) -> np.ndarray:
    """(I,) per-image AP (module docstring), NaN for images without regular GT."""
    order = np.lexsort((-dets.score, dets.image))
    image = dets.image[order]
    total = np.zeros(num_images)
    for t in range(dets.tp.shape[0]):
        tp, valid = dets.tp[t][order], (dets.tp[t] | dets.fp[t])[order]
        img, hit = image[valid], tp[valid].astype(np.float64)
        if len(img) == 0:
            continue
        starts = np.r_[0, np.flatnonzero(np.diff(img)) + 1]
        run = np.repeat(starts, np.diff(np.r_[starts, len(img)]))
        cum = np.cumsum(hit)
        before = np.where(run > 0, cum[np.maximum(run - 1, 0)], 0.0)
        rank = np.arange(len(img)) - run + 1
        total += np.bincount(img, weights=(cum - before) / rank * hit, minlength=num_images)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_gt > 0, total / dets.tp.shape[0] / np.maximum(n_gt, 1), np.nan)


def image_counts(tables: Tables, t: int, det_rows: np.ndarray | None, gt_rows: np.ndarray | None) -> dict[str, np.ndarray]:
    """(I,) TP, FP, FN per image at threshold index t over the given detection / GT row masks."""
    out = {}
    i = tables.num_images
    if tables.dets is None or tables.gt_fn is None:
        zero = np.zeros(i, np.int64)
        return {"tp": zero, "fp": zero, "fn": zero, "f1": np.full(i, np.nan)}
    d = tables.dets
    sel = np.ones(len(d.score), bool) if det_rows is None else det_rows
    out["tp"] = np.bincount(d.image[sel & d.tp[t]], minlength=i)
    out["fp"] = np.bincount(d.image[sel & d.fp[t]], minlength=i)
    g = tables.gt_fn[t] if gt_rows is None else tables.gt_fn[t] & gt_rows
    out["fn"] = np.bincount(tables.gt_image[g], minlength=i)
    denom = 2 * out["tp"] + out["fp"] + out["fn"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["f1"] = np.where(denom > 0, 2 * out["tp"] / np.maximum(denom, 1), np.nan)
    return out
