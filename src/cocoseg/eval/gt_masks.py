"""The GT masks of a segm evaluation: COCO.annToRLE of every GT table row, packed.

Polygon annotations (most of COCO) are rasterized by the compiled core (csrc/poly.c, bit-identical
to pycocotools' frPyObjects + merge) on several threads, from one flat array of coordinates;
RLE annotations, and everything when the core is absent (COCOSEG_NATIVE=0), go through
pycocotools as `segmentations_to_rles` does. A GT the fast path cannot take exactly (an error to
report, a coordinate out of int range) takes the per-image path, which names the problem.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cocoseg.errors import CocosegError, DataError, Problem
from cocoseg.eval.kernels import _run, _split
from cocoseg.eval.tables import GtTable
from cocoseg.io.gt_scan import GtColumns
from cocoseg.io.id_lookup import positions
from cocoseg.masks.packed_rle import PackedRles, concat_packed, segmentations_to_rles
from cocoseg.masks.polygons import POLYGON_TOLERANCE, far_coordinate, far_message
from cocoseg.masks.rle import segmentation_to_rle
from cocoseg.native import NATIVE

_CHUNK = 4096  # GT rows rasterized per call
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



def _pack_native(table: GtTable, anns: Sequence[dict], image_sizes: dict) -> PackedRles | None:
    sizes = _row_sizes(table, image_sizes)
    if sizes is None:
        return None
    segms = [anns[i].get("segmentation") for i in table.ann_index.tolist()]
    if any(s is None for s in segms):
        return None
    kinds, packed = [], []
    for a in range(0, len(segms), _CHUNK):  # in chunks: the flat coordinates stay a few MB
        chunk = _pack_polygons(segms[a:a + _CHUNK], sizes[a:a + _CHUNK])
        if chunk is None:
            return None
        kinds.append(chunk[0])
        packed.append(chunk[1])
    kind = np.concatenate(kinds) if kinds else np.zeros(0, np.uint8)
    other_rows = np.flatnonzero(kind == 0)
    return _with_others(concat_packed(packed), kind, [segms[r] for r in other_rows.tolist()], sizes)


def pack_column_masks(table: GtTable, gt: GtColumns) -> PackedRles | None:
    """`pack_gt_masks` of a scanned GT file's columns (no records), or None for the dataset path: a row
    without segmentation, or a polygon the per-image path must judge."""
    rows = table.ann_index
    parts = gt.ann_parts[rows]
    sizes = _row_sizes(table, gt.image_sizes)
    if (parts == -1).any() or sizes is None or NATIVE is None:
        return None
    part_starts, ann_part_starts = gt.polygon_starts()
    poly = parts > 0
    polygons = _ranges(ann_part_starts[rows[poly]], ann_part_starts[rows[poly] + 1])
    coords = gt.coords[_ranges(part_starts[polygons], part_starts[polygons + 1])]
    new_part_starts = np.zeros(len(polygons) + 1, np.int64)
    np.cumsum(gt.part_len[polygons], out=new_part_starts[1:])
    new_ann_parts = np.zeros(int(poly.sum()) + 1, np.int64)
    np.cumsum(parts[poly], out=new_ann_parts[1:])
    poly_sizes = np.ascontiguousarray(sizes[poly])
    if _needs_checks(coords, new_part_starts, new_ann_parts, poly_sizes):
        return None
    native = _rasterize(np.ascontiguousarray(coords), new_part_starts, new_ann_parts, poly_sizes)
    others = positions(gt.other_rows, rows[~poly])
    return _with_others(native, poly.astype(np.uint8), [gt.other_segmentations[k] for k in others.tolist()], sizes)


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The indices starts[0]..ends[0], starts[1]..ends[1], ... one after another."""
    lengths = ends - starts
    if not len(lengths) or lengths.sum() == 0:
        return np.zeros(0, np.int64)
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)


def _with_others(native: PackedRles, kind: np.ndarray, other_segms: list, sizes: np.ndarray) -> PackedRles:
    """The rows in order: polygon rows (kind 1) from `native`, the others from their segmentations (annToRLE)."""
    other_rows = np.flatnonzero(kind == 0)
    if not len(other_rows):
        return native
    poly_rows = np.flatnonzero(kind)
    other = PackedRles.from_rles([segmentation_to_rle(segm, int(sizes[r, 0]), int(sizes[r, 1]))
                                  for segm, r in zip(other_segms, other_rows.tolist())])
    order = np.empty(len(kind), np.int64)
    order[poly_rows] = np.arange(len(poly_rows))
    order[other_rows] = len(poly_rows) + np.arange(len(other_rows))
    return concat_packed([native, other]).take(order)


def _pack_polygons(segms: list, sizes: np.ndarray) -> tuple[np.ndarray, PackedRles] | None:
    """(is-polygon flag per row, packed RLEs of the polygon rows) of some rows, or None for the per-image path."""
    columns = NATIVE.polygon_columns(segms)  # the polygon rows (frPyObjects' test), flattened
    if columns is None:
        return None
    kind, coords, part_len, n_parts = (np.frombuffer(c, t) for c, t in
                                       zip(columns, (np.uint8, np.float64, np.int64, np.int64)))
    poly_sizes = np.ascontiguousarray(sizes[np.flatnonzero(kind)]).reshape(-1, 2)
    part_starts = np.zeros(len(part_len) + 1, np.int64)
    np.cumsum(part_len, out=part_starts[1:])
    ann_parts = np.zeros(len(n_parts) + 1, np.int64)
    np.cumsum(n_parts, out=ann_parts[1:])
    if _needs_checks(coords, part_starts, ann_parts, poly_sizes):
        return None
    return kind, _rasterize(coords, part_starts, ann_parts, poly_sizes)


def _needs_checks(coords: np.ndarray, part_starts: np.ndarray, ann_parts: np.ndarray, sizes: np.ndarray) -> bool:
    """True when a coordinate is far outside its image (`far_coordinate`, parts of > 4 numbers), not
    finite or beyond the rasterizer's int range (any part), or a part has an odd or zero length: the
    per-image path decides those."""
    if not len(coords):
        return False
    part_len = np.diff(part_starts)
    if not np.isfinite(coords).all() or np.abs(coords).max() > _INT_SAFE or (part_len % 2).any() or not part_len.all():
        return True
    starts = part_starts[:-1] // 2
    xs, ys = coords[0::2], coords[1::2]
    side = np.repeat(sizes[:, ::-1], np.diff(ann_parts), axis=0).astype(np.float64)  # [w, h] of each part
    lo = np.stack([np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts)], 1)
    hi = np.stack([np.maximum.reduceat(xs, starts), np.maximum.reduceat(ys, starts)], 1)
    t = POLYGON_TOLERANCE
    far = ((lo < -t * side) | (hi > (1 + t) * side)).any(axis=1) & (part_len > 4)
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
