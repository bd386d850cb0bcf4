"""TIDE-style error breakdown: what kind of mistake each false positive and missed GT is, and the
AP each kind costs.

Definitions (Bolya et al., "TIDE: A General Toolbox for Identifying Object Detection Errors",
ECCV 2020; foreground threshold t_f = 0.5, background threshold t_b = 0.1). Detections are
first matched the COCO way at t_f (class-aware, score order, crowd regions ignored). For every
false positive, with IoU_same / IoU_other its highest IoU with a regular GT of its own / another
category, tested in TIDE's order:

- ``loc`` (localization): t_b <= IoU_same < t_f, right class, poor box/mask;
- ``cls`` (classification): IoU_other >= t_f, well localized on an object of another class;
- ``dupe`` (duplicate): IoU_same >= t_f with a GT that a higher-scoring detection already took;
- ``bkg`` (background): IoU < t_b with every GT, detected background (also every FP of an image
  without regular GT);
- ``both`` (classification and localization): anything else, i.e. t_b <= IoU_other < t_f;
- ``miss`` (missed GT): a regular GT that nothing matched and that no ``cls``/``loc`` error
  could claim.

The AP each would add: the detections and GT are edited as TIDE's fix prescribes and the
engine's `evaluate` runs again; the gain is AP at t_f (AP50 by default) after minus before.
Fixes: a ``cls``/``loc`` error on a GT that no detection matched becomes a true positive of that
GT (class set to the GT's, geometry set to the GT's so that the engine matches it there); of
several such errors on one GT only the highest-scoring is fixed, the others are removed, as in
TIDE; ``dupe``, ``bkg``, ``both`` detections are removed; ``miss`` GT are removed (TIDE lowers
the GT count). Two more rows as TIDE reports them: ``fp`` (every false positive removed) and ``fn``
(every unmatched GT removed). The errors overlap, so the gains do not add up to 1 - AP; fixing
everything at once (the oracle) gives AP 1 for every category with GT.

Checked against tidecv 1.0.1 on cocoapi-val2014-fake100: the same error counts for bbox (83 cls,
1 loc, 1 dupe, 97 miss) and segm (76 cls, 82 loc, 7 both, 4 bkg, 109 miss). tidecv's own AP50
is not pycocotools' (64.2 vs 69.7 for bbox: it also averages in, as 0, the categories that have
detections but no GT), so its gains differ; here every AP is the engine's, i.e. pycocotools'.

Differences from tidecv, all deliberate: maxDets 100 is per image and category (COCO) rather
than per image; interval ends are half-open (IoU exactly t_f with a taken GT is ``dupe``, not
``loc``), so each false positive has one type; AP comes from the exact engine, and a gain is not
clipped at 0 (it cannot be negative with these fixes).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.eval.analysis._engine import ALL_RANGE, mean_precision, run_evaluate
from cocoseg.eval.analysis._prepare import Instances, check_iou_type, instances_from_result, load_inputs
from cocoseg.eval.analysis.matching import Matches, matches_from_result
from cocoseg.io import CocoDataset
from cocoseg.io.results import DetectionResults

ERROR_TYPES = ("cls", "loc", "both", "dupe", "bkg", "miss")
SPECIAL_TYPES = ("fp", "fn")
ERROR_NAMES = {"cls": "classification", "loc": "localization", "both": "classification+localization",
               "dupe": "duplicate", "bkg": "background", "miss": "missed GT",
               "fp": "all false positives", "fn": "all false negatives"}
_CODE = {name: i for i, name in enumerate(ERROR_TYPES)}


@dataclass(frozen=True)
class ErrorLabels:
    """Per-detection and per-GT error labels, aligned with `Instances` (see the module docstring).

    det_error: (D,) int8, index into ERROR_TYPES or -1 (true positive, ignored);
    det_target: (D,) GT position a cls/loc error points at (-1 otherwise);
    det_fixable: (D,) bool, the cls/loc errors whose fix makes a true positive;
    gt_matched: (G,) bool, matched by a true positive; gt_missed: (G,) bool, ``miss`` errors.
    """

    det_error: np.ndarray
    det_target: np.ndarray
    det_fixable: np.ndarray
    gt_matched: np.ndarray
    gt_missed: np.ndarray

    def counts(self) -> dict[str, int]:
        """Number of errors of each type."""
        out = {name: int(np.count_nonzero(self.det_error == code)) for name, code in _CODE.items()}
        out["miss"] = int(np.count_nonzero(self.gt_missed))
        return out


@dataclass(frozen=True)
class ErrorBreakdown:
    """TIDE summary: error counts, AP at t_f, and the AP each fix adds (`delta_ap`)."""

    iou_type: str
    pos_threshold: float
    bg_threshold: float
    ap: float
    counts: dict[str, int]
    delta_ap: dict[str, float]
    oracle_ap: float
    labels: ErrorLabels = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-detection labels)."""
        return {"iou_type": self.iou_type, "pos_threshold": self.pos_threshold, "bg_threshold": self.bg_threshold,
                "ap": self.ap, "oracle_ap": self.oracle_ap, "counts": dict(self.counts),
                "delta_ap": dict(self.delta_ap)}

    def format(self) -> str:
        """A text table: type, count, AP gained by fixing it."""
        lines = [f"TIDE errors ({self.iou_type}, AP{round(self.pos_threshold * 100)} = {self.ap:.3f}, "
                 f"background IoU < {self.bg_threshold:g}; dAP: AP gained by fixing the type, in AP points = AP x 100)",
                 f"{'error':<36}{'count':>8}{'dAP x100':>9}"]
        for name in (*ERROR_TYPES, *SPECIAL_TYPES):
            count = f"{self.counts[name]:>8}" if name in self.counts else f"{'':>8}"
            lines.append(f"{ERROR_NAMES[name] + ' (' + name + ')':<36}{count}{self.delta_ap[name] * 100:>9.2f}")
        lines.append(f"{'all fixed (oracle AP x100)':<36}{'':>8}{self.oracle_ap * 100:>9.2f}")
        return "\n".join(lines)


