"""Numpy geometry of the data pipeline on polygon parts: transform and rasterisation (clipping, boxes and
areas are `cocoseg.masks.polygons`).

A polygon part is a (K, 2) float32 array of absolute pixel (x, y) vertices in COCO's continuous
coordinates. An instance is a list of parts (COCO's multi-part polygons stay multi-part), rasterised as
the union of its parts by pycocotools' codec (`frPyObjects` + `merge`), so training masks are exactly
the masks the evaluator sees.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cocoseg.masks import decode, polygons_to_rle, rasterize_polygons


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(K, 2) points through a 3x3 homography (affine when the last row is 0 0 1) -> (K, 2) float32."""
    if len(points) == 0:
        return points.astype(np.float32)
    homo = np.concatenate([points, np.ones((len(points), 1), points.dtype)], axis=1) @ matrix.T
    if matrix[2, 0] != 0 or matrix[2, 1] != 0:
        return (homo[:, :2] / homo[:, 2:3]).astype(np.float32)
    return homo[:, :2].astype(np.float32)


def instance_bitmap(parts: Sequence[np.ndarray], height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """(H, W) uint8 mask of the parts (coordinates times `scale`), rasterised exactly as pycocotools
    rasterises COCO polygons (continuous coordinates, pixel i spans [i, i + 1]; parts united)."""
    polys = [(p * scale).astype(np.float64).reshape(-1).tolist() for p in parts if len(p) >= 3]
    if not polys:
        return np.zeros((height, width), np.uint8)
    return decode(polygons_to_rle(polys, height, width))


def fill_instance(canvas: np.ndarray, parts: Sequence[np.ndarray], value: int, scale: float = 1.0) -> None:
    """Set `canvas` (H, W) to `value` where the instance's parts cover it (in place)."""
    canvas[instance_bitmap(parts, canvas.shape[0], canvas.shape[1], scale).astype(bool)] = value


def _flat_parts(instances: Sequence[Sequence[np.ndarray]], scale: float) -> list[list[list[float]]]:
    return [[(p * scale).astype(np.float64).reshape(-1).tolist() for p in parts] for parts in instances]


def rasterize_overlap(instances: Sequence[Sequence[np.ndarray]], height: int, width: int, scale: float
                      ) -> np.ndarray:
    """One (H, W) index map: pixel = 1 + index of the instance covering it, 0 = background.

    Instances are drawn largest mask first, so where they overlap the smaller one wins (the reference's
    `overlap_mask=True` convention); equal areas keep the list order.
    """
    dtype = np.uint8 if len(instances) < 255 else np.int32
    if not instances:
        return np.zeros((height, width), dtype=dtype)
    bitmaps = rasterize_polygons(_flat_parts(instances, scale), height, width)
    areas = bitmaps.reshape(len(instances), -1).sum(axis=1, dtype=np.int64)
    order = np.argsort(-areas, kind="stable")
    # each pixel keeps the last drawn instance covering it: the highest 1-based draw rank there
    rank = np.empty(len(order), dtype=dtype)
    rank[order] = np.arange(1, len(order) + 1)
    last = (bitmaps.astype(dtype, copy=False) * rank[:, None, None]).max(axis=0)
    return np.concatenate([[0], order + 1]).astype(dtype)[last]


def rasterize_each(instances: Sequence[Sequence[np.ndarray]], height: int, width: int, scale: float
                   ) -> np.ndarray:
    """(N, H, W) uint8: one full binary mask per instance (overlaps kept in both)."""
    return rasterize_polygons(_flat_parts(instances, scale), height, width)


def rle_to_parts(bitmap: np.ndarray) -> list[np.ndarray]:
    """A binary mask as polygon parts that rasterise back to exactly that mask (holes bridged into
    their outer ring by a zero-width cut; see `cocoseg.masks.contours`)."""
    from cocoseg.masks.contours import bitmap_to_polygons

    return [np.asarray(p, np.float32).reshape(-1, 2) for p in bitmap_to_polygons(bitmap) if len(p) >= 6]
