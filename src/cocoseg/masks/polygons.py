"""Polygon rules in numpy: Sutherland-Hodgman clipping to a rectangle and shoelace areas.

A polygon (ring, part) is a (K, 2) array of absolute pixel (x, y) vertices in COCO's continuous
coordinates. Clipping keeps the input's float dtype, so float32 training labels and float64 format
conversion each compute in their own precision with the same rule.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def clip_polygon(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Sutherland-Hodgman clip of one polygon to the rectangle [x0, x1] x [y0, y1]; may return (0, 2).

    Float32 and float64 input keep their dtype (anything else becomes float64); fewer than three
    vertices left is an empty (0, 2) result.
    """
    poly = np.asarray(points)
    if poly.dtype not in (np.float32, np.float64):
        poly = poly.astype(np.float64)
    if len(poly) >= 3:
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        if lo[0] >= x0 and lo[1] >= y0 and hi[0] <= x1 and hi[1] <= y1:  # wholly inside: most parts
            return poly
    for axis, bound, keep_greater in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if len(poly) == 0:
            break
        poly = _clip_half_plane(poly, axis, bound, keep_greater)
    return poly if len(poly) >= 3 else np.zeros((0, 2), poly.dtype)


def _clip_half_plane(poly: np.ndarray, axis: int, bound: float, keep_greater: bool) -> np.ndarray:
    coord = poly[:, axis]
    inside = coord >= bound if keep_greater else coord <= bound
    if inside.all():
        return poly
    if not inside.any():
        return poly[:0]
    prev = np.concatenate([poly[-1:], poly[:-1]])
    prev_inside = np.concatenate([inside[-1:], inside[:-1]])
    denom = coord - prev[:, axis]
    t = np.divide(bound - prev[:, axis], denom, out=np.zeros_like(coord), where=denom != 0)
    cross = prev + t[:, None] * (poly - prev)
    cross[:, axis] = bound
    # vertex i emits the crossing of the edge that reaches it (when that edge enters or leaves), then itself
    emit = np.stack([inside != prev_inside, inside], axis=1)
    return np.stack([cross, poly], axis=1)[emit].astype(poly.dtype, copy=False)


def clip_instance(parts: Sequence[np.ndarray], width: float, height: float) -> list[np.ndarray]:
    """Every part clipped to the image [0, width] x [0, height]; parts that vanish are dropped."""
    clipped = (clip_polygon(p, 0.0, 0.0, width, height) for p in parts)
    return [p for p in clipped if len(p)]


def clip_instances(instances: Sequence[Sequence[np.ndarray]], x0: float, y0: float, x1: float, y1: float
                   ) -> list[list[np.ndarray]]:
    """`clip_polygon` of every float32 part of every instance (vanished parts dropped, instances kept).

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
    clipped = [p.astype(np.float32, copy=False) if ok else clip_polygon(p.astype(np.float32, copy=False),
                                                                        x0, y0, x1, y1)
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
    """Shoelace area of one polygon (0 under three vertices)."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def instance_area(parts: Sequence[np.ndarray]) -> float:
    """Sum of the part areas (parts of one COCO instance rarely overlap)."""
    return sum(polygon_area(p) for p in parts)


# How far outside its image a polygon vertex may lie, in image sides, before it is refused: pycocotools'
# frPyObjects rasterizes the whole coordinate range (1e9 took 24 GB and crashed), and a vertex beyond one
# side is no annotation anyone drew (the mask is clipped to the image anyway).
POLYGON_TOLERANCE = 1.0


def far_coordinate(polygon: Sequence[float], width: int, height: int) -> float | None:
    """The first coordinate of a flat [x1, y1, ...] list lying more than POLYGON_TOLERANCE sides outside
    the width x height image (or not finite), or None when all lie within."""
    try:
        arr = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError):  # not numbers: the validator names that; this rule is about extent
        return None
    if arr.ndim != 1 or arr.size < 2:
        return None
    xs, ys = arr[0::2], arr[1::2]
    t = POLYGON_TOLERANCE
    far = ~np.isfinite(arr)
    far[0::2] |= (xs < -t * width) | (xs > (1 + t) * width)
    far[1::2] |= (ys < -t * height) | (ys > (1 + t) * height)
    hit = np.flatnonzero(far)
    return float(arr[hit[0]]) if hit.size else None


def far_message(value: float, width: int, height: int) -> str:
    """The one sentence for a coordinate `far_coordinate` found."""
    return (f"has the coordinate {value:g}, more than {POLYGON_TOLERANCE:g} image side outside the {width}x{height} "
            "image; pycocotools would rasterize that whole range (refused)")
