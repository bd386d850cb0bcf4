"""Run-length encoded masks with pycocotools' codec, in JSON-friendly form (counts as str).

RLE is column-major (Fortran order), the first run counts zeros. A compressed RLE is
`{"size": [h, w], "counts": str}`; an uncompressed one has `counts` as a list of ints.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
from pycocotools import mask as _coco_mask

RLE = dict  # {"size": [h, w], "counts": str | bytes | list[int]}
Segmentation = Union[list, dict]

# pycocotools.mask.area (2.0.11) overflows under NumPy 2 for lists of 256 or more RLEs.
_AREA_CHUNK = 255


def _to_c(rle: RLE) -> dict:
    """The form pycocotools' C code takes: compressed counts as bytes."""
    counts = rle["counts"]
    if isinstance(counts, str):
        return {"size": list(rle["size"]), "counts": counts.encode("ascii")}
    if isinstance(counts, bytes):
        return rle
    return compress(rle) if isinstance(counts, list) else rle


def _from_c(rle: dict) -> RLE:
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _c_list(rles: RLE | Sequence[RLE]) -> tuple[list[dict], bool]:
    single = isinstance(rles, dict)
    items = [rles] if single else list(rles)
    return [_to_c(r) for r in items], single


def encode(bitmaps: np.ndarray) -> RLE | list[RLE]:
    """Bitmap(s) (H, W) or (N, H, W), any dtype, nonzero = 1 -> compressed RLE(s) with str counts.

    A Fortran-ordered 3-D array is refused: it is pycocotools' (H, W, N) idiom, which read as
    (N, H, W) would give RLEs of the wrong size (`cocoseg.compat.mask.encode` takes that layout).
    """
    arr = np.asarray(bitmaps)
    if arr.ndim == 2:
        return _from_c(_coco_mask.encode(np.asfortranarray(arr != 0, dtype=np.uint8)))
    if arr.ndim != 3:
        raise ValueError(f"expected (H, W) or (N, H, W) bitmaps, got shape {arr.shape}")
    _refuse_fortran_stack(arr)
    if arr.shape[0] == 0:
        return []
    stacked = np.asfortranarray(np.moveaxis(arr != 0, 0, -1), dtype=np.uint8)
    return [_from_c(r) for r in _coco_mask.encode(stacked)]


def _refuse_fortran_stack(arr: np.ndarray) -> None:
    if arr.flags.f_contiguous and not arr.flags.c_contiguous:
        raise ValueError(f"cocoseg.masks.encode takes (N, H, W) bitmaps, but this {arr.shape} array is Fortran-ordered, "
                         "pycocotools' (H, W, N) layout: use cocoseg.compat.mask.encode for (H, W, N), or pass "
                         "np.ascontiguousarray(masks) if it really is (N, H, W)")


def decode(rles: RLE | Sequence[RLE]) -> np.ndarray:
    """RLE(s) -> uint8 bitmap (H, W) for one, (N, H, W) C-ordered for a list (all of one size).

    pycocotools' layout, (H, W, N) Fortran-ordered, is `cocoseg.compat.mask.decode`'s.
    """
    items, single = _c_list(rles)
    if not items:
        return np.zeros((0, 0, 0), dtype=np.uint8)
    if single:
        return _coco_mask.decode(items[0])
    return np.ascontiguousarray(np.moveaxis(_coco_mask.decode(items), -1, 0))


def compress(rle: RLE) -> RLE:
    """Uncompressed RLE (list counts) -> compressed RLE (str counts); compressed ones pass through."""
    if not isinstance(rle["counts"], list):
        return _from_c(rle) if isinstance(rle["counts"], bytes) else rle
    h, w = (int(v) for v in rle["size"])
    return _from_c(_coco_mask.frPyObjects(rle, h, w))


def decompress(rle: RLE) -> RLE:
    """Compressed RLE -> uncompressed RLE with list counts (maskApi.c `rleFrString`); ValueError if corrupt."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return rle
    text = counts.decode("ascii", errors="replace") if isinstance(counts, bytes) else counts
    runs, error = decode_rle_string(text)
    if error:
        raise ValueError(f"compressed RLE counts {error}")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": runs}


def decode_rle_string(text: str) -> tuple[list[int], str]:
    """pycocotools' compressed RLE string -> (run lengths, '') or ([], what is wrong).

    The code (maskApi.c rleFrString): each value is 5-bit groups as chars 48..111, bit 0x20 = more
    groups follow, bit 0x10 of the last group = sign; from the third value on, values are deltas
    from the value two places before.
    """
    if not text:
        return [], ""
    try:
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        return [], "holds a non-ASCII character; not a compressed RLE string"
    bad = np.flatnonzero((codes < 0) | (codes > 63))
    if bad.size:
        return [], (f"has the character {text[bad[0]]!r} at position {int(bad[0])}; a compressed RLE string "
                    "only holds characters '0' to 'o'")
    ends = (codes & 0x20) == 0
    if not ends[-1]:
        return [], "ends in the middle of a run length (truncated?)"
    last = np.flatnonzero(ends)
    starts = np.concatenate(([0], last[:-1] + 1))
    lengths = last - starts + 1
    if lengths.max() > 12:  # 12 groups = 60 bits; pycocotools' values are 32-bit
        return [], "holds a run length too large for a mask (corrupt string)"
    shifts = 5 * (np.arange(len(codes)) - np.repeat(starts, lengths))
    values = np.add.reduceat((codes & 0x1F) << shifts, starts)
    negative = (codes[last] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    values[2::2] = np.cumsum(values[2::2])  # even positions 2, 4, ... accumulate from 2
    values[1::2] = np.cumsum(values[1::2])  # odd positions 1, 3, ... accumulate from 1
    if (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        return [], f"decodes to a negative run length ({int(values[i])} at run {i}); corrupt string"
    return values.tolist(), ""


def polygons_to_rle(polygons: Sequence[Sequence[float]], height: int, width: int) -> RLE:
    """Polygon parts (flat [x1, y1, ...] lists) -> one merged RLE, as pycocotools' `annToRLE` does."""
    parts = [list(map(float, p)) for p in polygons]
    if not parts:
        return encode(np.zeros((height, width), dtype=np.uint8))
    return _from_c(_coco_mask.merge(_coco_mask.frPyObjects(parts, height, width)))


