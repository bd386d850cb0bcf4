"""Box ops in torch: format conversion, areas, pairwise IoU, anchors and the distance <-> box codec.

All boxes are absolute pixels; `*_xyxy` is (x1, y1, x2, y2), `*_xywh` here is (centre x, centre y, w, h)
as in the network's output (not COCO's top-left xywh). Results keep the input's device and dtype;
areas and IoU are computed in float32 at least.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch

LevelsOrShapes = Sequence[Union[torch.Tensor, Sequence[int]]]


def cxcywh_to_xyxy(boxes_cxcywh: torch.Tensor) -> torch.Tensor:
    """(..., 4) centre-x, centre-y, width, height -> (..., 4) x1, y1, x2, y2."""
    xy, wh = boxes_cxcywh[..., :2], boxes_cxcywh[..., 2:4]
    return torch.cat((xy - wh / 2, xy + wh / 2), -1)


def xyxy_to_cxcywh(boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """(..., 4) x1, y1, x2, y2 -> (..., 4) centre-x, centre-y, width, height."""
    p1, p2 = boxes_xyxy[..., :2], boxes_xyxy[..., 2:4]
    return torch.cat(((p1 + p2) / 2, p2 - p1), -1)


def box_area(boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """(N, 4) -> (N,) areas (0 for degenerate boxes), in float32 or wider."""
    b = boxes_xyxy.float() if boxes_xyxy.dtype in (torch.float16, torch.bfloat16) else boxes_xyxy
    return (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)


def box_iou(boxes1_xyxy: torch.Tensor, boxes2_xyxy: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """(N, 4), (M, 4) -> (N, M) intersection over union."""
    b1 = boxes1_xyxy.float() if boxes1_xyxy.dtype in (torch.float16, torch.bfloat16) else boxes1_xyxy
    b2 = boxes2_xyxy.to(b1.dtype)
    ax1, ay1, ax2, ay2 = (c[:, None] for c in b1.unbind(1))
    bx1, by1, bx2, by2 = b2.unbind(1)
    inter_w = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp_(min=0)
    inter_h = (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp_(min=0)
    inter = inter_w.mul_(inter_h)
    union = (box_area(b1)[:, None] + box_area(b2)[None, :]).sub_(inter).add_(eps)
    return inter.div_(union)


def clip_boxes(boxes_xyxy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Clip (..., 4) boxes to an image of `height` x `width` pixels (new tensor)."""
    out = boxes_xyxy.clone()
    out[..., 0::2] = out[..., 0::2].clamp(0, width)
    out[..., 1::2] = out[..., 1::2].clamp(0, height)
    return out


def make_anchors(
    levels_or_shapes: LevelsOrShapes,
    strides: Sequence[int] | torch.Tensor,
    offset: float = 0.5,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor centres of every feature level, in feature-grid units, and their strides.

    Args:
        levels_or_shapes: per level a feature map [B, C, H, W] (its H, W are used, and its dtype/device
            unless given) or an (H, W) pair; levels in order P3, P4, P5.
        strides: one stride per level.
        offset: cell-centre offset (0.5: the anchor of cell (i, j) is (j + 0.5, i + 0.5)).

    Returns:
        anchor_points [A, 2] (x, y) and stride_tensor [A, 1], A = sum(H_i * W_i), each level flattened
        row-major. Multiply anchor_points by stride_tensor for input pixels.
    """
    points, stride_rows = [], []
    for level, stride in zip(levels_or_shapes, strides):
        if isinstance(level, torch.Tensor):
            h, w = level.shape[-2:]
            dtype = dtype or level.dtype
            device = device or level.device
        else:
            h, w = int(level[0]), int(level[1])
        kw = {"dtype": dtype or torch.float32, "device": device}
        sx = torch.arange(w, **kw) + offset
        sy = torch.arange(h, **kw) + offset
        gy, gx = torch.meshgrid(sy, sx, indexing="ij")
        points.append(torch.stack((gx, gy), -1).view(-1, 2))
        stride_rows.append(torch.full((h * w, 1), float(stride), **kw))
    return torch.cat(points), torch.cat(stride_rows)


def dist_to_box(distances: torch.Tensor, anchor_points: torch.Tensor, xywh: bool = True, dim: int = -1) -> torch.Tensor:
    """Decode (left, top, right, bottom) distances from anchor points into boxes along `dim`.

    Returns centre-x, centre-y, w, h when `xywh`, else x1, y1, x2, y2, in the units of the inputs.
    """
    lt, rb = distances.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    if xywh:
        return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)
    return torch.cat((x1y1, x2y2), dim)


def box_to_dist(anchor_points: torch.Tensor, boxes_xyxy: torch.Tensor, max_dist: float | None = None) -> torch.Tensor:
    """Inverse of `dist_to_box(xywh=False)`: (left, top, right, bottom) distances, clamped to [0, max_dist].

    With reg_max = 16 bins (0..15) the DFL targets need max_dist just below 15 (e.g. 15 - 0.01).
    """
    x1y1, x2y2 = boxes_xyxy.chunk(2, -1)
    dist = torch.cat((anchor_points - x1y1, x2y2 - anchor_points), -1)
    return dist.clamp(0, max_dist) if max_dist is not None else dist
