"""Evaluation parameters: pycocotools' defaults, validated and resolved against a GT dataset."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Union

import numpy as np

from cocoseg.errors import CocosegError

IOU_TYPES = ("bbox", "segm", "keypoints")

# pycocotools Params: linspace, not arange ("np.arange causes trouble").
IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True).tolist())
RECALL_THRESHOLDS = tuple(np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True).tolist())
DETECTION_AREAS = (("all", 0.0, 1e5**2), ("small", 0.0, 32.0**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, 1e5**2))
KEYPOINT_AREAS = (("all", 0.0, 1e5**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, 1e5**2))
# COCO's 17 person keypoints (pycocotools Params.kpt_oks_sigmas).
COCO_KEYPOINT_SIGMAS = tuple((np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                                        .87, .87, .89, .89]) / 10.0).tolist())

AreaRanges = Union[Mapping[str, Sequence[float]], Sequence[Sequence]]


@dataclass(frozen=True)
class EvalParams:
    """What to evaluate and how; defaults are pycocotools' for the IoU type.

    Attributes:
        iou_type: "bbox", "segm" or "keypoints".
        image_ids: images evaluated, sorted and unique (None until resolved: all GT images).
        category_ids: categories evaluated, sorted and unique (None until resolved: all GT categories).
        use_cats: False pools all categories into one (pycocotools `useCats=0`).
        iou_thresholds: T thresholds (pycocotools `iouThrs`, 0.50:0.05:0.95 by linspace).
        recall_thresholds: R thresholds (`recThrs`, 0:0.01:1 by linspace).
        max_dets: M per-image (and per-category) detection caps, ascending (`maxDets`).
        area_ranges: A (label, lo, hi) on the annotation's `area`; the first is the "all" range.
        keypoint_sigmas: OKS sigmas for every category, overriding a category's `sigmas` field;
            None: the category's `sigmas` when present, else COCO's 17 defaults.
    """

    iou_type: str = "bbox"
    image_ids: tuple[int, ...] | None = None
    category_ids: tuple[int, ...] | None = None
    use_cats: bool = True
    iou_thresholds: tuple[float, ...] = IOU_THRESHOLDS
    recall_thresholds: tuple[float, ...] = RECALL_THRESHOLDS
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_ranges: tuple[tuple[str, float, float], ...] = DETECTION_AREAS
    keypoint_sigmas: tuple[float, ...] | None = field(default=None)

    @classmethod
    def create(
        cls,
        iou_type: str = "bbox",
        *,
        image_ids: Iterable[int] | None = None,
        category_ids: Iterable[int] | None = None,
        use_cats: bool = True,
        max_dets: Sequence[int] | None = None,
        area_ranges: AreaRanges | None = None,
        iou_thresholds: Sequence[float] | None = None,
        recall_thresholds: Sequence[float] | None = None,
        keypoint_sigmas: Sequence[float] | None = None,
    ) -> EvalParams:
        """Parameters with pycocotools' defaults for `iou_type` where an argument is None, validated."""
        if iou_type not in IOU_TYPES:
            raise CocosegError(f"iou_type must be one of {', '.join(IOU_TYPES)}, got {iou_type!r}")
        kp = iou_type == "keypoints"
        return cls(
            iou_type=iou_type,
            image_ids=None if image_ids is None else _unique_ints(image_ids, "image_ids"),
            category_ids=None if category_ids is None else _unique_ints(category_ids, "category_ids"),
            use_cats=bool(use_cats),
            iou_thresholds=_thresholds(iou_thresholds, IOU_THRESHOLDS, "iou_thresholds"),
            recall_thresholds=_thresholds(recall_thresholds, RECALL_THRESHOLDS, "recall_thresholds"),
            max_dets=_max_dets(max_dets if max_dets is not None else ((20,) if kp else (1, 10, 100))),
            area_ranges=_area_ranges(area_ranges if area_ranges is not None else (KEYPOINT_AREAS if kp else DETECTION_AREAS)),
            keypoint_sigmas=None if keypoint_sigmas is None else tuple(float(s) for s in keypoint_sigmas),
        )

    def resolved(self, gt_image_ids: Iterable[int], gt_category_ids: Iterable[int]) -> EvalParams:
        """These parameters with image and category ids filled from the GT where they were None."""
        images = self.image_ids if self.image_ids is not None else _unique_ints(gt_image_ids, "image ids")
        cats = self.category_ids if self.category_ids is not None else _unique_ints(gt_category_ids, "category ids")
        return replace(self, image_ids=images, category_ids=cats)

    @property
    def area_labels(self) -> tuple[str, ...]:
        """Area range labels, in order."""
        return tuple(a[0] for a in self.area_ranges)

    def same_as(self, other: EvalParams) -> bool:
        """True when `other` evaluates the same images with the same settings (states can merge)."""
        return self.to_dict() == other.to_dict() and self.image_ids == other.image_ids

    def to_dict(self) -> dict:
        """JSON-friendly form (image ids summarized by count when there are many)."""
        images = self.image_ids
        return {
            "iou_type": self.iou_type,
            "num_images": None if images is None else len(images),
            "image_ids": list(images) if images is not None and len(images) <= 100 else None,
            "category_ids": None if self.category_ids is None else list(self.category_ids),
            "use_cats": self.use_cats,
            "iou_thresholds": list(self.iou_thresholds),
            "recall_thresholds": [self.recall_thresholds[0], self.recall_thresholds[-1], len(self.recall_thresholds)],
            "max_dets": list(self.max_dets),
            "area_ranges": [[label, lo, hi] for label, lo, hi in self.area_ranges],
            "keypoint_sigmas": None if self.keypoint_sigmas is None else list(self.keypoint_sigmas),
        }


