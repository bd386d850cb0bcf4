"""Many compressed RLEs in three arrays (characters, offsets, sizes), with compiled area and bbox.

500k detection masks as Python dicts cost ~1 GB and seconds to build; packed they are one byte
buffer. Area and box follow maskApi.c exactly (`rleArea`, pycocotools 2.0.11's `rleToBbox`), computed
with the validator's RLE rule in one pass over the counts, in the compiled core (`cocoseg._native`,
csrc/rle.c) or its numba fallback (`masks._rle_numba`).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from cocoseg.masks.threads import threads
from cocoseg.native import NATIVE

_MIN_WORK = 1 << 20  # counts characters below which one thread does it (a thread costs ~50 us)


class PackedRles(Sequence):
    """N compressed RLEs: `chars` (uint8) holds the counts strings back to back, string i is
    chars[offsets[i]:offsets[i + 1]], `sizes` (N, 2) int64 holds [height, width].

    Indexing gives a COCO RLE dict {"size": [h, w], "counts": str}.
    """

    def __init__(self, chars: np.ndarray, offsets: np.ndarray, sizes: np.ndarray) -> None:
        self.chars = np.ascontiguousarray(chars, dtype=np.uint8)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.sizes = np.ascontiguousarray(sizes, dtype=np.int64).reshape(-1, 2)
        self._stats: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        s, e = int(self.offsets[i]), int(self.offsets[i + 1])
        return {"size": self.sizes[i].tolist(), "counts": self.chars[s:e].tobytes().decode("ascii")}

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(len(self)))

    @classmethod
    def from_rles(cls, rles: Sequence[dict]) -> PackedRles:
        """Pack compressed RLE dicts (counts as str or bytes)."""
        parts = [r["counts"].encode("ascii") if isinstance(r["counts"], str) else r["counts"] for r in rles]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        chars = np.frombuffer(b"".join(parts), dtype=np.uint8)
        sizes = np.array([[int(r["size"][0]), int(r["size"][1])] for r in rles], dtype=np.int64).reshape(-1, 2)
        return cls(chars, offsets, sizes)

    def take(self, rows: np.ndarray) -> PackedRles:
        """The RLEs at `rows`, packed anew (all rows in order: these RLEs themselves, no copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == len(self) and (rows == np.arange(len(rows))).all():
            return self
        chars, offsets = _gather(self.chars, self.offsets, rows)
        return PackedRles(chars, offsets, self.sizes[rows])

    def areas(self) -> np.ndarray:
        """(N,) float64 foreground pixels (maskApi `rleArea`)."""
        return self.stats()[0]

    def boxes(self) -> np.ndarray:
        """(N, 4) float64 [x, y, w, h] (maskApi `rleToBbox`)."""
        return self.stats()[1]

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`rle_stats` (areas, boxes, valid) of these RLEs, computed once."""
        if self._stats is None:
            self._stats = rle_stats(self.chars, self.offsets, self.sizes)
        return self._stats


def concat_packed(parts: Sequence[PackedRles]) -> PackedRles:
    """One PackedRles holding the parts in order."""
    if not parts:
        return PackedRles.from_rles([])
    shifts = np.cumsum([0] + [len(p.chars) for p in parts[:-1]])
    offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, shifts)])
    return PackedRles(np.concatenate([p.chars for p in parts]), offsets, np.concatenate([p.sizes for p in parts]))


def rle_stats(chars: np.ndarray, offsets: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(areas (N,), boxes (N, 4), valid (N,) bool) of packed RLEs in one pass over the counts, on
    several threads: valid is False where the string breaks the validator's rule (`rle_problems`)."""
    chars, offsets = np.ascontiguousarray(chars, np.uint8), np.ascontiguousarray(offsets, np.int64)
    sizes = np.ascontiguousarray(sizes, np.int64).reshape(-1, 2)
    if NATIVE is None:
        from cocoseg.masks import _rle_numba

        return _rle_numba.rle_stats(chars, offsets, sizes)
    n = len(sizes)
    areas, boxes, valid = np.empty(n), np.empty((n, 4)), np.empty(n, np.bool_)
    work = int(offsets[-1] - offsets[0]) if n else 0
    NATIVE.rle_stats(chars, offsets, sizes, areas, boxes, valid.view(np.uint8), threads() if work > _MIN_WORK else 1)
    return areas, boxes, valid


def _gather(chars: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if NATIVE is None:
        from cocoseg.masks import _rle_numba

        return _rle_numba.gather(chars, offsets, rows)
    out_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(offsets[rows + 1] - offsets[rows], out=out_off[1:])
    out = np.empty(out_off[-1], dtype=np.uint8)
    NATIVE.gather(chars, offsets, np.ascontiguousarray(rows, np.int64), out_off, out)
    return out, out_off


def segmentations_to_rles(segmentations: Sequence, height: int, width: int) -> list[dict]:
    """COCO.annToRLE of each GT segmentation of one image (compressed RLE dicts).

    Polygons of all annotations go through one `frPyObjects` call (each part is rasterized on its
    own, exactly as per annotation); multi-part ones are then merged, as annToRLE does.
    """
    from pycocotools import mask as coco_mask

    from cocoseg.masks.rle import segmentation_to_rle

    out: list = [None] * len(segmentations)
    polygons = [i for i, s in enumerate(segmentations) if isinstance(s, list) and s and len(s[0]) > 4]
    chosen = set(polygons)
    for i, s in enumerate(segmentations):
        if i not in chosen:
            out[i] = segmentation_to_rle(s, height, width)  # RLE, uncompressed RLE, box-like or empty
    if polygons:
        parts = [p for i in polygons for p in segmentations[i]]
        rles = coco_mask.frPyObjects(parts, height, width)  # the first part (> 4 numbers) picks frPoly for all
        pos = 0
        for i in polygons:
            k = len(segmentations[i])
            out[i] = rles[pos] if k == 1 else coco_mask.merge(rles[pos:pos + k])
            pos += k
    return out
