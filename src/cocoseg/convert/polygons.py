"""Polygon work shared by the converters: one ring per object (bridging), undoing bridges, clipping.

All rings are (N, 2) float arrays in absolute COCO pixel coordinates. Equality of masks is
always checked with pycocotools' own rasterization (`rleFrPoly` + `merge`), the definition of a
COCO polygon's mask.
"""
from __future__ import annotations

import cv2
import numpy as np

from cocoseg import masks
from cocoseg.masks.contours import bitmap_to_polygons, bridge_polygons, bridge_rings, signed_area

# reasons reported by the converters (one place, so the summary reads the same everywhere)
BRIDGED_PARTS = "multi-part object bridged into one polygon (rasterizes to the same mask)"
BRIDGED_HOLES = "mask with holes: holes bridged into the outer ring (rasterizes to the same mask)"
SPLIT_PARTS = "multi-part object written as one line per part (--split_parts)"
RETRACED = "overlapping polygon parts re-traced from their merged mask (rasterizes to the same mask)"
RLE_TRACED = "RLE mask traced to a polygon (rasterizes to the same mask)"
DEGENERATE_PART = "polygon part with fewer than 3 points dropped"
BOX_AS_POLYGON = "box-only object written as a rectangle polygon"
CLIPPED = "coordinates outside the image clipped to it"
EMPTY_MASK = "object with an empty mask"


def _raster_rle(parts: list[np.ndarray], h: int, w: int) -> dict:
    return masks.polygons_to_rle([p.reshape(-1).tolist() for p in parts], h, w)


def same_mask(a: list[np.ndarray], b: list[np.ndarray], h: int, w: int) -> bool:
    """True when two lists of rings rasterize (COCO union of parts) to the same mask."""
    return _raster_rle(a, h, w)["counts"] == _raster_rle(b, h, w)["counts"]


def flat_parts(segmentation: list) -> tuple[list[np.ndarray], int]:
    """COCO polygon parts as rings; also how many degenerate parts (< 3 points) were left out."""
    rings = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in segmentation if len(p) >= 6]
    return rings, sum(1 for p in segmentation if len(p) < 6)


def object_rings(segmentation: list | dict, h: int, w: int, split_parts: bool = False) -> tuple[list[np.ndarray], list[str]]:
    """The ring(s) for one YOLO line per object (or per part), and the reasons anything changed.

    Polygons pass through; several parts are bridged into one ring when that rasterizes to the
    parts' union (they do not overlap), otherwise their merged mask is re-traced. RLE masks are
    traced with `bitmap_to_polygons`. Every result rasterizes to the original mask.
    """
    reasons: list[str] = []
    if isinstance(segmentation, dict):
        mask = masks.decode(masks.segmentation_to_rle(segmentation, h, w))
        parts = [np.asarray(p).reshape(-1, 2) for p in bitmap_to_polygons(mask)]
        if not parts:
            return [], [EMPTY_MASK]
        reasons.append(RLE_TRACED)
        return _join(parts, h, w, split_parts, reasons, overlap_checked=True)
    parts, degenerate = flat_parts(segmentation)
    reasons += [DEGENERATE_PART] * degenerate
    if len(parts) <= 1:
        return parts, reasons
    return _join(parts, h, w, split_parts, reasons, overlap_checked=False)


def _join(parts: list[np.ndarray], h: int, w: int, split_parts: bool, reasons: list[str],
          overlap_checked: bool) -> tuple[list[np.ndarray], list[str]]:
    if split_parts:
        if not overlap_checked and not _disjoint(parts, h, w):
            parts = _retrace(parts, h, w)
            reasons.append(RETRACED)
        if len(parts) > 1:
            reasons.append(SPLIT_PARTS)
        if any(_has_cut(p) for p in parts):
            reasons.append(BRIDGED_HOLES)
        return parts, reasons
    if len(parts) == 1:
        if _has_cut(parts[0]):
            reasons.append(BRIDGED_HOLES)
        return parts, reasons
    ring = np.asarray(bridge_polygons([p.reshape(-1).tolist() for p in parts])).reshape(-1, 2)
    if not same_mask([ring], parts, h, w):
        parts = _retrace(parts, h, w)
        reasons.append(RETRACED)
        ring = np.asarray(bridge_polygons([p.reshape(-1).tolist() for p in parts])).reshape(-1, 2)
    reasons.append(BRIDGED_PARTS)
    return [ring], reasons


