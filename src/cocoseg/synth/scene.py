"""One synthetic image: background, a crowded cluster now and then, then objects drawn in order.

Every object is rasterized by pycocotools from its polygons, and painted over what is already
there; an owner map records which instance each pixel shows, so each instance's visible mask
(what its annotation must describe) is `owner == index`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.synth import shapes
from cocoseg.synth.background import background, hsv_to_bgr
from cocoseg.synth.categories import CATEGORIES, CATEGORY_BY_NAME, HUE_JITTER, SynthCategory
from cocoseg.synth.person import person
from cocoseg.synth.raster import rasterize

BUILDERS: dict[str, Callable[[np.random.Generator], shapes.Outline]] = {
    "circle": shapes.circle, "square": shapes.square, "triangle": shapes.triangle, "star": shapes.star,
    "ellipse": shapes.ellipse, "ring": shapes.ring, "pair": shapes.pair, "cross": shapes.cross,
    "person": person,
}
CROWD_CLASSES = ("circle", "square", "triangle", "star")
_PLACEMENT_TRIES = 8
_MIN_SIDE, _MAX_SIDE = 32, 4096


@dataclass(frozen=True)
class SynthConfig:
    """What one image holds. Areas are in pixels, so COCO's small/medium/large buckets apply directly."""

    width: int = 256
    height: int = 256
    min_objects: int = 3
    max_objects: int = 7
    crowd_probability: float = 0.2
    size_mix: tuple[float, float, float] = (0.15, 0.6, 0.25)  # small (< 32^2), medium, large (> 96^2)
    min_visible: float = 0.5  # occlusion never hides more than half of an instance

    def __post_init__(self) -> None:
        if not (_MIN_SIDE <= self.width <= _MAX_SIDE and _MIN_SIDE <= self.height <= _MAX_SIDE):
            raise CocosegError(f"size: {self.width}x{self.height} is out of range; "
                               f"each side must be {_MIN_SIDE} to {_MAX_SIDE} pixels")
        if not 0 <= self.min_objects <= self.max_objects <= 100:
            raise CocosegError(f"objects per image: need 0 <= min_objects ({self.min_objects}) "
                               f"<= max_objects ({self.max_objects}) <= 100")
        if not 0.0 <= self.crowd_probability <= 1.0:
            raise CocosegError(f"crowd_probability: {self.crowd_probability} is not in [0, 1]")
        if len(self.size_mix) != 3 or min(self.size_mix) < 0 or sum(self.size_mix) <= 0:
            raise CocosegError(f"size_mix: {self.size_mix} must be three non-negative weights")
        if not 0.0 < self.min_visible <= 1.0:
            raise CocosegError(f"min_visible: {self.min_visible} is not in (0, 1]")


@dataclass
class Instance:
    """One annotated object: its in-image mask (`patch` at `x0, y0`) before later objects covered it."""

    category: SynthCategory
    iscrowd: bool
    patch: np.ndarray
    x0: int
    y0: int
    # the outline's own polygons when they are valid COCO polygons lying inside the image; used
    # as the annotation when nothing covers the object, otherwise the visible mask is traced
    polygons: tuple[np.ndarray, ...] | None = None
    keypoints: np.ndarray | None = None  # (17, 2) image coordinates

    @property
    def full_area(self) -> int:
        return int(self.patch.sum())


@dataclass
class RenderedImage:
    """An image (H, W, 3 uint8 BGR), its instances in drawing order and the per-pixel owner index."""

    image: np.ndarray
    owner: np.ndarray
    instances: list[Instance] = field(default_factory=list)

    def visible_mask(self, index: int) -> np.ndarray:
        """(H, W) bool: the pixels where instance `index` is what the image shows."""
        return self.owner == index

    def keypoint_visibility(self, index: int) -> np.ndarray:
        """COCO v per keypoint: 2 visible, 1 covered by a later object, 0 outside the image."""
        points = self.instances[index].keypoints
        height, width = self.owner.shape
        out = np.zeros(len(points), dtype=np.int64)
        for k, (x, y) in enumerate(points):
            if 0 <= x < width and 0 <= y < height:
                out[k] = 1 if self.owner[int(y), int(x)] > index else 2
        return out


