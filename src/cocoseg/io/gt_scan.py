"""A COCO GT file read straight into the columns evaluation needs, without a Python object per record.

`CocoDataset.load` builds a dict per image and annotation and a list per polygon (at val2017 scale
1.9M floats, ~110 MB; at Objects365 scale ~1 GB, and the collector's passes over them take seconds).
An evaluation needs a few columns of them. `scan_gt_file` reads those columns in C (csrc/gt_scan.c)
and takes the file only where validation would pass it: the C scanner accepts the types validation's
screen passes, and this module applies the screen's value rules on the columns (references, unique
ids, sizes, boxes and polygons against their image), the validator's own category checks on the
categories, and its detailed checks on the few annotations with an RLE. Where anything would need
the full validator, it returns None and the caller loads the file as a CocoDataset, which reports
the problems or accepts the file exactly as before.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.io.id_lookup import positions
from cocoseg.io.jsonio import PathLike
from cocoseg.io.validate import _annotation_in_detail, _check_categories
from cocoseg.io.validate_records import BBOX_SLACK_PX, MAX_SIDE
from cocoseg.masks.polygons import POLYGON_TOLERANCE
from cocoseg.masks.threads import threads as masks_threads
from cocoseg.native import NATIVE

_INT64, _FLOAT64 = np.int64, np.float64
_COLUMNS = ("image_ids", "widths", "heights", "ann_id", "ann_image_id", "ann_category_id", "ann_iscrowd",
            "ann_area", "ann_box", "ann_parts", "part_len", "coords", "other_spans")
_PARALLEL_BYTES = 1 << 23  # below this a file is scanned by one thread
_TYPES = (_INT64,) * 7 + (_FLOAT64, _FLOAT64, _INT64, _INT64, _FLOAT64, _INT64)


@dataclass(eq=False)
class GtColumns:
    """The evaluation columns of a COCO GT file that validation passes (records in file order).

    Attributes:
        source: the file's name, for messages.
        image_ids, widths, heights: (I,) int64 per image.
        categories: the category records, as parsed.
        ann_id, ann_image_id, ann_category_id: (G,) int64; ann_iscrowd: (G,) bool.
        ann_area: (G,) float64; ann_box: (G, 4) float64 [x, y, w, h].
        ann_parts: (G,) int64 polygons of each annotation, -1 without segmentation, -2 for an RLE.
        part_len: (P,) int64 coordinates of each polygon; coords: (sum part_len,) float64 x, y, x, y...
        other_rows: rows whose segmentation is an RLE; other_segmentations: those segmentations.
    """

    source: str
    image_ids: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    categories: list
    ann_id: np.ndarray
    ann_image_id: np.ndarray
    ann_category_id: np.ndarray
    ann_iscrowd: np.ndarray
    ann_area: np.ndarray
    ann_box: np.ndarray
    ann_parts: np.ndarray
    part_len: np.ndarray
    coords: np.ndarray
    other_rows: np.ndarray
    other_segmentations: list
    _sizes: dict | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ann_id)

    @property
    def image_sizes(self) -> dict[int, tuple[int, int]]:
        """{image id: (height, width)}."""
        if self._sizes is None:
            self._sizes = dict(zip(self.image_ids.tolist(), zip(self.heights.tolist(), self.widths.tolist())))
        return self._sizes

    def polygon_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """(part_starts (P + 1,), ann_part_starts (G + 1,)): coordinates of polygon p are
        coords[part_starts[p]:part_starts[p + 1]], polygons of row g ann_part_starts[g]:ann_part_starts[g + 1]."""
        part_starts = np.zeros(len(self.part_len) + 1, _INT64)
        np.cumsum(self.part_len, out=part_starts[1:])
        ann_part_starts = np.zeros(len(self.ann_parts) + 1, _INT64)
        np.cumsum(np.maximum(self.ann_parts, 0), out=ann_part_starts[1:])
        return part_starts, ann_part_starts


def scan_gt_file(path: PathLike) -> GtColumns | None:
    """The file's evaluation columns, or None when it must be loaded (and validated) as a CocoDataset."""
    if NATIVE is None:
        return None
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None  # the loader reports it
    view = memoryview(raw)[3:] if raw[:3] == b"\xef\xbb\xbf" else memoryview(raw)
    out = NATIVE.scan_gt(view, masks_threads() if len(view) >= _PARALLEL_BYTES else 1)
    if out is None:
        return None
    cols = dict(zip(_COLUMNS, (np.frombuffer(b, t) for b, t in zip(out, _TYPES))))
    cols["ann_box"] = cols["ann_box"].reshape(-1, 4)
    try:
        categories = _decode(view[out[-2]:out[-1]])
        spans = cols.pop("other_spans").reshape(-1, 2).tolist()
        others = [_decode(view[a:b]) for a, b in spans]
    except ValueError:
        return None
    file = path.name
    columns = GtColumns(file, **{k: v for k, v in cols.items() if k != "ann_iscrowd"}, categories=categories,
                        ann_iscrowd=cols["ann_iscrowd"] != 0, other_rows=np.flatnonzero(cols["ann_parts"] == -2),
                        other_segmentations=[o.get("segmentation") if type(o) is dict else None for o in others])
    if not _passes(columns, cols["ann_iscrowd"], others, file):
        return None
    return columns


