"""Boxes in numpy: format conversion and IoU with pycocotools' crowd rule."""
from __future__ import annotations

import numpy as np


def xywh_to_xyxy(boxes_xywh: np.ndarray) -> np.ndarray:
    """(N, 4) [x, y, w, h] -> (N, 4) [x1, y1, x2, y2]."""
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def xyxy_to_xywh(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) [x1, y1, x2, y2] -> (N, 4) [x, y, w, h]."""
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def box_iou(dt_xywh: np.ndarray, gt_xywh: np.ndarray, iscrowd: np.ndarray | None = None) -> np.ndarray:
    """IoU matrix (D, G) of [x, y, w, h] boxes, bit-identical to pycocotools' `bbIou`.

    For a crowd GT the union is the detection's own area (maskApi.c), so a detection inside
    a crowd region scores 1 however large the region is.
    """
    dt = np.asarray(dt_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    crowd = np.zeros(len(gt), bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool)
    dt_area = dt[:, 2] * dt[:, 3]
    gt_area = gt[:, 2] * gt[:, 3]
    w = np.minimum((dt[:, 0] + dt[:, 2])[:, None], (gt[:, 0] + gt[:, 2])[None]) - np.maximum(dt[:, None, 0], gt[None, :, 0])
    h = np.minimum((dt[:, 1] + dt[:, 3])[:, None], (gt[:, 1] + gt[:, 3])[None]) - np.maximum(dt[:, None, 1], gt[None, :, 1])
    inter = w * h
    union = np.where(crowd[None], dt_area[:, None], dt_area[:, None] + gt_area[None] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / union
    return np.where((w > 0) & (h > 0), out, 0.0)


def polygons_bbox(polygons: list[list[float]]) -> np.ndarray:
    """Extent [x, y, w, h] of polygon vertices (not the rasterized mask: see rle.to_bbox)."""
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons]) if polygons else np.zeros((0, 2))
    if len(pts) == 0:
        return np.zeros(4)
    lo, hi = pts.min(0), pts.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
