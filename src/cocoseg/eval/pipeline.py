"""The evaluation of a batch of images (IoU + matching -> EvalState) and the accumulation of a state."""
from __future__ import annotations

from typing import Callable

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.iou import bbox_cell_ious, keypoint_cell_ious, segm_cell_ious
from cocoseg.eval.kernels import accumulate_state, cells, match_boxes, match_cells
from cocoseg.eval.params import EvalParams
from cocoseg.eval.state import EvalState
from cocoseg.eval.tables import GtTable, positions, select_detections
from cocoseg.io.results import DetectionResults
from cocoseg.masks.packed_rle import PackedRles
from cocoseg.native import NATIVE


def gt_rows_of_images(table: GtTable, image_pos: np.ndarray) -> np.ndarray:
    """GT table rows of the given image positions (ascending), in table order."""
    starts, ends = table.image_starts[image_pos], table.image_starts[image_pos + 1]
    lengths = ends - starts
    if lengths.sum() == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


def _gt_columns(table: GtTable, rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """column -> column[rows]: a view when the rows are one run (all images, or consecutive ones)."""
    if len(rows) and int(rows[-1]) - int(rows[0]) + 1 == len(rows):
        first, end = int(rows[0]), int(rows[-1]) + 1
        return lambda column: column[first:end]
    return lambda column: column[rows]


def evaluate_batch(table: GtTable, params: EvalParams, dets: DetectionResults, image_pos: np.ndarray,
                   gt_masks: Callable[[np.ndarray], PackedRles] | None = None, offset: int = 0) -> EvalState:
    """Match the detections of the images at `image_pos` (ascending positions in table.image_ids).

    Detections of other images or categories are dropped (COCOeval restricts to its params).
    `gt_masks(rows)` gives the RLEs of GT table rows (segm only); segm detections carry packed
    masks. Row i of `dets` is input position offset + i (`EvalState.dt_index`).
    """
    image_pos = np.asarray(image_pos, dtype=np.int64)
    sel, d_img, d_cat, rank = select_detections(dets.image_ids, dets.category_ids, dets.scores, table, params,
                                                image_pos)
    rows = gt_rows_of_images(table, image_pos)
    gt = _gt_columns(table, rows)
    width = len(table.category_ids) + 1
    g_key = gt(table.img) * width + (gt(table.cat) if params.use_cats else 0)
    d_key, dt_image_id = d_img * width + (d_cat if params.use_cats else 0), table.image_ids[d_img]
    del d_img, d_cat  # at 4M detections each of these transient columns is 32 MB of the phase's peak
    cell_dt, cell_gt = cells(g_key, d_key)
    del d_key, g_key
    dt_match, gt_match, gt_ign = _match(table, params, dets, sel, rows, gt, cell_dt, cell_gt, gt_masks)
    del cell_dt, cell_gt
    return EvalState(
        params=params, image_ids=table.image_ids[image_pos],
        dt_image_id=dt_image_id, dt_category_id=np.asarray(dets.category_ids, np.int64)[sel],
        dt_score=np.asarray(dets.scores, np.float64)[sel], dt_rank=rank.astype(np.int64, copy=False),
        dt_index=sel.astype(np.int64, copy=False) + offset if offset else sel.astype(np.int64, copy=False),
        dt_match=dt_match, gt_image_id=table.image_ids[gt(table.img)], gt_category_id=table.category_ids[gt(table.cat)],
        gt_ann_index=gt(table.ann_index), gt_area=gt(table.areas), gt_iscrowd=gt(table.iscrowd),
        gt_ignore=gt_ign, gt_match=gt_match)


def _match(table: GtTable, params: EvalParams, dets: DetectionResults, sel: np.ndarray, rows: np.ndarray,
           gt: Callable[[np.ndarray], np.ndarray], cell_dt: np.ndarray, cell_gt: np.ndarray,
           gt_masks: Callable[[np.ndarray], PackedRles] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The match codes of the cells (detection row d is dets row sel[d]; GT rows `rows`, columns via `gt`)."""
    crowd = gt(table.iscrowd)
    area_rng = np.array([[lo, hi] for _, lo, hi in params.area_ranges], dtype=np.float64).reshape(-1, 2)
    boxes = np.asarray(dets.boxes_xywh, np.float64).reshape(-1, 4)
    gt_args = (gt(table.areas), gt(table.ignore), crowd, dets.areas, sel)
    if params.iou_type == "bbox" and NATIVE is not None:  # boxes and areas read through sel: nothing gathered
        return match_boxes(boxes, gt(table.boxes_xywh), cell_dt, cell_gt, *gt_args, area_rng,
                           np.asarray(params.iou_thresholds))
    if params.iou_type == "bbox":
        iou, base, stride = bbox_cell_ious(boxes[sel], gt(table.boxes_xywh), crowd, cell_dt, cell_gt)
    elif params.iou_type == "segm":
        masks = dets.segmentations if isinstance(dets.segmentations, PackedRles) else None
        if (masks is None and len(sel)) or gt_masks is None:
            raise CocosegError("segm evaluation needs masks for the detections")
        dt_masks = masks if masks is not None else PackedRles.from_rles([])
        iou, base, stride = segm_cell_ious(dt_masks, gt_masks(rows), crowd, cell_dt, cell_gt,
                                           sel if masks is not None else None)
    else:
        if dets.keypoints is None:
            raise CocosegError("keypoints evaluation needs keypoints for the detections")
        if len(sel) and len(rows) and dets.keypoints.shape[1] != table.keypoints.shape[1]:
            raise CocosegError(f"detections have {dets.keypoints.shape[1] // 3} keypoints but the GT categories "
                               f"have {table.keypoints.shape[1] // 3}")
        iou, base, stride = keypoint_cell_ious(dets.keypoints[sel], gt(table.keypoints), gt(table.boxes_xywh),
                                               gt(table.areas), gt(table.sigmas), cell_dt, cell_gt)
    return match_cells(iou, base, stride, cell_dt, cell_gt, *gt_args, area_rng, np.asarray(params.iou_thresholds))


def accumulate(state: EvalState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """precision [T,R,K,A,M], recall [T,K,A,M], scores [T,R,K,A,M] of a state covering all params' images."""
    p = state.params
    cats = np.asarray(p.category_ids, dtype=np.int64)
    n_k = len(cats) if p.use_cats else 1
    if p.use_cats:
        dk, gk = positions(cats, state.dt_category_id), positions(cats, state.gt_category_id)
    else:
        dk, gk = np.zeros(state.num_dt, np.int64), np.zeros(state.num_gt, np.int64)
    npig = np.stack([np.bincount(gk[~ign], minlength=n_k)[:n_k] for ign in state.gt_ignore], 1) \
        if len(p.area_ranges) else np.zeros((n_k, 0), np.int64)
    return accumulate_state(dk, n_k, state.dt_image_id, state.dt_rank, state.dt_score, state.dt_match,
                            npig.astype(np.int64).reshape(n_k, -1), np.asarray(p.max_dets, dtype=np.int64),
                            np.asarray(p.recall_thresholds, dtype=np.float64))