def _decode(raw: memoryview) -> Any:
    """One JSON value of the file (a span the scanner validated)."""
    try:
        import msgspec

        return msgspec.json.decode(raw)
    except ImportError:
        return json.loads(bytes(raw))
    except msgspec.DecodeError:  # e.g. an integer beyond 64 bits: the standard parser takes it
        return json.loads(bytes(raw))


def _passes(g: GtColumns, crowd: np.ndarray, others: list, file: str) -> bool:
    """True when validation (cocoseg.io.validate) finds no error: the screen's rules on the columns."""
    if type(g.categories) is not list:
        return False
    problems: list = []
    counts = _check_categories(g.categories, file, problems)
    if any(p.severity == "error" for p in problems):
        return False
    images = np.sort(g.image_ids)
    w, h = g.widths, g.heights
    if not (((w > 0) & (w <= MAX_SIDE) & (h > 0) & (h <= MAX_SIDE)).all() and _unique(images)):
        return False
    if not len(g):
        return True
    cats = np.array(sorted(counts), dtype=_INT64)
    img = positions(images, g.ann_image_id)
    if (img < 0).any() or (positions(cats, g.ann_category_id) < 0).any():
        return False
    if not ((g.ann_id > 0).all() and _unique(np.sort(g.ann_id)) and ((crowd == 0) | (crowd == 1)).all()):
        return False
    order = np.argsort(g.image_ids, kind="stable")[img]  # each row's image, as a position in file order
    width, height = w[order].astype(_FLOAT64), h[order].astype(_FLOAT64)
    x, y, bw, bh = g.ann_box.T
    regular = g.ann_parts != -2  # RLE rows get the detailed checks below, as validation gives them
    slack = BBOX_SLACK_PX
    boxes_pass = ((g.ann_area >= 0) & (bw >= 0) & (bh >= 0) & (-x <= slack) & (-y <= slack)
                  & (x + bw - width <= slack) & (y + bh - height <= slack))
    if not boxes_pass[regular].all() or not _polygons_pass(g, np.minimum(width, height)):
        return False
    if len(others):
        sizes = dict(zip(g.image_ids.tolist(), zip(w.tolist(), h.tolist())))
        for record in others:
            _annotation_in_detail([record], 0, sizes, counts, file, problems)
        if any(p.severity == "error" for p in problems):
            return False
    return True


def _polygons_pass(g: GtColumns, side: np.ndarray) -> bool:
    """validate.py `_polygons_pass`: every coordinate within the tolerance of its image's shorter side
    (lengths and parity were checked by the scanner)."""
    if not len(g.coords):
        return True
    per_row = np.zeros(len(g), _INT64)
    has = g.ann_parts > 0
    part_starts, ann_part_starts = g.polygon_starts()
    per_row[has] = (part_starts[ann_part_starts[1:]] - part_starts[ann_part_starts[:-1]])[has]
    s = np.repeat(side, per_row)
    t = POLYGON_TOLERANCE
    return bool(((g.coords >= -t * s) & (g.coords <= (1 + t) * s)).all())


def _unique(sorted_ids: np.ndarray) -> bool:
    return not (sorted_ids[1:] == sorted_ids[:-1]).any()
