"""Validation's GT annotation screen: the value rules, once, on typed columns.

The screen passes only the annotations that would get no Problem at all (no error, no warning) and
sends every other one to validation's detailed checks (`cocoseg.io.validate_records`), which name
each problem. It runs in two steps:

- a *type* step, which depends on where the annotations come from. From parsed records,
  `annotation_columns` reads them into `AnnotationColumns` in one pass (csrc/gt_columns.c, or
  `python_columns` without the C core) and flags each row whose fields do not all have the types the
  rules take (`typed`). From a file, the C scanner of `cocoseg.io.gt_scan` takes only typed files.
- the *value* rules, `screened_out`, vectorized over the columns: ids, references, iscrowd, area,
  box against its image, polygons against the image's shorter side. Both sources call it.

Keypoints are screened per record by validation (`validate._keypoints_screened`), on the rows that
pass here and carry them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cocoseg.io.id_lookup import positions
from cocoseg.io.validate_records import BBOX_SLACK_PX, MAX_ID
from cocoseg.masks.polygons import POLYGON_TOLERANCE
from cocoseg.native import NATIVE

__all__ = ["AnnotationColumns", "annotation_columns", "native_columns", "part_extremes", "polygons_pass", "python_columns",
           "screen", "screened_out", "unique_ids"]

_EXACT = 2**52  # below it in magnitude an int stays exact through the rules' sums in doubles
_INT64 = 2**63
_NOT_NUMBER, _NUMBER, _TYPED = 0, 1, 2
_ABSENT = object()
_FLOATS, _INTS, _NUMBERS = frozenset((float,)), frozenset((int,)), frozenset((int, float))


@dataclass(eq=False)
class AnnotationColumns:
    """Annotations as typed columns (G rows, in record order), the input of the value rules.

    Attributes:
        ann_id, image_id, category_id, iscrowd: (G,) int64 as given (0 where not an int within int64).
        area: (G,) float64; box: (G, 4) float64 [x, y, w, h] (0 where not numbers).
        parts: (G,) int64 polygons of each row: -1 without segmentation, -2 an object (an RLE), -3 any
            other or untyped value; part_len (P,) int64 their lengths, part_min and part_max (P,) float64
            their extreme coordinates (0 for an empty part): the polygon rules need no more.
        typed: (G,) bool, every field the rules read has the type they take (ints within int64 for
            ids, exact ints for iscrowd, finite floats or ints below 2**52 for numbers, no bools).
        id_kind: (G,) uint8, 0 the id is not an int, 1 an int within int64, 2 a larger int.
        complete: (G,) bool, area and a 4-item bbox are there (else the evaluator completes the row).
        keypoints: (G,) bool, the record has a keypoints key.
        fits: the evaluator can read every row's references, iscrowd, area and bbox as numbers.
    """

    ann_id: np.ndarray
    image_id: np.ndarray
    category_id: np.ndarray
    iscrowd: np.ndarray
    area: np.ndarray
    box: np.ndarray
    parts: np.ndarray
    part_len: np.ndarray
    part_min: np.ndarray
    part_max: np.ndarray
    typed: np.ndarray
    id_kind: np.ndarray | None = None
    complete: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    fits: bool = True


def annotation_columns(anns: list, polygons: bool = True) -> AnnotationColumns:
    """The columns of parsed annotation records, read in C where the core is built."""
    return native_columns(anns, polygons) or python_columns(anns, polygons)


def native_columns(anns: list, polygons: bool = True) -> AnnotationColumns | None:
    """The columns read by the C core (csrc/gt_columns.c), or None without it."""
    if NATIVE is None:
        return None
    out = NATIVE.annotation_columns(anns, polygons)
    i8, f8, u1 = np.int64, np.float64, np.uint8
    cols = [np.frombuffer(b, t) for b, t in zip(out, (i8, i8, i8, i8, f8, f8, i8, i8, f8, f8, u1, u1, u1, u1))]
    cols[5] = cols[5].reshape(-1, 4)
    for k in (10, 12, 13):  # typed, complete, keypoints
        cols[k] = cols[k].view(np.bool_)
    return AnnotationColumns(*cols, fits=out[14])


def python_columns(anns: list, polygons: bool = True) -> AnnotationColumns:
    """The columns as `native_columns` reads them, in Python (the core's fallback and its reference)."""
    n = len(anns)
    ints = np.zeros((n, 4), np.int64)  # id, image_id, category_id, iscrowd
    numbers = np.zeros((n, 5), np.float64)  # area, x, y, w, h
    flags = np.zeros((n, 4), np.uint8)  # id_kind, typed, complete, keypoints
    parts = np.full(n if polygons else 0, -1, np.int64)
    part_len: list[int] = []
    extremes: list[float] = []  # min, max of each part
    fits = True
    for i, a in enumerate(anns):
        if type(a) is not dict:
            fits = False
            continue
        typed, row_fits = _python_row(a, ints[i], numbers[i], flags[i])
        if polygons:
            parts[i] = _python_polygons(a.get("segmentation", _ABSENT), part_len, extremes)
            typed = typed and parts[i] != -3
        flags[i, 1] = typed
        fits = fits and row_fits
    lo_hi = np.array(extremes, np.float64).reshape(-1, 2)
    return AnnotationColumns(ints[:, 0].copy(), ints[:, 1].copy(), ints[:, 2].copy(), ints[:, 3].copy(),
                             numbers[:, 0].copy(), numbers[:, 1:].copy(), parts, np.array(part_len, np.int64),
                             lo_hi[:, 0].copy(), lo_hi[:, 1].copy(), flags[:, 1].astype(np.bool_), flags[:, 0].copy(),
                             flags[:, 2].astype(np.bool_), flags[:, 3].astype(np.bool_), fits)


def _python_row(a: dict, ints: np.ndarray, numbers: np.ndarray, flags: np.ndarray) -> tuple[bool, bool]:
    """One record's ids, iscrowd, area, box and flags into its rows of the arrays; (typed, fits)."""
    kind, aid = _int64(a.get("id"))
    image, iid = _int64(a.get("image_id"))
    category, cid = _int64(a.get("category_id"))
    refs = image == 1 and category == 1
    typed, fits = kind == 1 and refs, refs
    crowd, area, bbox = a.get("iscrowd", _ABSENT), a.get("area", _ABSENT), a.get("bbox", _ABSENT)
    crowd_value = 0
    if crowd is _ABSENT:
        typed = False
    else:
        crowd_kind, crowd_value = _int64(crowd)
        if crowd_kind != 1:
            typed = fits = False
    area_kind, area_value = (_NOT_NUMBER, 0.0) if area is _ABSENT else _number(area)
    typed = typed and area_kind == _TYPED
    complete = area is not _ABSENT and bbox is not _ABSENT and bbox is not None
    if type(bbox) is list and len(bbox) == 4:
        (kx, x), (ky, y), (kw, w), (kh, h) = map(_number, bbox)
        typed = typed and kx == ky == kw == kh == _TYPED
        fits = fits and not (complete and _NOT_NUMBER in (area_kind, kx, ky, kw, kh))
        numbers[:] = area_value, x, y, w, h
    else:
        numbers[0] = area_value
        typed = False
        fits = fits and not (complete and type(bbox) is not list)
        complete = False
    ints[:] = aid, iid, cid, crowd_value
    flags[0], flags[2], flags[3] = kind, complete, "keypoints" in a
    return typed, fits


def _int64(value: object) -> tuple[int, int]:
    """(1, value) for an int within int64, (2, 0) for a larger int, (0, 0) for anything else."""
    if type(value) is not int:
        return 0, 0
    return (1, value) if -_INT64 <= value < _INT64 else (2, 0)


def _number(value: object) -> tuple[int, float]:
    """(kind, value as a double): _TYPED for a finite float or an int below 2**52 in magnitude, _NUMBER
    for another number a double holds, _NOT_NUMBER (0.0) otherwise."""
    if type(value) is float:
        return (_TYPED if math.isfinite(value) else _NUMBER), value
    if type(value) is not int:
        return _NOT_NUMBER, 0.0
    if -_EXACT < value < _EXACT:
        return _TYPED, float(value)
    try:
        return _NUMBER, float(value)
    except OverflowError:
        return _NOT_NUMBER, 0.0


def _python_polygons(segmentation: object, part_len: list[int], extremes: list[float]) -> int:
    """Polygons appended to part_len and extremes (min, max; 0, 0 when empty): their number, -1 absent,
    -2 an object, -3 anything else (nothing appended when an item is not a list of typed numbers)."""
    if segmentation is _ABSENT:
        return -1
    if type(segmentation) is dict:
        return -2
    if type(segmentation) is not list or not all(type(p) is list and _typed_numbers(p) for p in segmentation):
        return -3
    for polygon in segmentation:
        part_len.append(len(polygon))
        extremes += (min(polygon), max(polygon)) if polygon else (0, 0)
    return len(segmentation)


def _typed_numbers(values: list) -> bool:
    """Every value a finite float or an int below 2**52 in magnitude (never a bool)."""
    types = set(map(type, values))
    if types == _FLOATS:
        total = sum(values)
        return total - total == 0 or all(map(math.isfinite, values))  # a sum of finite floats can overflow
    if types == _INTS:
        return -_EXACT < min(values) and max(values) < _EXACT
    if types == _NUMBERS:
        return all(-_EXACT < v < _EXACT if type(v) is int else math.isfinite(v) for v in values)
    return not types


def screen(anns: list, sizes: dict, counts: dict) -> tuple[AnnotationColumns, list[int], list[int]]:
    """(columns, rows for the detailed checks, passing rows with keypoints) of parsed annotations, given
    validation's image sizes {id: (width, height) or None} and categories {id: keypoint count}."""
    cols = annotation_columns(anns)
    known = [(image, size) for image, size in sizes.items() if size is not None]
    image_ids = np.array([image for image, _ in known], np.int64)
    sides = np.array([size for _, size in known], np.int64).reshape(-1, 2)
    category_ids = np.fromiter(counts, np.int64, len(counts))
    detailed = screened_out(cols, image_ids, sides[:, 0], sides[:, 1], category_ids)
    passed = np.ones(len(anns), np.bool_)
    passed[detailed] = False
    return cols, detailed.tolist(), np.flatnonzero(passed & cols.keypoints).tolist()


def screened_out(cols: AnnotationColumns, image_ids: np.ndarray, widths: np.ndarray, heights: np.ndarray,
                 category_ids: np.ndarray) -> np.ndarray:
    """The rows the detailed checks must see: every row not `typed`, or breaking a value rule against the
    images (distinct ids, their widths and heights) and the category ids."""
    if not len(cols.ann_id):
        return np.zeros(0, np.int64)
    if not len(image_ids):
        return np.arange(len(cols.ann_id))  # every annotation names an unknown image
    order = np.argsort(image_ids, kind="stable")
    img = positions(image_ids[order], cols.image_id)
    at = order[np.maximum(img, 0)]  # each row's image (unknown ones fail below)
    width, height = widths[at].astype(np.float64), heights[at].astype(np.float64)
    x, y, w, h = cols.box.T
    slack, crowd, area = BBOX_SLACK_PX, cols.iscrowd, cols.area
    ok = (cols.typed & (cols.ann_id > 0) & (cols.ann_id <= MAX_ID) & (img >= 0)
          & (positions(np.sort(category_ids), cols.category_id) >= 0) & ((crowd == 0) | (crowd == 1))
          & (area >= 0) & np.isfinite(area)  # finite: below INT_LIMIT, which no double reaches
          & (w >= 0) & (h >= 0) & (-x <= slack) & (-y <= slack) & (x + w - width <= slack) & (y + h - height <= slack)
          & ((cols.parts > 0) | (cols.parts == -1))  # an empty list, an RLE, null: detailed
          & polygons_pass(cols.parts, cols.part_len, cols.part_min, cols.part_max, np.minimum(width, height)))
    return np.flatnonzero(~ok)


def unique_ids(cols: AnnotationColumns) -> bool:
    """No two rows share an int id, and none is an int beyond int64 (those the caller compares itself)."""
    kind = cols.id_kind
    if (kind == 2).any():
        return False
    ids = np.sort(cols.ann_id[kind == 1])
    return not (ids[1:] == ids[:-1]).any()


def polygons_pass(parts: np.ndarray, part_len: np.ndarray, part_min: np.ndarray, part_max: np.ndarray,
                  side: np.ndarray) -> np.ndarray:
    """Per row, whether each of its polygons has an even number >= 6 of coordinates, all within
    POLYGON_TOLERANCE of the row's image's shorter `side` (True for rows without polygons)."""
    row_of_part = np.repeat(np.arange(len(parts)), np.maximum(parts, 0))
    s, t = side[row_of_part], POLYGON_TOLERANCE
    bad = (part_len < 6) | (part_len % 2 == 1) | (part_min < -t * s) | (part_max > (1 + t) * s)
    ok = np.ones(len(parts), np.bool_)
    ok[row_of_part[bad]] = False
    return ok


def part_extremes(part_len: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(part_min, part_max) of flat coordinates cut into parts of part_len (0 for an empty part)."""
    lo, hi = np.zeros(len(part_len)), np.zeros(len(part_len))
    filled = np.flatnonzero(part_len > 0)
    if len(filled):  # reduceat cannot take empty parts
        starts = (np.cumsum(part_len) - part_len)[filled]
        lo[filled], hi[filled] = np.minimum.reduceat(coords, starts), np.maximum.reduceat(coords, starts)
    return lo, hi
