"""IoU (or OKS) of every evaluation cell, stored flat: cell c's (D_c, G_c) matrix at base[c], row stride[c].

- bbox: a compiled loop with maskApi.c `bbIou` arithmetic, one matrix per cell.
- segm: one pycocotools `iou` call per image (all detections x all GT of the image; cells are
  sub-blocks), which costs less than one call per (image, category).
- keypoints: OKS per cell in numpy with COCOeval.computeOks' expression (same rounding).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from pycocotools import mask as _coco_mask

from cocoseg.eval._kernels import bbox_iou_cells

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


def segm_cell_ious(dt_rle: Callable[[int], dict], gt_rle: Callable[[int], dict], gt_crowd: np.ndarray,
                   cell_dt: np.ndarray, cell_gt: np.ndarray, cell_img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iou, base, stride) for mask cells from one pycocotools `iou` call per image.

    `dt_rle(row)` / `gt_rle(row)` give compressed RLE dicts (bytes or str counts) of table rows;
    rows of one image are contiguous, cells of one image are consecutive.
    """
    n_cells = len(cell_img)
    base = np.zeros(n_cells, dtype=np.int64)
    stride = np.zeros(n_cells, dtype=np.int64)
    if n_cells == 0:
        return np.zeros(0), base, stride
    starts = np.flatnonzero(np.r_[True, cell_img[1:] != cell_img[:-1]])
    ends = np.r_[starts[1:], n_cells]
    blocks: list[np.ndarray] = []
    offset = 0
    for s, e in zip(starts.tolist(), ends.tolist()):
        d0, d1 = int(cell_dt[s:e, 0].min()), int(cell_dt[s:e, 1].max())
        g0, g1 = int(cell_gt[s:e, 0].min()), int(cell_gt[s:e, 1].max())
        stride[s:e] = g1 - g0
        base[s:e] = offset + (cell_dt[s:e, 0] - d0) * (g1 - g0) + (cell_gt[s:e, 0] - g0)
        if d1 > d0 and g1 > g0:
            dts = [dt_rle(i) for i in range(d0, d1)]
            gts = [gt_rle(i) for i in range(g0, g1)]
            crowd = np.ascontiguousarray(gt_crowd[g0:g1], dtype=np.uint8)
            block = np.asarray(_coco_mask.iou(dts, gts, crowd), dtype=np.float64).reshape(d1 - d0, g1 - g0)
            blocks.append(block.ravel())
            offset += block.size
    return (np.concatenate(blocks) if blocks else np.zeros(0)), base, stride


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


def rle_for_c(segm: dict) -> dict:
    """A compressed RLE in the form pycocotools' C code reads without conversion (bytes counts)."""
    counts = segm["counts"]
    return segm if isinstance(counts, bytes) else {"size": segm["size"], "counts": counts.encode("ascii")}


def gt_rles(segmentations: Sequence, height: int, width: int) -> list[dict]:
    """COCO.annToRLE for each GT segmentation of one image (polygons merged, uncompressed RLE compressed)."""
    from cocoseg.masks import segmentation_to_rle

    return [rle_for_c(segmentation_to_rle(s, height, width)) for s in segmentations]
