"""The drop-in's fast path: a COCOeval's inputs handed to cocoseg's evaluator, when that is exact.

`run_engine` returns None whenever pycocotools would behave in a way the engine does not copy
(a missing field, GT id 0, duplicate ids, keypoints without categories, parameters the engine
rejects ...); COCOeval then runs its pure path, which reproduces pycocotools' numbers and errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval import EvalParams, EvalResult, EvalState, Evaluator
from cocoseg.io.dataset import CocoDataset
from cocoseg.io.results import DetectionResults

_GT_FIELDS = {"bbox": ("id", "iscrowd", "area", "bbox"), "segm": ("id", "iscrowd", "area", "segmentation"),
              "keypoints": ("id", "iscrowd", "area", "bbox", "keypoints", "num_keypoints")}
_DT_FIELDS = {"bbox": ("id", "score", "area", "bbox"), "segm": ("id", "score", "area", "segmentation"),
              "keypoints": ("id", "score", "area", "keypoints")}


@dataclass(eq=False)  # identity: runs are kept in a WeakSet
class EngineRun:
    """One evaluate() done by the engine: its matching state and the records its rows refer to."""

    evaluator: Evaluator
    state: EvalState
    gt_anns: list  # state.gt_ann_index indexes this list
    dt_anns: list  # state.dt_index indexes this list
    snapshot: dict  # the params' values evaluated (accumulate is fast only while they hold)
    _result: EvalResult | None = None
    built: list | None = None  # the evalImgs list built from this run, once read

    @property
    def result(self) -> EvalResult:
        """The accumulated arrays (computed on first use: per-batch evaluate() calls never need them)."""
        if self._result is None:
            self._result = self.evaluator.compute()
        return self._result


def params_snapshot(p: Any) -> dict:
    """The values of a Params that evaluate() and accumulate() read, in comparable form."""
    out = {}
    for name in ("imgIds", "catIds", "iouThrs", "recThrs", "maxDets", "areaRng", "useCats", "iouType"):
        value = getattr(p, name, None)
        out[name] = repr(np.asarray(value, dtype=object).tolist()) if name != "iouType" else value
    if getattr(p, "iouType", None) == "keypoints":
        out["kpt_oks_sigmas"] = repr(np.asarray(p.kpt_oks_sigmas).tolist())
    return out


def run_engine(gt_coco: Any, dt_coco: Any, p: Any) -> EngineRun | None:
    """Evaluate with cocoseg's engine, or None when only the pure path reproduces pycocotools."""
    iou_type = p.iouType
    if iou_type not in _GT_FIELDS or gt_coco is None or dt_coco is None or len(p.imgIds) == 0:
        return None
    cats = list(p.catIds)
    if iou_type == "keypoints" and not p.useCats:
        return None  # pycocotools looks keypoint GT up under category -1: nothing matches
    if not p.useCats and [int(c) for c in cats] != sorted({int(c) for c in cats}):
        return None  # pooled cells concatenate categories in catIds order
    params = _engine_params(p, cats)
    if params is None:
        return None
    try:
        gt_anns = cell_anns(gt_coco, p.imgIds, cats if p.useCats else None)
        dt_anns = cell_anns(dt_coco, p.imgIds, cats if p.useCats else None)
        if not (_clean(gt_anns, _GT_FIELDS[iou_type], True) and _clean(dt_anns, _DT_FIELDS[iou_type], False)):
            return None
        images = [gt_coco.imgs[i] for i in p.imgIds if i in gt_coco.imgs]
        gt = CocoDataset(images, gt_anns, list(gt_coco.dataset.get("categories", [])))
        evaluator = Evaluator(gt, iou_type, params=params)
        results = _results(dt_anns, iou_type, dt_coco)
        evaluator.add_results(results)
        _add_images_without_detections(evaluator, params, results, iou_type)
        state = evaluator.state()
    except (CocosegError, KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return None
    return EngineRun(evaluator, state, gt_anns, dt_anns, params_snapshot(p))


def _add_images_without_detections(evaluator: Evaluator, params: EvalParams, results: DetectionResults,
                                   iou_type: str) -> None:
    """Cover every evaluated image, so the state holds the GT of images without detections too."""
    empty: dict = {"bbox": {"boxes_xywh": np.zeros((0, 4))}, "segm": {"masks": []},
                   "keypoints": {"keypoints": np.zeros((0, 3 * len(params.keypoint_sigmas or ())))}}[iou_type]
    for image_id in np.setdiff1d(np.asarray(params.image_ids, np.int64), results.image_ids).tolist():
        evaluator.add(image_id, scores=np.zeros(0), category_ids=np.zeros(0, np.int64), **empty)


def _engine_params(p: Any, cats: list) -> EvalParams | None:
    kp = p.iouType == "keypoints"
    try:
        areas = [(f"area{i}", float(r[0]), float(r[1])) for i, r in enumerate(p.areaRng)]
        return EvalParams.create(
            p.iouType, image_ids=p.imgIds, category_ids=cats, use_cats=bool(p.useCats), max_dets=list(p.maxDets),
            area_ranges=areas, iou_thresholds=list(p.iouThrs), recall_thresholds=list(p.recThrs),
            keypoint_sigmas=np.asarray(p.kpt_oks_sigmas, dtype=np.float64).tolist() if kp else None)
    except (CocosegError, TypeError, ValueError, IndexError, AttributeError):
        return None


def cell_anns(coco: Any, img_ids: Any, cat_ids: list | None) -> list:
    """What COCOeval._prepare loads: the annotations of the images (and categories), in its order."""
    index = coco.imgToAnns
    anns = [a for i in img_ids if i in index for a in index[i]]
    if cat_ids is not None:
        wanted = set(cat_ids)
        anns = [a for a in anns if a["category_id"] in wanted]
    return anns


def _clean(anns: list, fields: tuple, is_gt: bool) -> bool:
    """Every field pycocotools reads is there, ids are unique (and not 0 for GT), scores are numbers."""
    ids = set()
    for a in anns:
        for f in fields:
            if f not in a:
                return False
        ann_id = a["id"]
        if ann_id in ids or (is_gt and ann_id == 0):
            return False  # duplicate ids load the last record twice; a match to GT id 0 reads as none
        ids.add(ann_id)
        if not is_gt and not (isinstance(a["score"], (int, float, np.number)) and math.isfinite(a["score"])):
            return False
    return True


def _results(dt_anns: list, iou_type: str, dt_coco: Any) -> DetectionResults:
    n = len(dt_anns)
    image_ids = np.fromiter((a["image_id"] for a in dt_anns), np.int64, n)
    category_ids = np.fromiter((a["category_id"] for a in dt_anns), np.int64, n)
    scores = np.fromiter((a["score"] for a in dt_anns), np.float64, n)
    areas = np.fromiter((a["area"] for a in dt_anns), np.float64, n)
    boxes = np.zeros((n, 4))
    if iou_type != "segm" or all("bbox" in a for a in dt_anns):
        boxes = np.array([a["bbox"] for a in dt_anns], dtype=np.float64).reshape(n, 4)
    segms = kps = None
    if iou_type == "segm":
        segms = [_rle(a, dt_coco) for a in dt_anns]
    elif iou_type == "keypoints":
        kps = np.array([a["keypoints"] for a in dt_anns], dtype=np.float64).reshape(n, -1)
    return DetectionResults(image_ids, category_ids, scores, boxes, areas, iou_type, segms, kps, source="cocoDt")


def _rle(ann: dict, coco: Any) -> dict:
    """annToRLE on the results' COCO (its image sizes), as COCOeval._prepare converts detections."""
    segm = ann["segmentation"]
    if isinstance(segm, dict) and isinstance(segm.get("counts"), (bytes, str)):
        return segm
    return coco.annToRLE(ann)