def classify_errors(inst: Instances, matches: Matches, bg_threshold: float = 0.1) -> ErrorLabels:
    """Label every false positive and unmatched GT with its TIDE error type."""
    pos = matches.iou_threshold
    n_dt, n_gt = len(inst.dt_index), len(inst.gt_index)
    det_error = np.full(n_dt, -1, dtype=np.int8)
    det_target = np.full(n_dt, -1, dtype=np.int64)
    det_fixable = np.zeros(n_dt, dtype=bool)
    gt_matched = np.zeros(n_gt, dtype=bool)
    gt_matched[matches.gt_match[matches.tp]] = True
    gt_usable = np.zeros(n_gt, dtype=bool)
    for _, gt, dt in inst.images():
        fp = np.flatnonzero(matches.fp[dt])
        if len(fp) == 0:
            continue
        fp = fp[np.argsort(-inst.dt_score[dt][fp], kind="mergesort")]
        ious = inst.ious(gt, dt, fp) * ~inst.gt_ignore[gt]
        same = inst.dt_category[dt][fp][:, None] == inst.gt_category[gt][None, :]
        codes, targets = _classify_image(ious, same, gt_matched[gt], pos, bg_threshold)
        det_error[fp + dt.start] = codes
        det_target[fp + dt.start] = np.where(targets >= 0, targets + gt.start, -1)
    # TIDE's BestGTMatch: of the cls/loc errors on one unmatched GT, the highest-scoring is fixed
    order = np.argsort(-inst.dt_score, kind="mergesort")
    for d in order.tolist():
        g = det_target[d]
        if g >= 0 and not gt_matched[g] and not gt_usable[g]:
            gt_usable[g] = True
            det_fixable[d] = True
    gt_missed = ~inst.gt_ignore & ~gt_matched & ~gt_usable
    return ErrorLabels(det_error, det_target, det_fixable, gt_matched, gt_missed)


def _classify_image(ious: np.ndarray, same: np.ndarray, gt_matched: np.ndarray, pos: float,
                    bg: float) -> tuple[np.ndarray, np.ndarray]:
    """(error code, target GT within the image or -1) of each false positive of one image.

    ious: (F, G) with the ignore regions zeroed; same: (F, G) same category; tests in TIDE's order.
    """
    codes = np.full(ious.shape[0], _CODE["bkg"], dtype=np.int8)
    targets = np.full(ious.shape[0], -1, dtype=np.int64)
    if ious.shape[1] == 0:
        return codes, targets
    rows = np.arange(ious.shape[0])
    same_iou, other_iou = ious * same, ious * ~same
    j_same, j_other = same_iou.argmax(axis=1), other_iou.argmax(axis=1)
    best_same, best_other = same_iou[rows, j_same], other_iou[rows, j_other]
    loc = (bg <= best_same) & (best_same < pos)
    cls = ~loc & (best_other >= pos)
    dupe = ~loc & ~cls & ((same_iou * gt_matched[None, :]).max(axis=1) >= pos)
    both = ~loc & ~cls & ~dupe & (ious.max(axis=1) >= bg)
    for name, flags in (("loc", loc), ("cls", cls), ("dupe", dupe), ("both", both)):
        codes[flags] = _CODE[name]
    targets[loc], targets[cls] = j_same[loc], j_other[cls]
    return codes, targets


