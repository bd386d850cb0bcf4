"""Ground truth and detections as flat arrays grouped by image, in pycocotools' evaluation order.

The analyses (confusion, TIDE errors, F1 from matches) look at individual detections, which the
summary arrays do not keep. This module lays them out the way `COCOeval.evaluateImg` sees them:
images in ascending id; per (image, category) the detections sorted by score with a stable
mergesort over their order in the results and cut to `max_dets`; GT in file order. Geometry is a
box (x, y, w, h) for `bbox` and a compressed RLE for `segm`.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.io.results import DetectionResults, load_results

IOU_TYPES = ("bbox", "segm")
# pycocotools' 'all' area range: a GT whose `area` lies outside it is ignored in every analysis.
ALL_AREA = (0.0, 1e10)


@dataclass(frozen=True)
class Instances:
    """GT and detections of the evaluated images as flat arrays, grouped by image.

    gt_*: (G,) arrays over the kept GT annotations, sorted by image (file order within one);
    `gt_index` is the position in `CocoDataset.annotations`. `gt_ignore` = crowd or area outside
    pycocotools' 'all' range (the GT is an ignore region there).
    dt_*: (D,) arrays over the kept detections in evaluation order; `dt_index` is the position
    in the results list. `*_start` (len(image_ids) + 1,) delimit each image's block.
    """

    iou_type: str
    image_ids: np.ndarray
    category_ids: np.ndarray
    names: dict[int, str]
    gt_index: np.ndarray
    gt_image: np.ndarray
    gt_category: np.ndarray
    gt_crowd: np.ndarray
    gt_ignore: np.ndarray
    gt_area: np.ndarray
    gt_geometry: Any
    gt_start: np.ndarray
    dt_index: np.ndarray
    dt_image: np.ndarray
    dt_category: np.ndarray
    dt_score: np.ndarray
    dt_geometry: Any
    dt_start: np.ndarray

    def images(self) -> Iterator[tuple[int, slice, slice]]:
        """(image_id, GT slice, detection slice) for every evaluated image."""
        for i, image_id in enumerate(self.image_ids.tolist()):
            yield image_id, slice(self.gt_start[i], self.gt_start[i + 1]), slice(self.dt_start[i], self.dt_start[i + 1])

    def ious(self, gt: slice, dt: slice) -> np.ndarray:
        """(D_i, G_i) IoU of one image's detections and GT; crowd GT use the crowd rule (inter / det area)."""
        n_dt, n_gt = dt.stop - dt.start, gt.stop - gt.start
        if n_dt == 0 or n_gt == 0:
            return np.zeros((n_dt, n_gt))
        crowd = self.gt_crowd[gt]
        if self.iou_type == "bbox":
            return masks.box_iou(np.asarray(self.dt_geometry[dt]), np.asarray(self.gt_geometry[gt]), crowd)
        return masks.iou(self.dt_geometry[dt], self.gt_geometry[gt], crowd.astype(np.uint8).tolist())


def check_iou_type(iou_type: str) -> None:
    """Raise a CocosegError unless the analyses support `iou_type`."""
    if iou_type not in IOU_TYPES:
        raise CocosegError(f"analysis supports iou_type 'bbox' or 'segm', got {iou_type!r} "
                           "(keypoints have no box/mask overlap to classify errors with)")


def prepare(
    gt: CocoDataset,
    detections: DetectionResults,
    iou_type: str,
    *,
    image_ids: Sequence[int] | None = None,
    category_ids: Sequence[int] | None = None,
    max_dets: int = 100,
    use_cats: bool = True,
) -> Instances:
    """Lay out `gt` and loaded `detections` for the analyses.

    GT and detections of categories outside the evaluated set are dropped, as pycocotools does
    (with `use_cats=False` too); with `use_cats=False` the detections of an image are taken by
    category then results order, score-sorted and cut to `max_dets` per image (`evaluateImg`).
    """
    check_iou_type(iou_type)
    images = sorted(set(gt.image_ids) if image_ids is None else set(image_ids))
    cats = sorted(set(gt.category_ids) if category_ids is None else set(category_ids))
    names = {c["id"]: str(c.get("name", c["id"])) for c in gt.categories}
    names = {cid: names.get(cid, str(cid)) for cid in cats}
    gt_cols = _gt_arrays(gt, images, set(cats), iou_type)
    dt_cols = _dt_arrays(gt, detections, images, cats, iou_type, max_dets, use_cats)
    return Instances(iou_type, np.asarray(images, dtype=np.int64), np.asarray(cats, dtype=np.int64), names,
                     *gt_cols, *dt_cols)


