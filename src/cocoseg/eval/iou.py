"""IoU (or OKS) of every evaluation cell, stored flat: cell c's (D_c, G_c) matrix at base[c], row stride[c].

- bbox: a compiled loop with maskApi.c `bbIou` arithmetic, one matrix per cell.
- segm: a compiled `rleIou` on packed RLEs (each mask decoded once per cell), no Python objects
  per detection.
- keypoints: OKS per cell in numpy with COCOeval.computeOks' expression (same rounding).
"""
from __future__ import annotations

import numpy as np

from cocoseg.eval.kernels import bbox_iou_cells, segm_iou_cells
from cocoseg.masks.packed_rle import PackedRles

_EPS = np.spacing(1.0)


def bbox_cell_ious(dt_boxes: np.ndarray, gt_boxes: np.ndarray, gt_crowd: np.ndarray, cell_dt: np.ndarray,
                   cell_gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, base, stride) for box cells; boxes are (N, 4) [x, y, w, h] float64."""
    sizes = (cell_dt[:, 1] - cell_dt[:, 0]) * (cell_gt[:, 1] - cell_gt[:, 0])
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    iou = bbox_iou_cells(np.ascontiguousarray(dt_boxes, dtype=np.float64), np.ascontiguousarray(gt_boxes, dtype=np.float64),
                         np.ascontiguousarray(gt_crowd, dtype=np.bool_), cell_dt, cell_gt, offsets)
    return iou, offsets[:-1], (cell_gt[:, 1] - cell_gt[:, 0]).astype(np.int64)


def segm_cell_ious(dt_masks: PackedRles, gt_masks: PackedRles, gt_crowd: np.ndarray, cell_dt: np.ndarray,
                   cell_gt: np.ndarray, dt_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, base, stride) for mask cells; gt_masks is aligned with the cell rows, dt_masks too or, given
    `dt_rows`, through them (cell row r is dt_masks' row dt_rows[r])."""
    sizes = (cell_dt[:, 1] - cell_dt[:, 0]) * (cell_gt[:, 1] - cell_gt[:, 0])
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    iou = segm_iou_cells(dt_masks, gt_masks, gt_crowd, cell_dt, cell_gt, offsets, dt_rows)
    return iou, offsets[:-1], (cell_gt[:, 1] - cell_gt[:, 0]).astype(np.int64)


def oks_matrix(dt_keypoints: np.ndarray, gt_keypoints: np.ndarray, gt_boxes: np.ndarray, gt_areas: np.ndarray,
               sigmas: np.ndarray) -> np.ndarray:
    """OKS (D, G) as COCOeval.computeOks, including its rule for GT without visible keypoints.

    dt_keypoints (D, 3K), gt_keypoints (G, 3K) [x, y, v, ...]; gt_boxes (G, 4) [x, y, w, h];
    gt_areas (G,); sigmas (G, K) per GT row (NaN padded when categories differ in K).
    """
    n_dt, n_gt = len(dt_keypoints), len(gt_keypoints)
    out = np.zeros((n_dt, n_gt))
    for j in range(n_gt):
        sig = sigmas[j][~np.isnan(sigmas[j])]
        k = len(sig)
        variances = (sig * 2) ** 2
        g = gt_keypoints[j, :3 * k]
        xg, yg, vg = g[0::3], g[1::3], g[2::3]
        visible = np.count_nonzero(vg > 0)
        xd, yd = dt_keypoints[:, 0:3 * k:3], dt_keypoints[:, 1:3 * k:3]
        if visible > 0:
            dx, dy = xd - xg, yd - yg
        else:  # distance to the box doubled around the GT box
            bb = gt_boxes[j]
            x0, x1 = bb[0] - bb[2], bb[0] + bb[2] * 2
            y0, y1 = bb[1] - bb[3], bb[1] + bb[3] * 2
            dx = np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1)
            dy = np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1)
        e = (dx**2 + dy**2) / variances / (gt_areas[j] + _EPS) / 2
        if visible > 0:
            e = np.ascontiguousarray(e[:, vg > 0])
        out[:, j] = np.sum(np.exp(-e), axis=1) / e.shape[1]
    return out


def keypoint_cell_ious(dt_keypoints: np.ndarray, gt_keypoints: np.ndarray, gt_boxes: np.ndarray, gt_areas: np.ndarray,
                       sigmas: np.ndarray, cell_dt: np.ndarray, cell_gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, base, stride) of OKS cells (cells with no detection or no GT hold nothing, as computeOks)."""
    base = np.zeros(len(cell_dt), dtype=np.int64)
    stride = (cell_gt[:, 1] - cell_gt[:, 0]).astype(np.int64)
    parts: list[np.ndarray] = []
    offset = 0
    for c, ((d0, d1), (g0, g1)) in enumerate(zip(cell_dt.tolist(), cell_gt.tolist())):
        base[c] = offset
        if d1 > d0 and g1 > g0:
            block = oks_matrix(dt_keypoints[d0:d1], gt_keypoints[g0:g1], gt_boxes[g0:g1], gt_areas[g0:g1], sigmas[g0:g1])
            parts.append(block.ravel())
            offset += block.size
    return (np.concatenate(parts) if parts else np.zeros(0)), base, stride
