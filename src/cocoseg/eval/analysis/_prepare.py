"""The engine's evaluated GT and detection rows with their geometry, grouped by image.

The confusion matrix and the TIDE errors need overlaps the evaluation does not keep (a detection
with GT of other categories). They use exactly the rows of the engine's `EvalState` (its GT
rows ordered by image, category, file order; its detections by image, category, score rank,
after the cut to maxDets), so the engine's matches index these arrays directly. Geometry is a
box (x, y, w, h) for `bbox` and a compressed RLE for `segm`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.io.results import DetectionResults, load_results

IOU_TYPES = ("bbox", "segm")


@dataclass(frozen=True)
class Instances:
    """GT and detection rows of an evaluation (the engine's state rows), grouped by image.

    gt_*: (G,) arrays; `gt_index` is the position in `CocoDataset.annotations`; `gt_ignore`
    marks ignore regions in the first area range (crowd, or area outside it).
    dt_*: (D,) arrays; `dt_index` is the position in the loaded results.
    `*_start` (len(image_ids) + 1,) delimit each image's block.
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

    def ious(self, gt: slice, dt: slice, rows: np.ndarray | None = None) -> np.ndarray:
        """(D_i, G_i) IoU of one image's detections (or its `rows` among them) and GT.

        Crowd GT use the crowd rule (intersection over the detection's area), as in evaluation.
        """
        picked = np.arange(dt.start, dt.stop) if rows is None else dt.start + np.asarray(rows, dtype=np.int64)
        n_gt = gt.stop - gt.start
        if len(picked) == 0 or n_gt == 0:
            return np.zeros((len(picked), n_gt))
        crowd = self.gt_crowd[gt]
        if self.iou_type == "bbox":
            return masks.box_iou(self.dt_geometry[picked], self.gt_geometry[gt], crowd)
        dts = [self.dt_geometry[i] for i in picked.tolist()]
        return masks.iou(dts, self.gt_geometry[gt], crowd.astype(np.uint8).tolist())


def check_iou_type(iou_type: str) -> None:
    """Raise a CocosegError unless the overlap analyses support `iou_type`."""
    if iou_type not in IOU_TYPES:
        raise CocosegError(f"the confusion matrix and error analysis support iou_type 'bbox' or 'segm', got "
                           f"{iou_type!r} (keypoints have no box/mask overlap with other categories)")


def instances_from_result(gt: CocoDataset, detections: DetectionResults, result: Any) -> Instances:
    """The rows of `result.state` with their geometry; `result` must come from `evaluate(gt, detections, ...)`."""
    params, state = result.params, result.state
    check_iou_type(params.iou_type)
    if not params.use_cats:
        raise CocosegError("the confusion matrix and error analysis need class-aware matching (use_cats=True)")
    image_ids = np.asarray(state.image_ids, dtype=np.int64)
    cats = np.asarray(params.category_ids, dtype=np.int64)
    names = {c["id"]: str(c.get("name", c["id"])) for c in gt.categories}
    gt_index = np.asarray(state.gt_ann_index, dtype=np.int64)
    dt_index = np.asarray(state.dt_index, dtype=np.int64)
    gt_image = np.asarray(state.gt_image_id, dtype=np.int64)
    dt_image = np.asarray(state.dt_image_id, dtype=np.int64)
    anns = [gt.annotations[i] for i in gt_index.tolist()]
    if params.iou_type == "bbox":
        gt_geometry: Any = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        dt_geometry: Any = np.asarray(detections.boxes_xywh, dtype=np.float64)[dt_index].reshape(-1, 4)
    else:
        gt_geometry = [_rle(a["segmentation"], gt.image(a["image_id"])) for a in anns]
        dt_geometry = [_rle(detections.segmentation(i), gt.image(int(detections.image_ids[i]))) for i in dt_index.tolist()]
    return Instances(
        params.iou_type, image_ids, cats, {c: names.get(c, str(c)) for c in cats.tolist()},
        gt_index, gt_image, np.asarray(state.gt_category_id, dtype=np.int64), np.asarray(state.gt_iscrowd, dtype=bool),
        np.asarray(state.gt_ignore[0], dtype=bool), np.asarray(state.gt_area, dtype=np.float64), gt_geometry,
        _starts(gt_image, image_ids), dt_index, dt_image, np.asarray(state.dt_category_id, dtype=np.int64),
        np.asarray(state.dt_score, dtype=np.float64), dt_geometry, _starts(dt_image, image_ids))


def _starts(rows_image: np.ndarray, image_ids: np.ndarray) -> np.ndarray:
    """(I + 1,) block starts of rows sorted by image."""
    return np.r_[np.searchsorted(rows_image, image_ids, side="left"), len(rows_image)].astype(np.int64)


def _rle(segmentation: Any, image: dict) -> dict:
    if isinstance(segmentation, dict) and not isinstance(segmentation.get("counts"), list):
        return masks.segmentation_to_rle(segmentation, *segmentation["size"])
    return masks.segmentation_to_rle(segmentation, int(image["height"]), int(image["width"]))


def load_inputs(gt: Any, results: Any, iou_type: str) -> tuple[CocoDataset, DetectionResults]:
    """GT as a CocoDataset (from a path, a dict or itself) and results loaded with loadRes' rules."""
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