def _gt_arrays(gt: CocoDataset, images: list[int], cats: set[int], iou_type: str) -> tuple:
    index, image, category, crowd, ignore, area, geometry, start = [], [], [], [], [], [], [], [0]
    for image_id in images:
        record = gt.index.images.get(image_id)
        found = gt.index.by_image.get(image_id, np.zeros(0, np.int64)).tolist()
        # by category, then file order: the order of pycocotools' per-image GT list with useCats=0
        for pos in sorted(found, key=lambda p: gt.annotations[p]["category_id"]):
            ann = gt.annotations[pos]
            if ann["category_id"] not in cats:
                continue
            a = float(ann.get("area", 0.0))
            is_crowd = bool(ann.get("iscrowd", 0))
            index.append(pos)
            image.append(image_id)
            category.append(ann["category_id"])
            crowd.append(is_crowd)
            ignore.append(is_crowd or a < ALL_AREA[0] or a > ALL_AREA[1])
            area.append(a)
            geometry.append(_gt_geometry(ann, record, iou_type))
        start.append(len(index))
    return (np.asarray(index, dtype=np.int64), np.asarray(image, dtype=np.int64),
            np.asarray(category, dtype=np.int64), np.asarray(crowd, dtype=bool), np.asarray(ignore, dtype=bool),
            np.asarray(area, dtype=np.float64), _geometry_store(geometry, iou_type), np.asarray(start, dtype=np.int64))


def _gt_geometry(ann: dict, image: dict | None, iou_type: str) -> Any:
    if iou_type == "bbox":
        return [float(v) for v in ann["bbox"]]
    if image is None:
        raise CocosegError(f"annotation {ann.get('id')}: image {ann['image_id']} is not in the GT images")
    return masks.segmentation_to_rle(ann["segmentation"], int(image["height"]), int(image["width"]))


def _dt_arrays(gt: CocoDataset, dets: DetectionResults, images: list[int], cats: list[int],
               iou_type: str, max_dets: int, use_cats: bool) -> tuple:
    kept = np.flatnonzero(np.isin(dets.image_ids, images) & np.isin(dets.category_ids, cats))
    # stable sorts, last key first: image, then (use_cats) category, then score; ties keep input order
    # (pycocotools with useCats=0 gathers an image's detections category by category first)
    order = kept[np.argsort(dets.category_ids[kept], kind="mergesort")] if not use_cats else kept
    order = order[np.argsort(-dets.scores[order], kind="mergesort")]
    if use_cats:
        order = order[np.argsort(dets.category_ids[order], kind="mergesort")]
    order = order[np.argsort(dets.image_ids[order], kind="mergesort")]
    order = order[_rank_in_group(dets, order, use_cats) < max_dets]
    image_of = dets.image_ids[order]
    start = np.searchsorted(image_of, np.asarray(images, dtype=np.int64), side="left")
    start = np.r_[start, len(order)].astype(np.int64)
    geometry = dets.boxes_xywh[order] if iou_type == "bbox" else [_dt_rle(dets, i, gt) for i in order.tolist()]
    return (order.astype(np.int64), image_of.astype(np.int64), dets.category_ids[order].astype(np.int64),
            dets.scores[order].astype(np.float64), geometry, start)


def _rank_in_group(dets: DetectionResults, order: np.ndarray, use_cats: bool) -> np.ndarray:
    """Position of each detection within its (image[, category]) run of `order`."""
    if len(order) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.diff(dets.image_ids[order]) != 0
    if use_cats:
        change |= np.diff(dets.category_ids[order]) != 0
    n = np.arange(len(order))
    return n - np.maximum.accumulate(np.where(np.r_[True, change], n, 0))


def _dt_rle(dets: DetectionResults, i: int, gt: CocoDataset) -> dict:
    segm = dets.segmentation(i)
    if isinstance(segm, dict) and not isinstance(segm.get("counts"), list):
        return masks.segmentation_to_rle(segm, *segm["size"])
    image = gt.image(int(dets.image_ids[i]))
    return masks.segmentation_to_rle(segm, int(image["height"]), int(image["width"]))


def _geometry_store(items: list[Any], iou_type: str) -> Any:
    """Boxes as one (N, 4) array (sliced per image); RLEs stay a list."""
    if iou_type == "bbox":
        return np.asarray(items, dtype=np.float64).reshape(-1, 4)
    return items


def load_inputs(gt: Any, results: Any, iou_type: str) -> tuple[CocoDataset, DetectionResults]:
    """GT as a CocoDataset (from a path, a dict or itself) and results loaded with loadRes' rules."""
    check_iou_type(iou_type)
    if isinstance(gt, CocoDataset):
        gt_ds = gt
    elif isinstance(gt, dict):
        gt_ds = CocoDataset.from_dict(gt)
    else:
        gt_ds = CocoDataset.load(gt)
    sizes = {im["id"]: (int(im["height"]), int(im["width"])) for im in gt_ds.images if "height" in im and "width" in im}
    dets = load_results(results, image_sizes=sizes)
    dets.check_images(gt_ds.image_ids)
    return gt_ds, dets
