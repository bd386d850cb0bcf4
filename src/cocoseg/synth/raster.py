"""Masks for the synthetic data: pycocotools rasterization, bitmap tracing to COCO polygons, RLE.

Coordinates follow COCO: pixel (col i, row j) covers [i, i+1) x [j, j+1), so a polygon through
pixel corners rasterizes (pycocotools) to exactly the pixels it encloses.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

# approxPolyDP tolerances tried in turn, in half-pixel units of the 2x-upsampled trace (1.0 = 0.5 px)
_SIMPLIFY_STEPS = (2.0, 1.0, 0.5)
_MIN_TRACE_IOU = 0.97


def rasterize(polygons: Sequence[np.ndarray]) -> tuple[np.ndarray, int, int]:
    """Rasterize (K, 2) float polygons (image coordinates, unioned) as pycocotools does.

    Returns a bool patch and its top-left (x0, y0) in image coordinates; the patch covers the
    polygons' bounding box. Shifting by whole pixels keeps pycocotools' rasterization unchanged.
    """
    points = np.concatenate(polygons)
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 1
    width, height = int(x1 - x0 + 1), int(y1 - y0 + 1)
    offset = np.array([x0, y0], dtype=np.float64)
    flat = [(poly - offset).ravel().tolist() for poly in polygons]
    rle = mask_utils.merge(mask_utils.frPyObjects(flat, height, width))
    return mask_utils.decode(rle).astype(bool), int(x0), int(y0)


def rasterize_segmentation(segmentation: Any, height: int, width: int) -> np.ndarray:
    """The (H, W) bool mask pycocotools draws for a COCO segmentation (polygon list or RLE dict)."""
    return mask_utils.decode(_merged_rle(segmentation, height, width)).astype(bool)


def area_and_bbox(segmentation: Any, height: int, width: int) -> tuple[float, list[float]]:
    """COCO `area` and `bbox` [x, y, w, h] of a segmentation, computed the pycocotools way."""
    rle = _merged_rle(segmentation, height, width)
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    return float(mask_utils.area(rle)), bbox


def _merged_rle(segmentation: Any, height: int, width: int) -> dict:
    if isinstance(segmentation, dict):
        return mask_utils.frPyObjects(segmentation, height, width)
    return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE of an (H, W) bool mask: column-major runs starting with zeros."""
    height, width = mask.shape
    flat = mask.reshape(-1, order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts  # RLE always starts with a run of zeros, possibly empty
    return {"size": [int(height), int(width)], "counts": [int(c) for c in counts]}


def trace_polygons(mask: np.ndarray, x0: int = 0, y0: int = 0) -> list[list[float]]:
    """COCO polygons (flat [x1, y1, ...] lists, image coordinates) that rasterize to `mask`.

    Each connected part (8-connectivity) becomes one polygon; its holes are joined to the outer
    boundary by a zero-width bridge, which pycocotools (and even-odd or non-zero fillers) rasterize
    as a hole, because COCO polygon lists are unioned and cannot carry holes otherwise. The trace
    runs on the 2x-upsampled mask so vertices sit a quarter pixel inside the pixel edges; the
    result is simplified by the largest of 1, 0.5, 0.25 px that keeps the IoU with the mask >= 0.97.
    """
    if not mask.any():
        return []
    polygons = _trace(mask, simplify=0.0)
    for tolerance in _SIMPLIFY_STEPS:
        simple = _trace(mask, simplify=tolerance)
        if _iou_with(simple, mask) >= _MIN_TRACE_IOU:
            polygons = simple
            break
    return [_offset_flat(poly, x0, y0) for poly in polygons]


def _trace(mask: np.ndarray, simplify: float) -> list[np.ndarray]:
    up = np.pad(np.repeat(np.repeat(mask.astype(np.uint8), 2, axis=0), 2, axis=1), 1)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    links = hierarchy[0]
    polygons = []
    for index, contour in enumerate(contours):
        if links[index, 3] != -1:  # a hole: bridged into its outer boundary below
            continue
        holes = []
        child = links[index, 2]
        while child != -1:
            holes.append(_to_pixels(contours[child], simplify))
            child = links[child, 0]
        polygons.append(_bridge(_to_pixels(contour, simplify), holes))
    return polygons


def _to_pixels(contour: np.ndarray, simplify: float) -> np.ndarray:
    if simplify > 0 and len(contour) > 4:
        simpler = cv2.approxPolyDP(contour, simplify, True)
        if len(simpler) >= 3:
            contour = simpler
    # upsampled pixel u (after the 1-pixel pad) has its centre at (u - 1 + 0.5) / 2 in image coordinates
    return (contour[:, 0, :].astype(np.float64) - 0.5) / 2.0


def _bridge(outer: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    """Join each hole to the boundary through its closest vertex pair (walked there and back)."""
    polygon = outer
    for hole in holes:
        dist = ((polygon[:, None, :] - hole[None, :, :]) ** 2).sum(axis=-1)
        i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
        polygon = np.concatenate([polygon[: i + 1], hole[j:], hole[: j + 1], polygon[i:]])
    return polygon


def _iou_with(polygons: list[np.ndarray], mask: np.ndarray) -> float:
    if not polygons:
        return 0.0
    drawn = rasterize_segmentation([p.ravel().tolist() for p in polygons], *mask.shape)
    union = np.logical_or(drawn, mask).sum()
    return float(np.logical_and(drawn, mask).sum() / union) if union else 1.0


def _offset_flat(polygon: np.ndarray, x0: int, y0: int) -> list[float]:
    shifted = polygon + np.array([x0, y0], dtype=np.float64)
    return [float(v) for v in shifted.ravel()]
