"""Challenge slices, each evaluated by the engine as its own AP.

- ``all``, ``small``, ``medium``, ``large``: COCO's area ranges on the annotation's `area`
  (one engine run; identical to the summary's APs), plus any user-defined area ranges.
- ``occluded`` / ``unoccluded``: a regular GT is occluded when its highest IoU with another
  regular GT of the same image, of any category, exceeds `occlusion_iou` (0.3); measured on the GT
  boxes by default (`occlusion_by="box"`, the same for bbox and segm evaluation) or on the GT
  masks (`occlusion_by="mask"`). Crowd regions are neither occluded nor occluders.
- ``crowded`` / ``uncrowded``: images holding at least `crowded_min` (10) regular GT of the
  evaluated categories, or fewer.

Instance slices (area, occlusion) keep every image and turn the out-of-slice GT into ignore
regions, the way COCO's own area ranges work: a detection matched to one is neither right nor
wrong, an unmatched detection is still a false positive. The engine is run on a copy of the GT
whose out-of-slice annotations get an `area` outside the evaluated range. Image slices (crowded)
evaluate only the slice's images, so detections elsewhere do not count.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.errors import CocosegError
from cocoseg.eval.analysis._engine import ALL_RANGE, mean_precision, mean_recall, run_evaluate
from cocoseg.eval.analysis._prepare import load_inputs
from cocoseg.io import CocoDataset

COCO_AREAS = (("all", 0.0, 1e10), ("small", 0.0, 32.0**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, 1e10))
KEYPOINT_AREAS = (COCO_AREAS[0], COCO_AREAS[2], COCO_AREAS[3])  # pycocotools has no 'small' for keypoints
_OUTSIDE = ALL_RANGE[2] * 10  # an `area` no evaluated range contains: the GT becomes an ignore region


@dataclass(frozen=True)
class SliceResult:
    """One slice: how many regular GT and images it holds and its AP figures (-1: no GT in it)."""

    name: str
    description: str
    num_gt: int
    num_images: int
    ap: float
    ap50: float
    ap75: float
    ar: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SliceReport:
    """All slices of one evaluation, in a fixed order."""

    iou_type: str
    max_dets: int
    slices: tuple[SliceResult, ...]

    def __getitem__(self, name: str) -> SliceResult:
        for s in self.slices:
            if s.name == name:
                return s
        raise KeyError(f"no slice {name!r}; slices: {[s.name for s in self.slices]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"iou_type": self.iou_type, "max_dets": self.max_dets, "slices": [s.to_dict() for s in self.slices]}

    def format(self) -> str:
        """A text table of the slices."""
        lines = [f"{'slice':<14}{'GT':>8}{'images':>8}{'AP':>8}{'AP50':>8}{'AP75':>8}{'AR' + str(self.max_dets):>8}  what"]
        for s in self.slices:
            figures = "".join(f"{v:>8.3f}" if v >= 0 else f"{'-':>8}" for v in (s.ap, s.ap50, s.ap75, s.ar))
            lines.append(f"{s.name:<14}{s.num_gt:>8}{s.num_images:>8}{figures}  {s.description}")
        return "\n".join(lines)


def occlusion_iou(gt: CocoDataset, by: str = "box", category_ids: Sequence[int] | None = None) -> np.ndarray:
    """(N,) highest IoU of each annotation with another regular GT of its image (any category).

    NaN for crowd annotations and for those outside `category_ids`; 0 when alone in its image.
    """
    if by not in ("box", "mask"):
        raise CocosegError(f"occlusion_by must be 'box' or 'mask', got {by!r}")
    cats = None if category_ids is None else set(category_ids)
    out = np.full(len(gt.annotations), np.nan)
    for image_id, positions in gt.index.by_image.items():
        pos = [p for p in positions.tolist() if not gt.annotations[p].get("iscrowd", 0)
               and (cats is None or gt.annotations[p]["category_id"] in cats)]
        if not pos:
            continue
        ious = _pairwise_iou(gt, image_id, pos, by)
        np.fill_diagonal(ious, 0.0)
        out[pos] = ious.max(axis=1)
    return out


def _pairwise_iou(gt: CocoDataset, image_id: int, pos: list[int], by: str) -> np.ndarray:
    anns = [gt.annotations[p] for p in pos]
    if by == "box":
        boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        return masks.box_iou(boxes, boxes)
    image = gt.image(image_id)
    rles = [masks.segmentation_to_rle(a["segmentation"], int(image["height"]), int(image["width"])) for a in anns]
    return masks.iou(rles, rles, [0] * len(rles))


def _with_ignored(gt: CocoDataset, outside: np.ndarray) -> CocoDataset:
    """A shallow copy of `gt` whose flagged annotations get an area no range contains."""
    anns = [dict(a, area=_OUTSIDE) if flag else a for a, flag in zip(gt.annotations, outside.tolist())]
    return CocoDataset(gt.images, anns, gt.categories, gt.info, gt.licenses, source=gt.source)


def _regular(gt: CocoDataset, cats: set[int]) -> np.ndarray:
    return np.asarray([not a.get("iscrowd", 0) and a["category_id"] in cats for a in gt.annotations], dtype=bool)


def _slice(name: str, what: str, result: Any, area_index: int, num_images: int) -> SliceResult:
    """A slice's figures; its GT are those the engine did not ignore in that area range."""
    num_gt = int(np.count_nonzero(~np.asarray(result.state.gt_ignore[area_index])))
    return SliceResult(name, what, num_gt, num_images, mean_precision(result, None, area_index),
                       mean_precision(result, 0.5, area_index), mean_precision(result, 0.75, area_index),
                       mean_recall(result, area_index))


