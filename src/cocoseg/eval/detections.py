"""Detections for the pipeline, as `DetectionResults`: loaded results made ready for an IoU type, or one image's arrays."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from cocoseg import masks as cmasks
from cocoseg.errors import CocosegError, DataError, Problem
from cocoseg.io import results_checks as checks
from cocoseg.io.results import DetectionResults, complete_results
from cocoseg.io.validate_records import rle_problems
from cocoseg.masks.packed_rle import PackedRles


def ready_for(res: DetectionResults, iou_type: str, sizes: dict[int, tuple[int, int]]) -> DetectionResults:
    """The results with what `iou_type` needs: packed masks for segm (box results' polygons rasterized here)."""
    if iou_type == "segm" and not isinstance(res.segmentations, PackedRles):
        if res.kind == "keypoints":
            raise CocosegError(f"{res.source}: segm evaluation needs mask results, these are keypoint results")
        rles = [_as_rle(res, i, sizes) for i in range(len(res))]
        try:
            packed = PackedRles.from_rles(rles)
        except (OverflowError, UnicodeEncodeError):  # a size beyond int64, a non-ASCII count: name the result
            _refuse_bad_rles(rles, res.source)
            raise
        checks.check_packed_rles(packed, res.source)  # box results' RLEs were not checked (they hung _pair_iou)
        return replace(res, segmentations=packed)
    if iou_type == "keypoints" and res.keypoints is None:
        raise CocosegError(f"{res.source}: keypoints evaluation needs results with keypoints")
    return res


def _refuse_bad_rles(rles: list[dict], file: str) -> None:
    """DataError naming each result whose RLE breaks the validator's rule (issue 16.5)."""
    problems: list[Problem] = []
    for i, rle in enumerate(rles):
        rle_problems(rle, None, lambda field, message, severity="error", i=i: problems.append(
            Problem(file, f"result {i}", field, message)) if severity == "error" else None)
    if problems:
        raise DataError(problems)


def _as_rle(res: DetectionResults, i: int, sizes: dict[int, tuple[int, int]]) -> dict:
    """Result i's mask as a compressed RLE (box results: their polygon, rasterized as annToRLE does)."""
    segm = res.segmentation(i)
    if isinstance(segm, dict) and isinstance(segm.get("counts"), (str, bytes)):
        return segm
    image_id = int(res.image_ids[i])
    if image_id not in sizes:
        raise CocosegError(f"{res.source}: result {i}: image {image_id} has no height/width in the GT")
    return cmasks.segmentation_to_rle(segm, *sizes[image_id])


def image_detections(image_id: int, iou_type: str, scores: Any, category_ids: Any, boxes_xyxy: Any, boxes_xywh: Any,
                     masks: Any, keypoints: Any, size: tuple[int, int] | None) -> DetectionResults:
    """One image's detections from arrays, completed with loadRes' rules (see Evaluator.add)."""
    score = _vector(scores, "scores", np.float64)
    n = len(score)
    cats = _vector(category_ids, "category_ids", np.int64, n)
    if np.isnan(score).any():
        raise CocosegError(f"image {image_id}: scores must not be NaN")
    boxes = _boxes(boxes_xyxy, boxes_xywh, n, image_id)
    rles = _rles(masks, n, image_id, size) if iou_type == "segm" or masks is not None else None
    kps = _keypoints(keypoints, n, image_id) if keypoints is not None else None
    if iou_type == "segm" and rles is None:
        raise CocosegError(f"image {image_id}: segm evaluation needs masks")
    if iou_type == "keypoints" and kps is None:
        raise CocosegError(f"image {image_id}: keypoints evaluation needs keypoints")
    kind = "bbox" if boxes is not None else iou_type
    if kind == "bbox" and boxes is None:
        raise CocosegError(f"image {image_id}: bbox evaluation needs boxes_xyxy or boxes_xywh")
    packed = PackedRles.from_rles(rles) if rles is not None else None
    return complete_results(kind, np.full(n, image_id, np.int64), cats, score, boxes=boxes, segmentations=packed,
                            keypoints=kps, file=f"image {image_id}")


def _vector(values: Any, name: str, dtype: type, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values if values is not None else [], dtype=dtype).reshape(-1)
    if n is not None and len(arr) != n:
        raise CocosegError(f"{name} has {len(arr)} values, expected {n} (one per score)")
    return arr


def _boxes(xyxy: Any, xywh: Any, n: int, image_id: int) -> np.ndarray | None:
    if xyxy is not None and xywh is not None:
        raise CocosegError(f"image {image_id}: give boxes_xyxy or boxes_xywh, not both")
    given = xyxy if xyxy is not None else xywh
    if given is None:
        return None
    b = np.asarray(given, dtype=np.float64).reshape(-1, 4) if np.size(given) else np.zeros((0, 4))
    if len(b) != n:
        raise CocosegError(f"image {image_id}: {len(b)} boxes for {n} scores")
    if not np.isfinite(b).all():
        raise CocosegError(f"image {image_id}: boxes must be finite")
    return cmasks.xyxy_to_xywh(b) if xyxy is not None else b


def _rles(masks: Any, n: int, image_id: int, size: tuple[int, int] | None) -> list[dict] | None:
    if masks is None:
        return None
    if isinstance(masks, (list, tuple)):
        if len(masks) != n:
            raise CocosegError(f"image {image_id}: {len(masks)} masks for {n} scores")
        out = []
        for m in masks:
            if isinstance(m, dict) and isinstance(m.get("counts"), (str, bytes)):
                out.append(m)
            elif size is None:
                raise CocosegError(f"image {image_id}: polygon or uncompressed masks need the image size in the GT")
            else:
                out.append(cmasks.segmentation_to_rle(m, *size))
        return out
    arr = np.asarray(masks)
    if n == 0:
        return []
    if arr.ndim != 3 or arr.shape[0] != n:
        raise CocosegError(f"image {image_id}: masks must be (N, H, W) bitmaps with N = {n}, got shape {arr.shape}")
    if size is not None and tuple(arr.shape[1:]) != tuple(size):
        raise CocosegError(f"image {image_id}: masks are {arr.shape[1]}x{arr.shape[2]} but the image is {size[0]}x{size[1]}")
    return cmasks.encode(arr)


def _keypoints(keypoints: Any, n: int, image_id: int) -> np.ndarray:
    k = np.asarray(keypoints, dtype=np.float64)
    k = k.reshape(n, -1) if n else k.reshape(0, max(k.size, 3))
    if k.shape[1] % 3:
        raise CocosegError(f"image {image_id}: keypoints must be (N, K, 3) or (N, 3K), got shape {np.shape(keypoints)}")
    return k
