"""Grid queries: filters and sort keys evaluated on the viewer's arrays (never on JSON records).

Filters (all optional, combined with AND):
- cat: category ids; score_min / score_max: detection scores;
- outcome tp | fp (detections) or fn (GT) at IoU `iou`; error: a TIDE type (`cocoseg.eval.analysis`);
- slice: small | medium | large | occluded | crowd (GT rows) or crowded (images);
- side_min / side_max: the image's longer side in pixels; images: an explicit set (confusion cells).
Detection conditions (cat, score range, tp/fp, detection errors) hold for one same detection; GT
conditions (cat, fn, miss, instance slices) for one same annotation. Without either, `cat` keeps
the images holding a GT or a detection of the category.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.analysis import ERROR_TYPES
from cocoseg.view.tables import CROWDED_MIN, MEDIUM_MAX, SMALL_MAX, Tables, image_counts

OUTCOMES = ("tp", "fp", "fn")
SLICES = ("small", "medium", "large", "occluded", "crowd", "crowded")
# sort key -> default direction (True: descending): worst first for the error-finding keys
SORT_KEYS = {"id": False, "file": False, "ap": False, "f1": False, "fp": True, "fn": True, "tp": True,
             "objects": True, "audit": True, "rank": True}
OCCLUDED_IOU = 0.3  # cocoseg.eval.analysis.slices' default
ErrorsAt = Callable[[int], "tuple[np.ndarray, np.ndarray] | None"]


@dataclass(frozen=True)
class Query:
    """A parsed grid query."""

    cats: tuple[int, ...] = ()
    score_min: float | None = None
    score_max: float | None = None
    outcome: str | None = None
    iou: float = 0.5
    error: str | None = None
    slice: str | None = None
    side_min: int | None = None
    side_max: int | None = None
    sort: str = "id"
    descending: bool | None = None
    images: tuple[int, ...] | None = None


def parse_query(params: Mapping[str, str]) -> Query:
    """A Query from URL parameters; CocosegError naming the bad parameter."""
    def number(key: str, kind: type = float) -> Any:
        value = params.get(key, "")
        if value in ("", None):
            return None
        try:
            return kind(value)
        except ValueError:
            raise CocosegError(f"parameter {key}: {value!r} is not a number") from None

    def choice(key: str, allowed: tuple[str, ...]) -> str | None:
        value = params.get(key) or None
        if value is not None and value not in allowed:
            raise CocosegError(f"parameter {key}: {value!r} is not one of {', '.join(allowed)}")
        return value

    try:
        cats = tuple(int(c) for c in params.get("cat", "").split(",") if c.strip())
        images = None if params.get("images") is None else tuple(int(c) for c in params["images"].split(",") if c)
    except ValueError:
        raise CocosegError("parameters cat and images take comma-separated integers") from None
    order = choice("order", ("asc", "desc"))
    return Query(cats, number("score_min"), number("score_max"), choice("outcome", OUTCOMES),
                 number("iou") if params.get("iou") else 0.5, choice("error", ERROR_TYPES), choice("slice", SLICES),
                 number("side_min", int), number("side_max", int), choice("sort", tuple(SORT_KEYS)) or "id",
                 None if order is None else order == "desc", images)


def detection_rows(tables: Tables, q: Query, errors_at: ErrorsAt) -> np.ndarray | None:
    """(D,) mask of the detections meeting the query's detection conditions; None when it has none."""
    d = tables.dets
    error_on_dets = q.error is not None and q.error != "miss"
    if d is None or not (q.score_min is not None or q.score_max is not None or q.outcome in ("tp", "fp") or error_on_dets):
        return None
    t = tables.threshold_index(q.iou)
    rows = np.ones(len(d.score), dtype=bool)
    if q.cats:
        rows &= np.isin(d.category, q.cats)
    if q.score_min is not None:
        rows &= d.score >= q.score_min
    if q.score_max is not None:
        rows &= d.score <= q.score_max
    if q.outcome == "tp":
        rows &= d.tp[t]
    elif q.outcome == "fp":
        rows &= d.fp[t]
    if error_on_dets:
        labels = _labels(errors_at, t)
        rows &= labels[0] == ERROR_TYPES.index(q.error)
    return rows