def _unique_ints(values: Iterable[int], name: str) -> tuple[int, ...]:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return tuple(sorted(set(values.tolist())))
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise CocosegError(f"{name} must be integers, got {v!r}")
        out.append(int(v))
    return tuple(sorted(set(out)))


def _thresholds(values: Sequence[float] | None, default: tuple[float, ...], name: str) -> tuple[float, ...]:
    if values is None:
        return default
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)) or (arr < 0).any() or (arr > 1).any():
        raise CocosegError(f"{name} must be a non-empty list of numbers in [0, 1], got {list(values)}")
    if np.any(np.diff(arr) < 0):
        raise CocosegError(f"{name} must be ascending, got {arr.tolist()}")
    return tuple(arr.tolist())


def _max_dets(values: Sequence[int]) -> tuple[int, ...]:
    try:
        dets = sorted(int(v) for v in values)
    except (TypeError, ValueError):
        raise CocosegError(f"max_dets must be positive integers, got {values!r}") from None
    if not dets or dets[0] < 1 or len(set(dets)) != len(dets):
        raise CocosegError(f"max_dets must be distinct positive integers, got {list(values)}")
    return tuple(dets)  # pycocotools evaluate() sorts maxDets too


def _area_ranges(ranges: AreaRanges) -> tuple[tuple[str, float, float], ...]:
    """(label, lo, hi) tuples from a mapping {label: (lo, hi)} or a sequence of (label, lo, hi)."""
    items = list(ranges.items()) if isinstance(ranges, Mapping) else [(r[0], r[1:]) for r in ranges]
    out = []
    for label, bounds in items:
        bounds = list(bounds[0]) if len(bounds) == 1 and isinstance(bounds[0], (list, tuple)) else list(bounds)
        if not isinstance(label, str) or len(bounds) != 2:
            raise CocosegError(f"an area range is (label, lo, hi), got {(label, *bounds)!r}")
        lo, hi = float(bounds[0]), float(bounds[1])
        if not lo <= hi:
            raise CocosegError(f"area range {label!r}: lo must be <= hi, got [{lo}, {hi}]")
        out.append((label, lo, hi))
    labels = [a[0] for a in out]
    if not out or len(set(labels)) != len(labels):
        raise CocosegError(f"area ranges need distinct labels, got {labels}")
    return tuple(out)
