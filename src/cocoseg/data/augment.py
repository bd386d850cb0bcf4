"""Single-image augmentations: random affine/perspective, letterbox, HSV, flips.

Each has `get_params(rng, sample)` (all randomness) and `apply(sample, params)` (deterministic), and
moves image and polygons together. Boxes are always recomputed from the transformed, clipped polygons
(as the reference does for segments), so they stay tight after rotation and shear.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from cocoseg.data.sample import Sample, map_polygons
from cocoseg.masks.polygons import clip_instances, instance_box
from cocoseg.ops.letterbox import PAD_VALUE, letterbox


@dataclass(frozen=True)
class PerspectiveParams:
    matrix: np.ndarray  # 3x3, input pixels -> output pixels
    scale: float
    out_hw: tuple[int, int]


class RandomPerspective:
    """Random rotation, scale, shear, translation and perspective, output cropped to `size` x `size`.

    `border` is the margin removed from each side of the input (mosaic passes -size/2 to go from its
    2s x 2s canvas back to s x s). Instances whose box shrinks to <= 2 px, keeps < 10 % of its scaled
    area, or gets an aspect ratio > 100 are dropped (reference candidate rule).
    """

    def __init__(self, size: int, degrees: float = 0.0, translate: float = 0.1, scale: float = 0.5,
                 shear: float = 0.0, perspective: float = 0.0, border: int = 0):
        self.size, self.degrees, self.translate, self.scale = size, degrees, translate, scale
        self.shear, self.perspective, self.border = shear, perspective, border

    def get_params(self, rng: np.random.Generator, sample: Sample) -> PerspectiveParams:
        return self.params_for(rng, sample.hw)

    def params_for(self, rng: np.random.Generator, hw: tuple[int, int]) -> PerspectiveParams:
        """`get_params` for an input of size `hw` (the mosaic draws them before building its canvas)."""
        h, w = hw
        out_h, out_w = (self.size, self.size) if self.border else (h, w)
        centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]], np.float64)
        persp = np.eye(3)
        persp[2, 0], persp[2, 1] = rng.uniform(-self.perspective, self.perspective, 2)
        angle = rng.uniform(-self.degrees, self.degrees)
        s = rng.uniform(1 - self.scale, 1 + self.scale)
        rot = np.eye(3)
        rot[:2] = cv2.getRotationMatrix2D((0, 0), angle, s)
        shear = np.eye(3)
        shear[0, 1], shear[1, 0] = np.tan(np.radians(rng.uniform(-self.shear, self.shear, 2)))
        tx, ty = rng.uniform(0.5 - self.translate, 0.5 + self.translate, 2)
        trans = np.array([[1, 0, tx * out_w], [0, 1, ty * out_h], [0, 0, 1]], np.float64)
        return PerspectiveParams(trans @ shear @ rot @ persp @ centre, float(s), (out_h, out_w))

    def apply(self, sample: Sample, p: PerspectiveParams) -> Sample:
        out_h, out_w = p.out_hw
        m = p.matrix
        if self.perspective:
            image = cv2.warpPerspective(sample.image, m, (out_w, out_h), borderValue=(PAD_VALUE,) * 3)
        elif not np.allclose(m, np.eye(3)) or sample.hw != (out_h, out_w):
            image = cv2.warpAffine(sample.image, m[:2], (out_w, out_h), borderValue=(PAD_VALUE,) * 3)
        else:
            image = sample.image
        return self.apply_to_instances(replace(sample, image=image), p)

    def apply_to_instances(self, sample: Sample, p: PerspectiveParams) -> Sample:
        """The polygons of `sample` moved, clipped and filtered; its image is taken as already warped."""
        out_h, out_w = p.out_hw
        m = p.matrix
        before = sample.boxes_xyxy()
        clipped = clip_instances(map_polygons(sample.polygons, m), 0.0, 0.0, out_w, out_h)
        after = np.stack([instance_box(c) for c in clipped]) if clipped else np.zeros((0, 4), np.float32)
        nonempty = np.array([len(c) > 0 for c in clipped], dtype=bool)
        keep = nonempty & box_candidates(before * p.scale, after)
        return replace(sample, polygons=clipped).select(keep)


def box_candidates(boxes_before: np.ndarray, boxes_after: np.ndarray, min_wh: float = 2.0,
                   max_aspect: float = 100.0, min_area_ratio: float = 0.1, eps: float = 1e-16) -> np.ndarray:
    """Which instances survive a geometric transform: (N,) bool."""
    w1, h1 = boxes_before[:, 2] - boxes_before[:, 0], boxes_before[:, 3] - boxes_before[:, 1]
    w2, h2 = boxes_after[:, 2] - boxes_after[:, 0], boxes_after[:, 3] - boxes_after[:, 1]
    aspect = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
    return (w2 > min_wh) & (h2 > min_wh) & (w2 * h2 / (w1 * h1 + eps) > min_area_ratio) & (aspect < max_aspect)


class LetterBox:
    """Resize keeping the aspect ratio to fit `size` x `size`, pad centred with gray 114 (`ops.letterbox`)."""

    def __init__(self, size: int | tuple[int, int], scaleup: bool = True):
        self.size, self.scaleup = size, scaleup

    def get_params(self, rng: np.random.Generator | None, sample: Sample) -> None:
        return None

    def apply(self, sample: Sample, p: None = None) -> Sample:
        hw = (self.size, self.size) if isinstance(self.size, int) else self.size  # (H, W) for rectangular val batches
        image, lb = letterbox(sample.image, hw, scaleup=self.scaleup)
        sx, sy = lb.scale_x, lb.scale_y
        m = np.array([[sx, 0, lb.pad_x], [0, sy, lb.pad_y], [0, 0, 1]], np.float64)
        ratio = (sample.ratio[0] * sx, sample.ratio[1] * sy)
        pad = (sample.pad[0] * sx + lb.pad_x, sample.pad[1] * sy + lb.pad_y)
        return replace(sample, image=image, polygons=map_polygons(sample.polygons, m), ratio=ratio, pad=pad)


class RandomHSV:
    """Random hue, saturation and value gains (uniform in 1 +- gain), applied through lookup tables."""

    def __init__(self, hgain: float = 0.015, sgain: float = 0.7, vgain: float = 0.4):
        self.gains = np.array([hgain, sgain, vgain])

    def get_params(self, rng: np.random.Generator, sample: Sample) -> np.ndarray:
        return rng.uniform(-1, 1, 3) * self.gains + 1

    def apply(self, sample: Sample, r: np.ndarray, rgb: bool = False) -> Sample:
        """`rgb=True` ends the HSV round trip in RGB (saves a later BGR->RGB pass); marked in meta."""
        if not self.gains.any():
            return sample
        x = np.arange(256, dtype=np.float32)
        lut = np.stack([((x * r[0]) % 180).astype(np.uint8), np.clip(x * r[1], 0, 255).astype(np.uint8),
                        np.clip(x * r[2], 0, 255).astype(np.uint8)], axis=1).reshape(256, 1, 3)
        hsv = cv2.LUT(cv2.cvtColor(sample.image, cv2.COLOR_BGR2HSV), lut)  # one per-channel table pass
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB if rgb else cv2.COLOR_HSV2BGR)
        return replace(sample, image=image, meta={**sample.meta, "rgb": True} if rgb else sample.meta)


class RandomFlip:
    """Flip left-right (`horizontal`) or up-down with probability `p`."""

    def __init__(self, p: float = 0.5, horizontal: bool = True):
        self.p, self.horizontal = p, horizontal

    def get_params(self, rng: np.random.Generator, sample: Sample) -> bool:
        return bool(rng.random() < self.p)

    def apply(self, sample: Sample, flip: bool) -> Sample:
        if not flip:
            return sample
        h, w = sample.hw
        if self.horizontal:
            m = np.array([[-1, 0, w], [0, 1, 0], [0, 0, 1]], np.float64)
            image = cv2.flip(sample.image, 1)
        else:
            m = np.array([[1, 0, 0], [0, -1, h], [0, 0, 1]], np.float64)
            image = cv2.flip(sample.image, 0)
        return replace(sample, image=image, polygons=map_polygons(sample.polygons, m))
