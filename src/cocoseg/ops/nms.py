"""Non-maximum suppression in plain torch: exact greedy NMS, class-aware, blockwise and vectorized."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from cocoseg.ops.boxes import box_iou, cxcywh_to_xyxy
from cocoseg.thresholds import PREDICT_NMS

BLOCK = 512


def _greedy_in_block(suppress: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """Greedy keep flags within one score-sorted block: keep_j = alive_j and no kept i < j with suppress[i, j].

    `suppress` is strictly upper-triangular. The sequential scan runs on a (block x block) bool matrix
    on the CPU: one vector operation per kept box, a flag test per suppressed one.
    """
    matrix = suppress.cpu().numpy()
    keep = alive.cpu().numpy().copy()
    for i in range(keep.shape[0]):
        if keep[i]:
            keep &= ~matrix[i]
    return torch.from_numpy(keep).to(alive.device)


def nms(
    boxes_xyxy: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    classes: torch.Tensor | None = None,
    max_keep: int | None = None,
) -> torch.Tensor:
    """Indices of the boxes greedy NMS keeps, by decreasing score (same result as torchvision's nms).

    A box is suppressed by a higher-scoring kept box whose IoU with it is > `iou_threshold`; with
    `classes` only by boxes of the same class. Stops once `max_keep` boxes are kept.
    """
    n = boxes_xyxy.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes_xyxy.device)
    order = scores.argsort(descending=True, stable=True)
    boxes = boxes_xyxy[order].float()
    cls = classes[order] if classes is not None else None
    kept: list[torch.Tensor] = []
    count = 0
    for start in range(0, n, BLOCK):
        block = boxes[start : start + BLOCK]
        alive = torch.ones(block.shape[0], dtype=torch.bool, device=boxes.device)
        if count:
            prev = torch.cat(kept)
            hits = box_iou(boxes[prev], block) > iou_threshold
            if cls is not None:
                hits &= cls[prev][:, None] == cls[start : start + BLOCK][None, :]
            alive &= ~hits.any(0)
        suppress = (box_iou(block, block) > iou_threshold).triu_(1)
        if cls is not None:
            block_cls = cls[start : start + BLOCK]
            suppress &= block_cls[:, None] == block_cls[None, :]
        idx = start + torch.nonzero(_greedy_in_block(suppress, alive)).flatten()
        kept.append(idx)
        count += idx.numel()
        if max_keep is not None and count >= max_keep:
            break
    keep = torch.cat(kept)
    return order[keep[:max_keep] if max_keep is not None else keep]


def non_max_suppression(
    pred: torch.Tensor,
    conf: float = PREDICT_NMS.conf,
    iou: float = PREDICT_NMS.iou,
    num_masks: int = 32,
    *,
    max_det: int = PREDICT_NMS.max_det,
    multi_label: bool = PREDICT_NMS.multi_label,
    classes: Sequence[int] | None = None,
    agnostic: bool = False,
    max_nms: int = 30000,
) -> list[torch.Tensor]:
    """Per image, the kept detections of a decoded prediction [B, 4 + nc + num_masks, A].

    Returns one [N, 6 + num_masks] tensor per image: x1, y1, x2, y2 (input pixels), score, class,
    then the mask coefficients, sorted by decreasing score. Candidates need score > `conf`; with
    `multi_label` every class above `conf` is a candidate (val), otherwise only the best class.
    At most `max_nms` candidates (the highest-scoring) enter NMS, at most `max_det` are kept.
    """
    nc = pred.shape[1] - 4 - num_masks
    out = []
    for p in pred.float().transpose(1, 2):  # [A, C] per image
        p = p[p[:, 4 : 4 + nc].amax(1) > conf]
        scores = p[:, 4 : 4 + nc]
        if multi_label:
            rows, cls = (scores > conf).nonzero(as_tuple=True)
            score = scores[rows, cls]
        else:
            score, cls = scores.max(1)
            rows = torch.arange(p.shape[0], device=p.device)
        if classes is not None:
            wanted = torch.isin(cls, torch.as_tensor(list(classes), device=cls.device))
            rows, cls, score = rows[wanted], cls[wanted], score[wanted]
        if score.numel() > max_nms:
            top = score.topk(max_nms).indices
            rows, cls, score = rows[top], cls[top], score[top]
        boxes = cxcywh_to_xyxy(p[rows, :4])
        keep = nms(boxes, score, iou, None if agnostic else cls, max_keep=max_det)
        det = torch.cat((boxes, score[:, None], cls[:, None].to(boxes.dtype), p[rows, 4 + nc :]), 1)
        out.append(det[keep])
    return out