def rasterize_polygons(instances: Sequence[Sequence[Sequence[float]]], height: int, width: int) -> np.ndarray:
    """Instances of polygon parts (flat [x1, y1, ...] lists) -> (N, H, W) uint8 bitmaps, each the union of
    its parts exactly as `polygons_to_rle` + `decode` give, in one decode call. Parts of fewer than 3
    points cover nothing and are skipped (pycocotools would read a first part of 4 numbers as a box)."""
    polygons = [[list(map(float, p)) for p in parts if len(p) >= 6] for parts in instances]
    rles = [_coco_mask.merge(_coco_mask.frPyObjects(parts, height, width)) if parts else _empty_rle(height, width)
            for parts in polygons]
    if not rles:
        return np.zeros((0, height, width), dtype=np.uint8)
    return np.ascontiguousarray(np.moveaxis(_coco_mask.decode(rles), -1, 0))


def _empty_rle(height: int, width: int) -> dict:
    return _coco_mask.encode(np.zeros((height, width, 1), dtype=np.uint8, order="F"))[0]


def segmentation_to_rle(segmentation: Segmentation, height: int, width: int) -> RLE:
    """Any COCO segmentation (polygons, uncompressed or compressed RLE) -> compressed RLE."""
    if isinstance(segmentation, list):
        return polygons_to_rle(segmentation, height, width)
    if isinstance(segmentation.get("counts"), list):
        return compress(segmentation)
    return _from_c(_to_c(segmentation))


def area(rles: RLE | Sequence[RLE]) -> np.ndarray | int:
    """Foreground pixel count of each RLE (uint32 array), or an int for a single RLE."""
    items, single = _c_list(rles)
    if single:
        return int(_coco_mask.area(items[0]))
    parts = [_coco_mask.area(items[i:i + _AREA_CHUNK]) for i in range(0, len(items), _AREA_CHUNK)]
    return np.concatenate(parts).astype(np.uint32) if parts else np.zeros(0, dtype=np.uint32)


def to_bbox(rles: RLE | Sequence[RLE]) -> np.ndarray:
    """Tight box [x, y, w, h] of each RLE (COCO convention: w = max - min + 1); (4,) or (N, 4)."""
    items, single = _c_list(rles)
    if not items:
        return np.zeros((0, 4), dtype=np.float64)
    boxes = _coco_mask.toBbox(items if not single else items[0])
    return np.asarray(boxes, dtype=np.float64)


def iou(dt: Sequence[RLE], gt: Sequence[RLE], iscrowd: Sequence[int]) -> np.ndarray:
    """Mask IoU matrix (len(dt), len(gt)); for crowd GT the union is the detection's area."""
    dt_c, _ = _c_list(dt)
    gt_c, _ = _c_list(gt)
    if not dt_c or not gt_c:
        return np.zeros((len(dt_c), len(gt_c)), dtype=np.float64)
    crowd = np.asarray(iscrowd, dtype=np.uint8)
    return np.asarray(_coco_mask.iou(dt_c, gt_c, crowd), dtype=np.float64).reshape(len(dt_c), len(gt_c))


def merge(rles: Sequence[RLE], intersect: bool = False) -> RLE:
    """Union (or intersection) of RLEs of one size."""
    items, _ = _c_list(rles)
    if not items:
        raise ValueError("merge needs at least one RLE")
    return _from_c(_coco_mask.merge(items, intersect=int(intersect)))


def is_rle(segmentation: Any) -> bool:
    """True for an RLE dict (compressed or not), False for polygons."""
    return isinstance(segmentation, dict) and "counts" in segmentation


def crop_to_rle(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> dict:
    """Compressed COCO RLE of a (height, width) image that is zero except `crop` placed at (x0, y0).

    Equal to `cocoseg.masks.encode` of the full bitmap, at a cost proportional to the crop: the crop
    is padded with a zero row above and below and scanned column-major (COCO RLE order); outside the
    crop the image is zero, so its value changes are exactly the padded crop's, shifted into place.
    """
    h, w = crop.shape
    if h == 0 or w == 0 or not crop.any():
        return encode(np.zeros((height, width), dtype=np.uint8))
    padded = np.zeros((w, h + 2), dtype=np.int8)
    padded[:, 1:-1] = crop.T
    change = np.flatnonzero(np.diff(padded.reshape(-1))) + 1
    col, row = np.divmod(change, h + 2)
    positions = (x0 + col) * height + (y0 - 1 + row)
    # a crop spanning the full height: the padding rows do not exist, so a run ending at the bottom of
    # one column and a run starting at the top of the next meet at one position and cancel out
    same = positions[1:] == positions[:-1]
    if same.any():
        drop = np.zeros(len(positions), dtype=bool)
        drop[:-1] |= same
        drop[1:] |= same
        positions = positions[~drop]
    positions = positions[positions < height * width]  # a change "after" the last pixel is the image end
    counts = np.diff(np.concatenate(([0], positions, [height * width]))).tolist()
    return compress({"size": [height, width], "counts": counts})
