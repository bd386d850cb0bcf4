"""A COCO GT file read straight into the columns evaluation needs, without a Python object per record.

`CocoDataset.load` builds a dict per image and annotation and a list per polygon (at val2017 scale
1.9M floats, ~110 MB; at Objects365 scale ~1 GB, and the collector's passes over them take seconds).
An evaluation needs a few columns of them. `scan_gt_file` reads those columns in C (csrc/gt_scan.c)
and takes the file only where validation would pass it: the C scanner accepts the types validation's
screen passes (its type step), this module applies the screen's value rules on the columns
(`cocoseg.io.annotation_screen.screened_out`, the same function validation runs on parsed records),
the image screen's rules and unique ids, the validator's own category checks on the categories, and
its detailed checks on the few annotations the screen sends on (an RLE, a far polygon...). Where anything would need
the full validator, it returns None and the caller loads the file as a CocoDataset, which reports
the problems or accepts the file exactly as before.
"""
from __future__ import annotations

import json
import mmap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.io.annotation_screen import AnnotationColumns, part_extremes, screened_out
from cocoseg.io.jsonio import PathLike
from cocoseg.io.validate import _annotation_in_detail, _check_categories
from cocoseg.io.validate_records import MAX_SIDE
from cocoseg.masks.threads import threads as masks_threads
from cocoseg.native import NATIVE

_INT64, _FLOAT64 = np.int64, np.float64
_COLUMNS = ("image_ids", "widths", "heights", "ann_id", "ann_image_id", "ann_category_id", "ann_iscrowd",
            "ann_area", "ann_box", "ann_parts", "part_len", "coords", "ann_span")
_PARALLEL_BYTES = 1 << 23  # below this a file is scanned by one thread
_LARGE_SPANS = 1 << 22  # records to decode totalling this many bytes are decoded by msgspec
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
    _counts: dict = field(default_factory=dict, repr=False)  # category id -> keypoint count (validation's)

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
    try:  # mapped, not read: no copy of the file beside the page cache, and its pages go when it is closed
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            with memoryview(mapped) as whole:
                return _columns_of(whole[3:] if whole[:3] == b"\xef\xbb\xbf" else whole, path.name)
    except (OSError, ValueError):  # unreadable, a folder, an empty file: the loader reports it
        return None


def _columns_of(view: memoryview, file: str) -> GtColumns | None:
    out = NATIVE.scan_gt(view, masks_threads() if len(view) >= _PARALLEL_BYTES else 1)
    if out is None:
        return None
    cols = dict(zip(_COLUMNS, (np.frombuffer(b, t) for b, t in zip(out, _TYPES))))
    cols["ann_box"] = cols["ann_box"].reshape(-1, 4)
    spans = cols.pop("ann_span").reshape(-1, 2)
    crowd = cols.pop("ann_iscrowd")
    try:
        categories = _decode(view[out[-2]:out[-1]])
    except ValueError:
        return None
    columns = GtColumns(file, **cols, ann_iscrowd=crowd != 0, categories=categories,
                        other_rows=np.flatnonzero(cols["ann_parts"] == -2), other_segmentations=[])
    detailed = _screened_out(columns, crowd)
    if detailed is None:
        return None
    try:
        chosen = spans[detailed]
        large = int((chosen[:, 1] - chosen[:, 0]).sum()) >= _LARGE_SPANS
        records = {r: _decode(view[a:b], large) for r, (a, b) in zip(detailed.tolist(), chosen.tolist())}
    except ValueError:
        return None
    if not _no_errors(columns, records):
        return None
    columns.other_segmentations = [records[r].get("segmentation") for r in columns.other_rows.tolist()]
    return columns


def _decode(raw: memoryview, large: bool = False) -> Any:
    """One JSON value of the file (a span the scanner validated); msgspec when the spans are `large`
    (below a few MB, importing it costs more than it saves over the standard parser)."""
    if large:
        try:
            import msgspec

            return msgspec.json.decode(raw)
        except ImportError:
            pass
        except msgspec.DecodeError:  # e.g. an integer beyond 64 bits: the standard parser takes it
            pass
    return json.loads(bytes(raw))


def _screened_out(g: GtColumns, crowd: np.ndarray) -> np.ndarray | None:
    """The annotation rows validation's screen (`cocoseg.io.annotation_screen`) sends to its detailed
    checks, or None when the images or categories already hold an error."""
    if type(g.categories) is not list:
        return None
    problems: list = []
    g._counts = _check_categories(g.categories, g.source, problems)
    if any(p.severity == "error" for p in problems):
        return None
    w, h = g.widths, g.heights
    if not (((w > 0) & (w <= MAX_SIDE) & (h > 0) & (h <= MAX_SIDE)).all() and _unique(np.sort(g.image_ids))):
        return None  # the image screen's rules: the C scanner took only images that pass its type tests
    typed = np.ones(len(g), np.bool_)  # the C scanner took only annotations of the types the rules take
    cols = AnnotationColumns(g.ann_id, g.ann_image_id, g.ann_category_id, crowd, g.ann_area, g.ann_box, g.ann_parts,
                             g.part_len, *part_extremes(g.part_len, g.coords), typed)
    return screened_out(cols, g.image_ids, w, h, np.fromiter(g._counts, _INT64, len(g._counts)))


def _no_errors(g: GtColumns, records: dict[int, Any]) -> bool:
    """Validation's detailed checks of the screened-out records and its unique-id rule find no error."""
    if not _unique(np.sort(g.ann_id)):
        return False
    problems: list = []
    if records:
        sizes = dict(zip(g.image_ids.tolist(), zip(g.widths.tolist(), g.heights.tolist())))
        for record in records.values():
            _annotation_in_detail([record], 0, sizes, g._counts, g.source, problems)
    return not any(p.severity == "error" for p in problems)


def _unique(sorted_ids: np.ndarray) -> bool:
    return not (sorted_ids[1:] == sorted_ids[:-1]).any()
