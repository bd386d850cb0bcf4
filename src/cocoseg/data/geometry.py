"""Pure numpy geometry on polygon parts: transform, clip, boxes, areas, rasterisation.

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


def clip_polygon(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Sutherland-Hodgman clip of one polygon to the rectangle [x0, x1] x [y0, y1]; may return (0, 2)."""
    poly = points if points.dtype == np.float32 else points.astype(np.float32)
    if len(poly) >= 3:
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        if lo[0] >= x0 and lo[1] >= y0 and hi[0] <= x1 and hi[1] <= y1:  # wholly inside: most parts
            return poly
    for axis, bound, keep_greater in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if len(poly) == 0:
            break
        poly = _clip_half_plane(poly, axis, bound, keep_greater)
    return poly if len(poly) >= 3 else np.zeros((0, 2), np.float32)


def _clip_half_plane(poly: np.ndarray, axis: int, bound: float, keep_greater: bool) -> np.ndarray:
    coord = poly[:, axis]
    inside = coord >= bound if keep_greater else coord <= bound
    if inside.all():
        return poly
    if not inside.any():
        return poly[:0]
    nxt = np.concatenate([poly[1:], poly[:1]])
    nxt_inside = np.concatenate([inside[1:], inside[:1]])
    denom = nxt[:, axis] - coord
    t = np.divide(bound - coord, denom, out=np.zeros_like(coord), where=denom != 0)
    cross = poly + (nxt - poly) * t[:, None]
    cross[:, axis] = bound
    # edge i emits its start vertex when inside, then the crossing point when it enters or leaves
    emit = np.stack([inside, inside != nxt_inside], axis=1)
    return np.stack([poly, cross], axis=1)[emit].astype(np.float32, copy=False)


def clip_instance(parts: Sequence[np.ndarray], width: float, height: float) -> list[np.ndarray]:
    """Every part clipped to the image [0, width] x [0, height]; parts that vanish are dropped."""
    clipped = (clip_polygon(p, 0.0, 0.0, width, height) for p in parts)
    return [p for p in clipped if len(p)]


def clip_instances(instances: Sequence[Sequence[np.ndarray]], x0: float, y0: float, x1: float, y1: float
                   ) -> list[list[np.ndarray]]:
    """`clip_polygon` of every part of every instance (vanished parts dropped, instances kept, maybe empty).

    The parts wholly inside, most of them, are found in one vectorised pass; only the others are clipped.
    """
    parts = [p for inst in instances for p in inst]
    inside = np.zeros(len(parts), dtype=bool)
    checked = [i for i, p in enumerate(parts) if len(p) >= 3]
    if checked:
        pts = np.concatenate([parts[i] for i in checked]).astype(np.float32, copy=False)
        starts = np.cumsum([0] + [len(parts[i]) for i in checked[:-1]])
        lo, hi = np.minimum.reduceat(pts, starts, axis=0), np.maximum.reduceat(pts, starts, axis=0)
        inside[checked] = (lo[:, 0] >= x0) & (lo[:, 1] >= y0) & (hi[:, 0] <= x1) & (hi[:, 1] <= y1)
    clipped = [p.astype(np.float32, copy=False) if ok else clip_polygon(p, x0, y0, x1, y1)
               for p, ok in zip(parts, inside.tolist())]
    out, k = [], 0
    for inst in instances:
        out.append([c for c in clipped[k:k + len(inst)] if len(c)])
        k += len(inst)
    return out


def instance_box(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Tight xyxy box (4,) float32 around all parts (zeros when there are none)."""
    if not parts:
        return np.zeros(4, np.float32)
    pts = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32, copy=False)


def polygon_area(points: np.ndarray) -> float:
    """Shoelace area of one part."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def instance_area(parts: Sequence[np.ndarray]) -> float:
    """Sum of the part areas (parts of one COCO instance rarely overlap)."""
    return sum(polygon_area(p) for p in parts)


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
