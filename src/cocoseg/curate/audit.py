"""`audit`: which labels of a COCO dataset are probably wrong, judged against a model's predictions.

The predictions must come from a model that did NOT train on the audited images (a model trained
on another split, or cross-validation folds): a model that learnt the labels reproduces their
mistakes and hides them. Scoring is ObjectLab's (see `cocoseg.curate.audit_scores`) with mask IoU
where both the GT and the predictions have masks, box IoU otherwise.

Flags, each with a score in [0, 1] (low = suspect) and flagged below `FLAG_BELOW[type]`:
- overlooked: a prediction with p >= 0.95 that overlaps no annotation of any class (crowd
  regions included) -> suggested fix "added";
- swap: an annotation best explained by a confident prediction of another class -> "relabelled";
- badloc: an annotation whose best same-class prediction overlaps it poorly -> "reshaped"
  (the prediction's geometry);
- duplicate: two annotations of one class with IoU > 0.9 in one image -> the later one "removed";
- degenerate: area under 4 pixels or a box outside the image -> "removed".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.curate import audit_scores as S
from cocoseg.curate.audit_report import FLAG_BELOW, AuditReport, build_report
from cocoseg.errors import CocosegError
from cocoseg.eval.analysis._prepare import load_inputs
from cocoseg.io import CocoDataset
from cocoseg.io.results import DetectionResults


@dataclass
class _Image:
    """One image's rows and overlap matrices (labels L = regular annotations, P = predictions)."""

    image_id: int
    labels: np.ndarray  # positions in gt.annotations
    preds: np.ndarray  # positions in the results
    iou: np.ndarray  # (L, P)
    sim: np.ndarray  # (L, P)
    label_iou: np.ndarray  # (L, L)
    crowd_iou: np.ndarray  # (C, P) overlap of predictions with crowd regions
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _geometry_mode(gt: CocoDataset, dets: DetectionResults, geometry: str) -> str:
    has_masks = dets.kind == "segm" or (isinstance(dets.segmentations, list) and len(dets) > 0
                                         and all(s is not None for s in dets.segmentations))
    gt_masks = any(a.get("segmentation") for a in gt.annotations)
    if geometry == "auto":
        return "mask" if has_masks and gt_masks else "box"
    if geometry == "mask" and not has_masks:
        raise CocosegError(f"{dets.source}: geometry='mask' needs predictions with segmentations")
    if geometry not in ("mask", "box"):
        raise CocosegError(f"geometry must be 'auto', 'mask' or 'box', got {geometry!r}")
    return geometry


def _label_geometry(gt: CocoDataset, positions: list[int], mode: str, image: dict) -> tuple[Any, np.ndarray]:
    anns = [gt.annotations[p] for p in positions]
    boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    if mode == "box":
        return boxes, boxes
    h, w = int(image["height"]), int(image["width"])
    return [masks.segmentation_to_rle(a["segmentation"], h, w) if a.get("segmentation")
            else masks.segmentation_to_rle([_box_polygon(a["bbox"])], h, w) for a in anns], boxes