def _disjoint(parts: list[np.ndarray], h: int, w: int) -> bool:
    rles = [_raster_rle([p], h, w) for p in parts]
    return int(masks.area(masks.merge(rles))) == int(sum(masks.area(r) for r in rles))


def _retrace(parts: list[np.ndarray], h: int, w: int) -> list[np.ndarray]:
    mask = masks.decode(_raster_rle(parts, h, w))
    return [np.asarray(p).reshape(-1, 2) for p in bitmap_to_polygons(mask)]


def _has_cut(ring: np.ndarray) -> bool:
    return len(split_cuts(ring)) > 1


def dedupe(ring: np.ndarray) -> np.ndarray:
    """Drop consecutive repeated vertices (and a closing vertex equal to the first)."""
    if len(ring) < 2:
        return ring
    keep = np.empty(len(ring), dtype=bool)
    keep[1:] = (ring[1:] != ring[:-1]).any(axis=1)
    keep[0] = bool((ring[0] != ring[-1]).any())
    if not keep.any():
        return ring[:1]
    return ring[keep]


def split_cuts(ring: np.ndarray) -> list[np.ndarray]:
    """Split a ring at zero-width cuts (an edge later walked back in reverse) into its loops.

    The loops' edges are the ring's minus the cut edges, so their parity fill equals the ring's.
    """
    pts = dedupe(np.asarray(ring, dtype=np.float64))
    n = len(pts)
    if n < 4 or len(np.unique(np.ascontiguousarray(pts).view(np.complex128))) == n:
        return [pts]  # a cut needs a vertex visited twice
    keys = [tuple(p) for p in pts.tolist()]
    first_edge: dict[tuple, int] = {}
    for k in range(n):
        edge = (keys[k], keys[(k + 1) % n])
        back = first_edge.get((edge[1], edge[0]))
        if back is not None and k + 1 < n:
            inner = pts[back + 1:k]
            outer = np.concatenate([pts[:back + 1], pts[k + 2:]])
            return [r for r in split_cuts(outer) + split_cuts(inner) if len(r) >= 3]
        first_edge.setdefault(edge, k)
    return [pts]


def unbridge(ring: np.ndarray, h: int, w: int) -> list[np.ndarray]:
    """COCO parts for one bridged ring: its separate parts, each with its holes still bridged in.

    Falls back to the ring itself whenever the parts' union would not rasterize to the ring's mask.
    """
    loops = split_cuts(ring)
    whole = dedupe(np.asarray(ring, dtype=np.float64))
    if len(loops) == 1:
        return [whole]
    outers: list[np.ndarray] = []
    signs: list[float] = []
    for loop in sorted(loops, key=lambda p: -abs(signed_area(p))):
        sign = np.sign(signed_area(loop))
        probe = (float(loop[0, 0]), float(loop[0, 1]))
        host = next((k for k, o in enumerate(outers) if signs[k] != sign and
                     cv2.pointPolygonTest(o.astype(np.float32).reshape(-1, 1, 2), probe, False) > 0), None)
        if host is None:
            outers.append(loop)
            signs.append(sign)
        else:
            outers[host] = bridge_rings(outers[host], loop)
    if not same_mask(outers, [whole], h, w):
        return [whole]
    return outers


def box_ring(bbox_xywh: list[float]) -> np.ndarray:
    """The rectangle of a COCO box as a ring (clockwise on screen)."""
    x, y, bw, bh = (float(v) for v in bbox_xywh)
    return np.array([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]])