def evaluate_slices(
    gt: Any,
    results: Any,
    iou_type: str,
    *,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    occlusion_threshold: float = 0.3,
    occlusion_by: str = "box",
    crowded_min: int = 10,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    use_cats: bool = True,
    max_dets: int | None = None,
) -> SliceReport:
    """AP of every slice (see the module docstring); `area_ranges` adds {name: (lo, hi)} slices.

    Works for bbox, segm and keypoints (whose COCO area ranges have no 'small'). `max_dets`
    defaults to the engine's (100; 20 for keypoints). A slice's GT count is what the engine
    evaluates in it (keypoint GT without visible keypoints are ignored, as in COCO).
    """
    gt, dets = load_inputs(gt, results, iou_type)
    images = sorted(gt.image_ids if image_ids is None else set(image_ids))
    cats = set(gt.category_ids if category_ids is None else category_ids)
    common = {"image_ids": images, "category_ids": sorted(cats), "use_cats": use_cats,
              "max_dets": None if max_dets is None else (max_dets,)}
    regular = _regular(gt, cats) & np.isin([a["image_id"] for a in gt.annotations], images)
    ranges = [*(KEYPOINT_AREAS if iou_type == "keypoints" else COCO_AREAS),
              *((name, float(lo), float(hi)) for name, (lo, hi) in (area_ranges or {}).items())]
    result = run_evaluate(gt, dets, iou_type, area_ranges=ranges, **common)
    out = [_slice(name, "every instance" if i == 0 else f"area in [{lo:g}, {hi:g}]", result, i, len(images))
           for i, (name, lo, hi) in enumerate(ranges)]
    occluded = occlusion_iou(gt, occlusion_by, sorted(cats)) > occlusion_threshold
    rule = f"max {occlusion_by} IoU with another GT"
    for name, members, what in (("occluded", occluded, f"{rule} > {occlusion_threshold:g}"),
                                ("unoccluded", ~occluded, f"{rule} <= {occlusion_threshold:g}")):
        sliced = run_evaluate(_with_ignored(gt, regular & ~members), dets, iou_type, area_ranges=[ranges[0]], **common)
        out.append(_slice(name, what, sliced, 0, len(images)))
    out.extend(_image_slices(gt, dets, iou_type, regular, images, crowded_min, dict(common, area_ranges=[ranges[0]])))
    return SliceReport(iou_type, int(result.params.max_dets[-1]), tuple(out))


def _image_slices(gt: CocoDataset, dets: Any, iou_type: str, regular: np.ndarray, images: list[int],
                  crowded_min: int, common: dict[str, Any]) -> list[SliceResult]:
    """The crowded / uncrowded slices: the images with >= / < `crowded_min` regular GT."""
    image_of = np.asarray([a["image_id"] for a in gt.annotations], dtype=np.int64)
    ids, counts = np.unique(image_of[regular], return_counts=True)
    per_image = dict(zip(ids.tolist(), counts.tolist()))
    out = []
    for name, keep, what in (("crowded", lambda n: n >= crowded_min, f"images with >= {crowded_min} instances"),
                             ("uncrowded", lambda n: n < crowded_min, f"images with < {crowded_min} instances")):
        chosen = [i for i in images if keep(per_image.get(i, 0))]
        if not chosen:
            out.append(SliceResult(name, what, 0, 0, -1.0, -1.0, -1.0, -1.0))
            continue
        sliced = run_evaluate(gt, dets, iou_type, **dict(common, image_ids=chosen))
        out.append(_slice(name, what, sliced, 0, len(chosen)))
    return out
