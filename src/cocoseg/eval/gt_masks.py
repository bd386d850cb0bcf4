"""The GT masks of a segm evaluation: COCO.annToRLE of every GT table row, packed.

Polygon annotations (most of COCO) are rasterized by the compiled core (csrc/poly.c, bit-identical
to pycocotools' frPyObjects + merge) on several threads, from one flat array of coordinates;
RLE annotations, and everything when the core is absent (COCOSEG_NATIVE=0), go through
pycocotools as `segmentations_to_rles` does. A GT the fast path cannot take exactly (an error to
report, a coordinate out of int range) takes the per-image path, which names the problem.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from cocoseg.errors import CocosegError, DataError, Problem
from cocoseg.eval.kernels import _run, _split
from cocoseg.eval.tables import GtTable
from cocoseg.masks.packed_rle import PackedRles, concat_packed, segmentations_to_rles
from cocoseg.masks.polygons import POLYGON_TOLERANCE, far_coordinate, far_message
from cocoseg.masks.rle import segmentation_to_rle
from cocoseg.native import NATIVE

_INT_SAFE = 4.0e8  # |coordinate| * 5 (the rasterizer's grid) must stay an int


def pack_gt_masks(table: GtTable, anns: Sequence[dict], image_sizes: dict, source: str) -> PackedRles:
    """Packed compressed RLEs of the table rows, in row order (annToRLE of each row's annotation)."""
    if NATIVE is not None:
        packed = _pack_native(table, anns, image_sizes)
        if packed is not None:
            return packed
    return _pack_per_image(table, anns, image_sizes, source)


def _pack_per_image(table: GtTable, anns: Sequence[dict], image_sizes: dict, source: str) -> PackedRles:
    rles: list = []
    for img in np.flatnonzero(np.diff(table.image_starts)).tolist():
        image_id = int(table.image_ids[img])
        if image_id not in image_sizes:
            raise CocosegError(f"image {image_id} has no height/width: segm evaluation needs them")
        h, w = image_sizes[image_id]
        rows = table.ann_index[table.image_starts[img]:table.image_starts[img + 1]].tolist()
        rles.extend(segmentations_to_rles([segmentation_of(anns[i], source, h, w) for i in rows], h, w))
    return PackedRles.from_rles(rles)


def segmentation_of(ann: dict, file: str, h: int, w: int) -> object:
    """The annotation's segmentation; one clear error when a GT for segm evaluation has none, or a polygon
    reaching far outside its image (pycocotools would rasterize that whole range)."""
    if "segmentation" not in ann:
        raise DataError([Problem(file, f"annotation id {ann.get('id')}", "segmentation",
                                 "is missing: segm evaluation needs a mask for every GT annotation "
                                 "(evaluate this file with iou_type='bbox')")])
    segm = ann["segmentation"]
    for k, part in enumerate(segm if isinstance(segm, list) else ()):
        far = far_coordinate(part, w, h) if isinstance(part, list) and len(part) > 4 else None
        if far is not None:
            raise DataError([Problem(file, f"annotation id {ann.get('id')}", f"segmentation[{k}]",
                                     far_message(far, w, h))])
    return segm


def _row_sizes(table: GtTable, image_sizes: dict) -> np.ndarray | None:
    """(G, 2) int64 [h, w] of each row's image, or None when an image lacks them."""
    hw = np.zeros((len(table.image_ids), 2), np.int64)
    used = np.flatnonzero(np.diff(table.image_starts))
    for img in used.tolist():
        size = image_sizes.get(int(table.image_ids[img]))
        if size is None:
            return None
        hw[img] = (int(size[0]), int(size[1]))
    return hw[table.img]


def _is_polygon(segm: object) -> bool:
    # frPyObjects' own test: the first part's length > 4 makes every part a polygon (annToRLE)
    return isinstance(segm, list) and len(segm) > 0 and isinstance(segm[0], list) and len(segm[0]) > 4


def _pack_native(table: GtTable, anns: Sequence[dict], image_sizes: dict) -> PackedRles | None:
    sizes = _row_sizes(table, image_sizes)
    if sizes is None:
        return None
    segms = [anns[i].get("segmentation") for i in table.ann_index.tolist()]
    if any(s is None for s in segms):
        return None
    poly_rows = [r for r, s in enumerate(segms) if _is_polygon(s)]
    polys = [segms[r] for r in poly_rows]
    flat = _flatten(polys)
    if flat is None:
        return None
    coords, part_len, n_parts = flat
    poly_sizes = np.ascontiguousarray(sizes[poly_rows]).reshape(-1, 2)
    if _needs_checks(coords, part_len, n_parts, poly_sizes):
        return None
    part_starts = np.zeros(len(part_len) + 1, np.int64)
    np.cumsum(part_len, out=part_starts[1:])
    ann_parts = np.zeros(len(polys) + 1, np.int64)
    np.cumsum(n_parts, out=ann_parts[1:])
    native = _rasterize(coords, part_starts, ann_parts, poly_sizes)
    other_rows = np.setdiff1d(np.arange(len(segms)), poly_rows)
    other = PackedRles.from_rles([segmentation_to_rle(segms[r], int(sizes[r, 0]), int(sizes[r, 1]))
                                  for r in other_rows.tolist()])
    order = np.empty(len(segms), np.int64)
    order[np.asarray(poly_rows, np.int64)] = np.arange(len(poly_rows))
    order[other_rows] = len(poly_rows) + np.arange(len(other_rows))
    return concat_packed([native, other]).take(order) if len(other_rows) else native


def _flatten(polys: list) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(coords float64, numbers per part, parts per annotation), or None when a part is not a list of numbers."""
    try:
        n_parts = np.fromiter((len(s) for s in polys), np.int64, count=len(polys))
        parts = list(chain.from_iterable(polys))
        part_len = np.fromiter((len(p) for p in parts), np.int64, count=len(parts))
        coords = np.fromiter(chain.from_iterable(parts), np.float64, count=int(part_len.sum()))
    except (TypeError, ValueError):
        return None
    return coords, part_len, n_parts


def _needs_checks(coords: np.ndarray, part_len: np.ndarray, n_parts: np.ndarray, sizes: np.ndarray) -> bool:
    """True when a coordinate is far outside its image (`far_coordinate`, parts of > 4 numbers), not
    finite, or beyond the rasterizer's int range (any part): the per-image path decides those."""
    if not len(coords):
        return False
    if not np.isfinite(coords).all() or np.abs(coords).max() > _INT_SAFE:
        return True
    coord_ann = np.repeat(np.repeat(np.arange(len(n_parts)), n_parts), part_len)
    checked = np.repeat(part_len > 4, part_len)
    is_x = (np.arange(len(coords)) - np.repeat(np.cumsum(part_len) - part_len, part_len)) % 2 == 0
    side = np.where(is_x, sizes[coord_ann, 1], sizes[coord_ann, 0]).astype(np.float64)
    t = POLYGON_TOLERANCE
    far = ((coords < -t * side) | (coords > (1 + t) * side)) & checked
    return bool(far.any())


def _rasterize(coords: np.ndarray, part_starts: np.ndarray, ann_parts: np.ndarray, sizes: np.ndarray) -> PackedRles:
    work = np.diff(part_starts[ann_parts])
    ranges = _split(work)
    out: list = [None] * len(ranges)

    def one(k: int, a: int, b: int) -> None:
        out[k] = NATIVE.polygons_to_rles(coords, part_starts, ann_parts, sizes, a, b)

    _run([(k, k + 1) for k in range(len(ranges))], lambda k, _: one(k, *ranges[k]))
    chars = np.frombuffer(b"".join(c for c, _ in out), np.uint8)
    offs = [np.frombuffer(o, np.int64) for _, o in out]
    shift = np.cumsum([0] + [int(o[-1]) for o in offs[:-1]])
    offsets = np.concatenate([[0]] + [o[1:] + s for o, s in zip(offs, shift)]) if offs else np.zeros(1, np.int64)
    return PackedRles(chars, offsets, sizes)