def gt_rows(tables: Tables, q: Query, errors_at: ErrorsAt) -> np.ndarray | None:
    """(G,) mask of the annotations meeting the query's GT conditions; None when it has none."""
    instance_slice = q.slice in ("small", "medium", "large", "occluded", "crowd")
    wants_fn = q.outcome == "fn" and tables.gt_fn is not None
    if not (instance_slice or wants_fn or q.error == "miss"):
        return None
    rows = np.ones(len(tables.gt_area), dtype=bool) if q.slice == "crowd" else ~tables.gt_crowd
    if q.cats:
        rows &= np.isin(tables.gt_category, q.cats)
    t = tables.threshold_index(q.iou)
    if wants_fn:
        rows &= tables.gt_fn[t]
    if q.error == "miss":
        rows &= _labels(errors_at, t)[1]
    rows &= _slice_rows(tables, q.slice)
    return rows


def _slice_rows(tables: Tables, name: str | None) -> np.ndarray | bool:
    area = tables.gt_area
    if name == "small":
        return area < SMALL_MAX
    if name == "medium":
        return (area >= SMALL_MAX) & (area < MEDIUM_MAX)
    if name == "large":
        return area >= MEDIUM_MAX
    if name == "crowd":
        return tables.gt_crowd
    if name == "occluded":
        if tables.occlusion is None:
            raise Pending("occlusion")
        return np.nan_to_num(tables.occlusion, nan=0.0) > OCCLUDED_IOU
    return True


class Pending(CocosegError):
    """An analysis the query needs is still being computed (the server answers 503)."""


def _labels(errors_at: ErrorsAt, t: int) -> tuple[np.ndarray, np.ndarray]:
    labels = errors_at(t)
    if labels is None:
        raise Pending("error analysis")
    return labels


def image_mask(tables: Tables, q: Query, errors_at: ErrorsAt) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(I,) images kept by the query, and the detection / GT row masks it used."""
    keep = np.ones(tables.num_images, dtype=bool)
    dets, gts = detection_rows(tables, q, errors_at), gt_rows(tables, q, errors_at)
    if dets is not None:
        keep &= np.bincount(tables.dets.image[dets], minlength=tables.num_images) > 0
    if gts is not None:
        keep &= np.bincount(tables.gt_image[gts], minlength=tables.num_images) > 0
    if q.cats and dets is None and gts is None:
        has = np.bincount(tables.gt_image[np.isin(tables.gt_category, q.cats)], minlength=tables.num_images) > 0
        if tables.dets is not None:
            has |= np.bincount(tables.dets.image[np.isin(tables.dets.category, q.cats)], minlength=tables.num_images) > 0
        keep &= has
    if q.slice == "crowded":
        keep &= tables.regular_count >= CROWDED_MIN
    side = np.maximum(tables.width, tables.height)
    if q.side_min is not None:
        keep &= side >= q.side_min
    if q.side_max is not None:
        keep &= side <= q.side_max
    if q.images is not None:
        chosen = np.zeros(tables.num_images, dtype=bool)
        pos = tables.positions(q.images)
        chosen[pos[pos >= 0]] = True
        keep &= chosen
    return keep, dets, gts


def run_query(tables: Tables, q: Query, errors_at: ErrorsAt) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Positions of the kept images in sort order, and the per-image figures shown with them."""
    keep, _, _ = image_mask(tables, q, errors_at)
    t = tables.threshold_index(q.iou)
    det_sel = _count_rows(tables, q)
    gt_sel = np.isin(tables.gt_category, q.cats) if q.cats else None
    figures = image_counts(tables, t, det_sel, gt_sel)
    if q.sort == "ap" and tables.image_ap is None and tables.dets is not None:
        raise Pending("per-image AP")
    figures["ap"] = tables.image_ap if tables.image_ap is not None else np.full(tables.num_images, np.nan)
    figures["objects"] = tables.regular_count
    figures["audit"] = _or_nan(tables.audit_score, tables.num_images)
    figures["rank"] = _or_nan(tables.rank_score, tables.num_images)
    rows = np.flatnonzero(keep)
    key = (tables.image_ids if q.sort == "id" else tables.file_rank if q.sort == "file" else figures[q.sort])
    descending = SORT_KEYS[q.sort] if q.descending is None else q.descending
    values = key[rows].astype(np.float64)
    order = np.argsort(-values if descending else values, kind="stable")
    missing = np.isnan(values[order])
    rows = rows[np.r_[order[~missing], order[missing]]]  # NaN (no GT, no score) last either way
    return rows, figures


def _count_rows(tables: Tables, q: Query) -> np.ndarray | None:
    d = tables.dets
    if d is None or not (q.cats or q.score_min is not None or q.score_max is not None):
        return None
    rows = np.isin(d.category, q.cats) if q.cats else np.ones(len(d.score), dtype=bool)
    if q.score_min is not None:
        rows &= d.score >= q.score_min
    if q.score_max is not None:
        rows &= d.score <= q.score_max
    return rows


def _or_nan(values: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, np.nan) if values is None else values
