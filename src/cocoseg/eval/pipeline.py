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
    width = len(table.category_ids) + 1
    g_key = table.img[rows] * width + (table.cat[rows] if params.use_cats else 0)
    cell_dt, cell_gt = cells(g_key, d_img * width + (d_cat if params.use_cats else 0))
    crowd = table.iscrowd[rows]
    area_rng = np.array([[lo, hi] for _, lo, hi in params.area_ranges], dtype=np.float64).reshape(-1, 2)
    dt_area = np.ascontiguousarray(dets.areas[sel], dtype=np.float64)
    dt_box = np.asarray(dets.boxes_xywh, np.float64).reshape(-1, 4)[sel]
    if params.iou_type == "bbox" and NATIVE is not None:
        dt_match, gt_match, gt_ign = match_boxes(
            dt_box, table.boxes_xywh[rows], cell_dt, cell_gt, table.areas[rows], table.ignore[rows], crowd,
            dt_area, area_rng, np.asarray(params.iou_thresholds))
    elif params.iou_type == "bbox":
        iou, base, stride = bbox_cell_ious(dt_box, table.boxes_xywh[rows], crowd, cell_dt, cell_gt)
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
        iou, base, stride = keypoint_cell_ious(dets.keypoints[sel], table.keypoints[rows], table.boxes_xywh[rows],
                                               table.areas[rows], table.sigmas[rows], cell_dt, cell_gt)
    if params.iou_type != "bbox" or NATIVE is None:
        dt_match, gt_match, gt_ign = match_cells(
            iou, base, stride, cell_dt, cell_gt, table.areas[rows], table.ignore[rows], crowd, dt_area, area_rng,
            np.asarray(params.iou_thresholds))
    return EvalState(
        params=params, image_ids=table.image_ids[image_pos],
        dt_image_id=table.image_ids[d_img], dt_category_id=np.asarray(dets.category_ids, np.int64)[sel],
        dt_score=np.asarray(dets.scores, np.float64)[sel], dt_rank=rank.astype(np.int64, copy=False),
        dt_area=dt_area, dt_index=sel.astype(np.int64, copy=False) + offset,
        dt_box=dt_box, dt_match=dt_match,
        gt_image_id=table.image_ids[table.img[rows]], gt_category_id=table.category_ids[table.cat[rows]],
        gt_ann_index=table.ann_index[rows], gt_area=table.areas[rows], gt_iscrowd=crowd,
        gt_ignore=gt_ign, gt_match=gt_match)


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
    precision, recall, scores = accumulate_state(
        dk, n_k, state.dt_image_id, state.dt_rank, state.dt_score, state.dt_match,
        npig.astype(np.int64).reshape(n_k, -1), np.asarray(p.max_dets, dtype=np.int64),
        np.asarray(p.recall_thresholds, dtype=np.float64))
    shape = (n_k, len(p.area_ranges), len(p.max_dets), len(p.iou_thresholds))
    return (np.ascontiguousarray(precision.reshape(*shape, -1).transpose(3, 4, 0, 1, 2)),
            np.ascontiguousarray(recall.reshape(shape).transpose(3, 0, 1, 2)),
            np.ascontiguousarray(scores.reshape(*shape, -1).transpose(3, 4, 0, 1, 2)))