def _clip(patch: np.ndarray, x0: int, y0: int, width: int, height: int):
    xa, ya = max(x0, 0), max(y0, 0)
    xb, yb = min(x0 + patch.shape[1], width), min(y0 + patch.shape[0], height)
    if xa >= xb or ya >= yb:
        return None
    return patch[ya - y0 : yb - y0, xa - x0 : xb - x0], xa, ya


def _sample_area(rng: np.random.Generator, cfg: SynthConfig) -> float:
    pixels = cfg.width * cfg.height
    ranges = ((80.0, 700.0), (1300.0, max(1400.0, min(8000.0, 0.12 * pixels))),
              (10500.0, max(11000.0, 0.3 * pixels)))
    weights = np.asarray(cfg.size_mix, dtype=np.float64)
    low, high = ranges[int(rng.choice(3, p=weights / weights.sum()))]
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _pose(rng: np.random.Generator, outline: shapes.Outline, area: float, cfg: SynthConfig,
          center: np.ndarray | None = None):
    """Scale, rotate and place an outline (at `center`, else at random); polygons are snapped
    to quarter pixels, which are exact in binary so whole-pixel shifts never change a raster."""
    angle = rng.uniform(-outline.rotation_range, outline.rotation_range)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scale = np.sqrt(area / outline.unit_area)
    polys = [p @ rot.T for p in outline.polygons]
    points = np.concatenate(polys)
    lo, hi = points.min(axis=0), points.max(axis=0)
    # never larger than 95% of the image on either side
    scale = min(scale, 0.95 * cfg.width / (hi[0] - lo[0]), 0.95 * cfg.height / (hi[1] - lo[1]))
    lo, hi = lo * scale, hi * scale
    extent = hi - lo
    # up to 20% of the box may leave the image (truncated objects, keypoints with v=0)
    low_c = -lo - 0.2 * extent
    high_c = np.array([cfg.width, cfg.height]) - hi + 0.2 * extent
    if center is None:
        center = rng.uniform(np.minimum(low_c, high_c), np.maximum(low_c, high_c))
    placed = tuple(np.round((p * scale + center) * 4.0) / 4.0 for p in polys)
    keypoints = None
    if outline.keypoints is not None:
        keypoints = np.round((outline.keypoints @ rot.T * scale + center) * 100.0) / 100.0
    return placed, keypoints


def _color(rng: np.random.Generator, category: SynthCategory) -> np.ndarray:
    hue = category.hue + rng.uniform(-HUE_JITTER, HUE_JITTER)
    return hsv_to_bgr(hue, rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0))


def _paint(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, xa: int, ya: int,
           color: np.ndarray) -> None:
    """Fill `mask` (placed at xa, ya) with `color`, shaded by a gentle linear gradient."""
    h, w = mask.shape
    angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(-0.2, 0.2)
    ys, xs = np.nonzero(mask)
    t = (xs * np.cos(angle) + ys * np.sin(angle)) / max(h, w, 1)
    shade = (1.0 + strength * (t - 0.5)).astype(np.float32)
    region = image[ya : ya + h, xa : xa + w]
    region[ys, xs] = color[None, :] * shade[:, None]