def fixed_inputs(gt: CocoDataset, detections: DetectionResults, inst: Instances, labels: ErrorLabels,
                 fix: Sequence[str]) -> tuple[CocoDataset, DetectionResults]:
    """GT and detections with the errors of the `fix` types fixed (the inputs are not modified).

    Only the detections kept by the evaluation (maxDets) are returned, so that removing one does not
    let a lower-scoring detection in.
    """
    fix = set(fix)
    codes = labels.det_error
    drop_dt = np.zeros(len(codes), dtype=bool)
    for name in fix & set(ERROR_TYPES) - {"miss"}:
        drop_dt |= codes == _CODE[name]
    if "fp" in fix:
        drop_dt |= codes >= 0
    repaired = np.isin(codes, [_CODE[n] for n in fix & {"cls", "loc"}]) & labels.det_fixable
    keep = np.flatnonzero(~drop_dt | repaired)
    dets = _detections(detections, inst, keep, np.where(repaired, labels.det_target, -1)[keep])
    drop_gt = labels.gt_missed if "miss" in fix else np.zeros(len(inst.gt_index), dtype=bool)
    if "fn" in fix:
        drop_gt = drop_gt | (~inst.gt_ignore & ~labels.gt_matched)
    removed = set(inst.gt_index[drop_gt].tolist())
    anns = [a for i, a in enumerate(gt.annotations) if i not in removed]
    return CocoDataset(gt.images, anns, gt.categories, gt.info, gt.licenses, source=gt.source), dets


def _detections(detections: DetectionResults, inst: Instances, keep: np.ndarray, target: np.ndarray) -> DetectionResults:
    """Engine input of the kept rows; a row with a target GT (>= 0) takes that GT's category and geometry."""
    rows = inst.dt_index[keep]
    moved = np.flatnonzero(target >= 0)
    goal = target[moved]
    category = inst.dt_category[keep].copy()
    category[moved] = inst.gt_category[goal]
    boxes = np.asarray(detections.boxes_xywh, dtype=np.float64)[rows].reshape(-1, 4)
    areas = np.asarray(detections.areas, dtype=np.float64)[rows]
    if inst.iou_type == "bbox":
        boxes[moved] = np.asarray(inst.gt_geometry).reshape(-1, 4)[goal]
        areas[moved] = boxes[moved, 2] * boxes[moved, 3]
        return DetectionResults(inst.dt_image[keep], category, inst.dt_score[keep], boxes, areas, "bbox", source="<fixed>")
    rles = [inst.dt_geometry[d] for d in keep.tolist()]
    for i, g in zip(moved.tolist(), goal.tolist()):
        rles[i] = inst.gt_geometry[g]
        areas[i], boxes[i] = float(masks.area(rles[i])), masks.to_bbox(rles[i])
    return DetectionResults(inst.dt_image[keep], category, inst.dt_score[keep], boxes, areas, "segm", rles,
                            source="<fixed>")


def error_breakdown_from_result(gt: CocoDataset, detections: DetectionResults, result: Any, *,
                                pos_threshold: float = 0.5, bg_threshold: float = 0.1) -> ErrorBreakdown:
    """Classify the errors of an evaluation and measure each fix with the engine.

    `result` must come from `evaluate(gt, detections, ...)` with categories used and
    `pos_threshold` among its IoU thresholds; AP is read at it, in the first area range.
    """
    params = result.params
    inst = instances_from_result(gt, detections, result)
    labels = classify_errors(inst, matches_from_result(result, pos_threshold), bg_threshold)
    options = {"image_ids": params.image_ids, "category_ids": params.category_ids,
               "max_dets": (params.max_dets[-1],), "iou_thresholds": (pos_threshold,),
               "area_ranges": [params.area_ranges[0]]}

    def ap_with(fix: Sequence[str]) -> float:
        fixed_gt, fixed_dt = fixed_inputs(gt, detections, inst, labels, fix)
        return mean_precision(run_evaluate(fixed_gt, fixed_dt, inst.iou_type, **options), pos_threshold)

    base = mean_precision(result, pos_threshold)
    delta = {name: ap_with((name,)) - base for name in (*ERROR_TYPES, *SPECIAL_TYPES)}
    return ErrorBreakdown(inst.iou_type, float(pos_threshold), float(bg_threshold), base, labels.counts(),
                          delta, ap_with(ERROR_TYPES), labels)


def error_breakdown(
    gt: Any,
    results: Any,
    iou_type: str,
    *,
    pos_threshold: float = 0.5,
    bg_threshold: float = 0.1,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    max_dets: int = 100,
) -> ErrorBreakdown:
    """TIDE error breakdown of `results` against `gt` (paths, a CocoDataset, or loaded results)."""
    check_iou_type(iou_type)
    gt_ds, dets = load_inputs(gt, results, iou_type)
    result = run_evaluate(gt_ds, dets, iou_type, image_ids=image_ids, category_ids=category_ids,
                          max_dets=(max_dets,), iou_thresholds=(pos_threshold,), area_ranges=[ALL_RANGE])
    return error_breakdown_from_result(gt_ds, dets, result, pos_threshold=pos_threshold, bg_threshold=bg_threshold)