def _box_polygon(box: list[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def _pred_geometry(dets: DetectionResults, rows: np.ndarray, mode: str, image: dict) -> tuple[Any, np.ndarray]:
    boxes = np.asarray(dets.boxes_xywh, dtype=np.float64)[rows].reshape(-1, 4)
    if mode == "box":
        return boxes, boxes
    h, w = int(image["height"]), int(image["width"])
    return [masks.segmentation_to_rle(dets.segmentation(i), h, w) for i in rows.tolist()], boxes


def _overlaps(a: Any, b: Any, mode: str) -> np.ndarray:
    """(A, B) IoU with cocoseg's one IoU (pycocotools' rleIou / bbIou)."""
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        return np.zeros((n_a, n_b))
    if mode == "box":
        return masks.box_iou(a, b)
    return masks.iou(a, b, [0] * n_b)


def _prepare(gt: CocoDataset, dets: DetectionResults, mode: str) -> list[_Image]:
    by_image_dt: dict[int, list[int]] = {}
    for i, image_id in enumerate(dets.image_ids.tolist()):
        by_image_dt.setdefault(image_id, []).append(i)
    out = []
    for image in gt.images:
        image_id = int(image["id"])
        positions = gt.index.by_image.get(image_id, np.zeros(0, np.int64)).tolist()
        regular = [p for p in positions if not gt.annotations[p].get("iscrowd", 0)]
        crowd = [p for p in positions if gt.annotations[p].get("iscrowd", 0)]
        rows = np.asarray(by_image_dt.get(image_id, []), dtype=np.int64)
        label_geo, label_boxes = _label_geometry(gt, regular, mode, image)
        pred_geo, pred_boxes = _pred_geometry(dets, rows, mode, image)
        crowd_geo, _ = _label_geometry(gt, crowd, mode, image)
        iou = _overlaps(label_geo, pred_geo, mode)
        sim = S.similarity(iou, S.centre_distances(label_boxes, pred_boxes))
        out.append(_Image(image_id, np.asarray(regular, np.int64), rows, iou, sim,
                          _overlaps(label_geo, label_geo, mode), _overlaps(crowd_geo, pred_geo, mode)))
    return out


def _score(item: _Image, gt: CocoDataset, dets: DetectionResults, floor: float, opts: dict) -> None:
    anns = [gt.annotations[p] for p in item.labels.tolist()]
    label_cats = np.asarray([a["category_id"] for a in anns], dtype=np.int64)
    pred_cats = np.asarray(dets.category_ids, dtype=np.int64)[item.preds]
    pred_scores = np.asarray(dets.scores, dtype=np.float64)[item.preds]
    iou_any = np.vstack([item.iou, item.crowd_iou]) if len(item.crowd_iou) else item.iou
    image = gt.image(item.image_id)
    item.scores["overlooked"] = S.overlooked_scores(np.vstack([item.sim, np.zeros_like(item.crowd_iou)]), iou_any,
                                                    np.r_[label_cats, np.full(len(item.crowd_iou), -1)], pred_cats,
                                                    pred_scores, floor, opts["high"], opts["overlap"])
    owner_any = S.best_label(item.sim) if opts["exclusive"] else None
    owner_same = S.best_label(item.sim, label_cats, pred_cats) if opts["exclusive"] else None
    item.scores["swap"] = S.swap_scores(item.sim, label_cats, pred_cats, pred_scores, floor, item.label_iou, opts["high"],
                                        owner_any)
    item.scores["badloc"], item.extra["badloc_pred"] = S.badloc_scores(item.sim, item.iou, label_cats, pred_cats,
                                                                       pred_scores, opts["low"], owner_same)
    item.scores["duplicate"], item.extra["duplicate_of"] = S.duplicate_scores(item.label_iou, label_cats,
                                                                              opts["duplicate_iou"])
    areas = np.asarray([a.get("area", 0.0) for a in anns], dtype=np.float64)
    boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    item.scores["degenerate"] = S.degenerate_scores(areas, boxes, float(image["height"]), float(image["width"]),
                                                    opts["min_area"])
    item.extra["swap_to"] = _swap_targets(item.sim, label_cats, pred_cats, pred_scores, opts["high"])


def _swap_targets(sim: np.ndarray, label_cats: np.ndarray, pred_cats: np.ndarray, pred_scores: np.ndarray,
                  high: float) -> np.ndarray:
    """(L,) the prediction column of the most similar confident other-class prediction (-1: none)."""
    out = np.full(len(label_cats), -1, dtype=np.int64)
    for i in range(len(label_cats)):
        cand = np.flatnonzero((pred_cats != label_cats[i]) & (pred_scores > high))
        if len(cand):
            out[i] = int(cand[np.argmax(sim[i, cand])])
    return out


def _calibrate_badloc(items: list[_Image], gt: CocoDataset) -> None:
    cats = [np.asarray([gt.annotations[p]["category_id"] for p in item.labels.tolist()], dtype=np.int64)
            for item in items]
    scores = np.concatenate([item.scores["badloc"] for item in items] or [np.zeros(0)])
    calibrated = S.calibrate_by_class(scores, np.concatenate(cats or [np.zeros(0, np.int64)]))
    start = 0
    for item in items:
        n = len(item.labels)
        item.extra["badloc_raw"] = item.scores["badloc"]
        item.scores["badloc"] = calibrated[start:start + n]
        start += n


def audit(gt: Any, predictions: Any, *, geometry: str = "auto", high_probability: float = S.HIGH_PROBABILITY,
          low_probability: float = S.LOW_PROBABILITY, duplicate_iou: float = S.DUPLICATE_IOU,
          min_area: float = S.MIN_AREA, temperature: float = S.TEMPERATURE,
          weights: dict[str, float] | None = None, exclusive: bool = True, overlap_iou: float = S.OVERLAP_IOU, calibrate: bool = True) -> AuditReport:
    """Score every annotation and image of `gt` against `predictions` (paths, datasets or loaded results).

    `exclusive=False` is ObjectLab's rule exactly (every overlapping prediction is evidence about
    every annotation); True (default) counts a prediction only for the annotation it resembles most.
    `calibrate` divides each badloc score by its category's median (see `calibrate_by_class`).
    """
    gt_ds, dets = load_inputs(gt, predictions, "segm" if geometry != "box" else "bbox")
    mode = _geometry_mode(gt_ds, dets, geometry)
    items = _prepare(gt_ds, dets, mode)
    floor = 1.0
    for item in items:
        floor = S.min_nonzero(item.sim, floor)
    opts = {"high": high_probability, "low": low_probability, "duplicate_iou": duplicate_iou, "min_area": min_area,
            "exclusive": exclusive, "overlap": overlap_iou}
    for item in items:
        _score(item, gt_ds, dets, floor, opts)
    if calibrate:
        _calibrate_badloc(items, gt_ds)
    settings = dict(opts, geometry=mode, temperature=temperature, floor=floor, alpha=S.ALPHA,
                    distance_factor=S.DISTANCE_FACTOR, flag_below=dict(FLAG_BELOW), weights=weights)
    return build_report(gt_ds, dets, items, mode, settings)