class _Canvas:
    """The image being drawn, the owner map and the instances so far."""

    def __init__(self, rng: np.random.Generator, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.image = background(rng, cfg.width, cfg.height)
        self.owner = np.full((cfg.height, cfg.width), -1, dtype=np.int16)
        self.instances: list[Instance] = []

    def fits(self, mask: np.ndarray, xa: int, ya: int) -> bool:
        """Whether drawing `mask` keeps min_visible of every earlier instance in view."""
        if not self.instances:
            return True
        under = self.owner[ya : ya + mask.shape[0], xa : xa + mask.shape[1]][mask]
        lost = np.bincount(under[under >= 0], minlength=len(self.instances))
        if not lost.any():
            return True
        visible = np.bincount(self.owner[self.owner >= 0], minlength=len(self.instances))
        full = np.array([inst.full_area for inst in self.instances])
        return bool(np.all(visible - lost >= np.maximum(self.cfg.min_visible * full, 8)))

    def add(self, instance: Instance) -> None:
        mask, xa, ya = instance.patch, instance.x0, instance.y0
        self.owner[ya : ya + mask.shape[0], xa : xa + mask.shape[1]][mask] = len(self.instances)
        self.instances.append(instance)


def _inside(polygons: tuple[np.ndarray, ...], cfg: SynthConfig) -> bool:
    points = np.concatenate(polygons)
    return bool(points.min() >= 0 and np.all(points.max(axis=0) <= [cfg.width, cfg.height]))


def _add_object(rng: np.random.Generator, canvas: _Canvas, category: SynthCategory) -> bool:
    """Draw one object where it leaves earlier ones visible enough; False when no spot was found."""
    cfg = canvas.cfg
    area = _sample_area(rng, cfg)
    for _ in range(_PLACEMENT_TRIES):
        outline = BUILDERS[category.name](rng)
        polygons, keypoints = _pose(rng, outline, area, cfg)
        patch, x0, y0 = rasterize(polygons)
        clipped = _clip(patch, x0, y0, cfg.width, cfg.height)
        if clipped is None:
            continue
        mask, xa, ya = clipped
        in_view = int(mask.sum())
        if in_view < max(8, 0.5 * patch.sum()) or not canvas.fits(mask, xa, ya):
            continue
        exact = polygons if outline.annotatable and _inside(polygons, cfg) else None
        _paint(rng, canvas.image, mask, xa, ya, _color(rng, category))
        canvas.add(Instance(category, False, mask, xa, ya, exact, keypoints))
        return True
    return False


def _add_crowd(rng: np.random.Generator, canvas: _Canvas) -> None:
    """A dense cluster of tiny objects of one class, annotated as a single iscrowd instance."""
    cfg = canvas.cfg
    category = CATEGORY_BY_NAME[CROWD_CLASSES[int(rng.integers(len(CROWD_CLASSES)))]]
    radius = rng.uniform(0.08, 0.15) * min(cfg.width, cfg.height)
    center = rng.uniform([radius, radius], [cfg.width - radius, cfg.height - radius])
    union = np.zeros((cfg.height, cfg.width), dtype=bool)
    for _ in range(int(rng.integers(8, 21))):
        angle = rng.uniform(0, 2 * np.pi)
        offset = radius * np.sqrt(rng.random()) * np.array([np.cos(angle), np.sin(angle)])
        outline = BUILDERS[category.name](rng)
        polygons, _ = _pose(rng, outline, rng.uniform(20.0, 80.0), cfg, center=center + offset)
        clipped = _clip(*rasterize(polygons), cfg.width, cfg.height)
        if clipped is None:
            continue
        mask, xa, ya = clipped
        _paint(rng, canvas.image, mask, xa, ya, _color(rng, category))
        union[ya : ya + mask.shape[0], xa : xa + mask.shape[1]] |= mask
    if not union.any():
        return
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    ya, yb, xa, xb = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    canvas.add(Instance(category, True, union[ya:yb, xa:xb], int(xa), int(ya)))


def render_image(cfg: SynthConfig, seed: int, index: int) -> RenderedImage:
    """Draw image `index` of the dataset with `seed`; it depends on nothing else, so any subset
    of a dataset can be regenerated alone."""
    rng = np.random.default_rng([seed, index])
    canvas = _Canvas(rng, cfg)
    if rng.random() < cfg.crowd_probability:
        _add_crowd(rng, canvas)
    for _ in range(int(rng.integers(cfg.min_objects, cfg.max_objects + 1))):
        _add_object(rng, canvas, CATEGORIES[int(rng.integers(len(CATEGORIES)))])
    image = np.clip(np.round(canvas.image), 0, 255).astype(np.uint8)
    return RenderedImage(image, canvas.owner, canvas.instances)
