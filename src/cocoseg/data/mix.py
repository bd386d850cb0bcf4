"""Multi-image augmentations: mosaic (4 images), copy-paste, mixup.

Facts from `docs/YOLOV8_SEG.md` §4.5: mosaic places 4 images around a centre drawn uniformly in
[s/2, 3s/2] on a 2s x 2s gray-114 canvas (the following random perspective crops back to s x s);
copy-paste pastes horizontally flipped instances that overlap existing ones by less than 30 % of their
box; mixup blends with a second augmented sample at a Beta(32, 32) ratio and keeps both label sets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np

from cocoseg.data.augment import PerspectiveParams, RandomFlip, box_candidates
from cocoseg.data.polygon_parts import fill_instance
from cocoseg.data.sample import Sample, concat_samples, map_polygons
from cocoseg.masks.polygons import clip_instances
from cocoseg.ops.letterbox import PAD_VALUE

Loader = Callable[[int], Sample]


@dataclass(frozen=True)
class MosaicParams:
    centre: tuple[int, int]
    others: tuple[int, int, int]


class Mosaic:
    """Four images (this one and three drawn at random from `num_images`) tiled around a random centre."""

    def __init__(self, size: int, load: Loader, num_images: int):
        self.size, self.load, self.num_images = size, load, num_images

    def get_params(self, rng: np.random.Generator, sample: Sample) -> MosaicParams:
        s = self.size
        xc, yc = (int(v) for v in rng.uniform(s / 2, 3 * s / 2, 2))
        others = tuple(int(i) for i in rng.integers(0, self.num_images, 3))
        return MosaicParams((xc, yc), others)  # type: ignore[arg-type]

    def apply(self, sample: Sample, p: MosaicParams) -> Sample:
        s2 = 2 * self.size
        canvas = np.full((s2, s2, 3), PAD_VALUE, dtype=np.uint8)
        tiles = [sample] + [self.load(i) for i in p.others]
        placed = []
        for corner, tile in enumerate(tiles):
            dst, src = tile_regions(corner, p.centre, tile.hw, s2)
            (x1a, y1a, x2a, y2a), (x1b, y1b, x2b, y2b) = dst, src
            canvas[y1a:y2a, x1a:x2a] = tile.image[y1b:y2b, x1b:x2b]
            placed.append(shift_and_clip(tile, x1a - x1b, y1a - y1b, dst))
        return replace(concat_samples(canvas, placed), image_id=sample.image_id)

    def apply_scaled(self, sample: Sample, p: MosaicParams, warp: PerspectiveParams) -> Sample:
        """`apply` followed by a scale + translation `warp` (RandomPerspective's draw), without the 2s x 2s
        canvas: each tile's visible crop is resized (cv2.resize, ~4x faster than warpAffine) straight into
        the output, and the tile's instances follow the exact map that resize realises.

        That map rounds the tile's output edges to whole pixels, so it differs from `warp.matrix` by at
        most half a pixel; unlike warpAffine's, it keeps COCO's continuous coordinates (pixel i spans
        [i, i + 1]) aligned between image and labels at any scale. Instances are clipped to their tile,
        then to the output, and filtered by the same candidate rule as `RandomPerspective`.
        """
        s2 = 2 * self.size
        out_h, out_w = warp.out_hw
        m = warp.matrix
        out = np.full((out_h, out_w, 3), PAD_VALUE, dtype=np.uint8)
        tiles = [sample] + [self.load(i) for i in p.others]
        placed, before = [], []
        for corner, tile in enumerate(tiles):
            (x1a, y1a, x2a, y2a), (x1b, y1b, x2b, y2b) = tile_regions(corner, p.centre, tile.hw, s2)
            xs = _resized_span(m[0, 0], m[0, 2], x1a, x1b, x2b, out_w)
            ys = _resized_span(m[1, 1], m[1, 2], y1a, y1b, y2b, out_h)
            if xs is None or ys is None:
                continue
            crop = tile.image[ys.src[0]:ys.src[1], xs.src[0]:xs.src[1]]
            resized = cv2.resize(crop, (xs.dst[1] - xs.dst[0], ys.dst[1] - ys.dst[0]), interpolation=cv2.INTER_LINEAR)
            (ox1, ox2), (oy1, oy2) = xs.visible(out_w), ys.visible(out_h)
            out[oy1:oy2, ox1:ox2] = resized[oy1 - ys.dst[0]:oy2 - ys.dst[0], ox1 - xs.dst[0]:ox2 - xs.dst[0]]
            matrix = np.array([[xs.gain, 0.0, xs.offset], [0.0, ys.gain, ys.offset], [0.0, 0.0, 1.0]])
            tx1, tx2 = xs.gain * x1b + xs.offset, xs.gain * x2b + xs.offset
            ty1, ty2 = ys.gain * y1b + ys.offset, ys.gain * y2b + ys.offset
            in_tile = clip_instances(map_polygons(tile.polygons, matrix), tx1, ty1, tx2, ty2)
            keep = np.array([len(parts) > 0 for parts in in_tile], dtype=bool)
            moved = replace(tile, polygons=in_tile).select(keep)
            before.append(moved.boxes_xyxy())
            placed.append(replace(moved, polygons=clip_instances(moved.polygons, 0.0, 0.0, out_w, out_h)))
        if not placed:
            return replace(sample, image=out, labels=sample.labels[:0], crowd=sample.crowd[:0], polygons=[])
        merged = replace(concat_samples(out, placed), image_id=sample.image_id)
        after = merged.boxes_xyxy()
        nonempty = np.array([len(parts) > 0 for parts in merged.polygons], dtype=bool)
        return merged.select(nonempty & box_candidates(np.concatenate(before), after))


def is_scale_translate(matrix: np.ndarray) -> bool:
    """Whether a 3x3 matrix only scales (positively) and translates: no rotation, shear or perspective."""
    return (matrix[0, 1] == 0 and matrix[1, 0] == 0 and matrix[2, 0] == 0 and matrix[2, 1] == 0
            and matrix[2, 2] == 1 and matrix[0, 0] > 0 and matrix[1, 1] > 0)


@dataclass(frozen=True)
class _Span:
    """One axis of a resized tile: source pixels [src) -> output pixels [dst), x_out = gain * x_src + offset."""

    src: tuple[int, int]
    dst: tuple[int, int]
    gain: float
    offset: float

    def visible(self, size: int) -> tuple[int, int]:
        return max(self.dst[0], 0), min(self.dst[1], size)


def _resized_span(scale: float, shift: float, canvas_lo: int, src_lo: int, src_hi: int, size: int) -> _Span | None:
    """The source pixels of a tile (at `canvas_lo` on the canvas) that the output [0, size) shows, and the
    whole output pixels they resize to; None when nothing is visible. The ideal map is
    x_out = scale * (x_src - src_lo + canvas_lo) + shift; both span ends are rounded to whole pixels."""
    def ideal(x: float) -> float:
        return scale * (x - src_lo + canvas_lo) + shift

    c1 = max(src_lo, math.floor(-shift / scale + src_lo - canvas_lo))
    c2 = min(src_hi, math.ceil((size - shift) / scale + src_lo - canvas_lo))
    if c2 <= c1:
        return None
    # the same float expression for a shared edge of two tiles gives both the same pixel: no gap, no overlap
    p1, p2 = math.floor(ideal(c1) + 0.5), math.floor(ideal(c2) + 0.5)
    if p2 <= p1 or p2 <= 0 or p1 >= size:
        return None
    gain = (p2 - p1) / (c2 - c1)
    return _Span((c1, c2), (p1, p2), gain, p1 - gain * c1)


def tile_regions(corner: int, centre: tuple[int, int], hw: tuple[int, int], canvas: int
                 ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Canvas and source rectangles (x1, y1, x2, y2) of tile `corner` (0 TL, 1 TR, 2 BL, 3 BR)."""
    xc, yc = centre
    h, w = hw
    if corner == 0:
        dst = (max(xc - w, 0), max(yc - h, 0), xc, yc)
        src = (w - (dst[2] - dst[0]), h - (dst[3] - dst[1]), w, h)
    elif corner == 1:
        dst = (xc, max(yc - h, 0), min(xc + w, canvas), yc)
        src = (0, h - (dst[3] - dst[1]), min(w, dst[2] - dst[0]), h)
    elif corner == 2:
        dst = (max(xc - w, 0), yc, xc, min(canvas, yc + h))
        src = (w - (dst[2] - dst[0]), 0, w, min(dst[3] - dst[1], h))
    else:
        dst = (xc, yc, min(xc + w, canvas), min(canvas, yc + h))
        src = (0, 0, min(w, dst[2] - dst[0]), min(dst[3] - dst[1], h))
    return dst, src


def shift_and_clip(tile: Sample, dx: float, dy: float, rect: tuple[int, int, int, int]) -> Sample:
    """Instances moved by (dx, dy) and clipped to the tile's visible rectangle; empty ones dropped."""
    offset = np.array([dx, dy], np.float32)
    polys = clip_instances([[part + offset for part in inst] for inst in tile.polygons], *rect)
    keep = np.array([len(parts) > 0 for parts in polys], dtype=bool)
    return replace(tile, polygons=polys).select(keep)


class CopyPaste:
    """Paste a fraction `p` of the instances, mirrored left-right, where they cover < 30 % of others."""

    def __init__(self, p: float = 0.0, max_ioa: float = 0.30):
        self.p, self.max_ioa = p, max_ioa

    def get_params(self, rng: np.random.Generator, sample: Sample) -> np.ndarray:
        n = len(sample)
        k = int(round(self.p * n))
        return rng.choice(n, size=k, replace=False) if k else np.zeros(0, np.int64)

    def apply(self, sample: Sample, chosen: np.ndarray) -> Sample:
        if len(chosen) == 0:
            return sample
        flipped = RandomFlip(1.0).apply(sample, True)
        boxes = sample.boxes_xyxy()
        flip_boxes = flipped.boxes_xyxy()
        image = sample.image.copy()
        pasted = []
        for i in chosen.tolist():
            if sample.crowd[i] or box_ioa(flip_boxes[i], boxes).max(initial=0.0) >= self.max_ioa:
                continue
            mask = np.zeros(image.shape[:2], np.uint8)
            fill_instance(mask, flipped.polygons[i], 1)
            image[mask.astype(bool)] = flipped.image[mask.astype(bool)]
            boxes = np.concatenate([boxes, flip_boxes[i:i + 1]])
            pasted.append(i)
        if not pasted:
            return sample
        extra = flipped.select(np.isin(np.arange(len(sample)), pasted))
        return concat_samples(image, [sample, extra])


def box_ioa(box: np.ndarray, boxes: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Intersection of `box` with each of `boxes` over the area of `box`: (N,)."""
    iw = (np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])).clip(0)
    ih = (np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])).clip(0)
    return iw * ih / ((box[2] - box[0]) * (box[3] - box[1]) + eps)


@dataclass(frozen=True)
class MixUpParams:
    apply: bool
    ratio: float
    seed: int


class MixUp:
    """With probability `p`, blend with another sample made by `make_other(rng)` (same size)."""

    def __init__(self, p: float, make_other: Callable[[np.random.Generator], Sample]):
        self.p, self.make_other = p, make_other

    def get_params(self, rng: np.random.Generator, sample: Sample) -> MixUpParams:
        return MixUpParams(bool(rng.random() < self.p), float(rng.beta(32.0, 32.0)), int(rng.integers(2**31)))

    def apply(self, sample: Sample, p: MixUpParams) -> Sample:
        if not p.apply:
            return sample
        other = self.make_other(np.random.default_rng(p.seed))
        image = (sample.image.astype(np.float32) * p.ratio + other.image.astype(np.float32) * (1 - p.ratio))
        return concat_samples(image.astype(np.uint8), [sample, other])
