"""Task-aligned label assignment (TOOD) and the box IoU/CIoU it ranks anchors with.

Facts from `docs/YOLOV8_SEG.md` §4.4: candidates are anchor centres inside a GT box; the alignment
metric is score**alpha * CIoU**beta (CIoU clamped at 0); each GT keeps its top-k candidates; an anchor
claimed by several GTs goes to the one it overlaps most; the class target of a positive anchor is its
alignment metric normalised per GT (metric / max metric of that GT * max IoU of that GT).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def box_ciou(box1: Tensor, box2: Tensor, eps: float = 1e-7) -> Tensor:
    """Complete IoU of broadcastable xyxy boxes (..., 4) -> (...): IoU - centre term - aspect term."""
    x1, y1, x2, y2 = box1.unbind(-1)
    u1, v1, u2, v2 = box2.unbind(-1)
    w1, h1 = x2 - x1, (y2 - y1).clamp_min(eps)
    w2, h2 = u2 - u1, (v2 - v1).clamp_min(eps)
    inter = (torch.minimum(x2, u2) - torch.maximum(x1, u1)).clamp_min(0) * (
        torch.minimum(y2, v2) - torch.maximum(y1, v1)).clamp_min(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.maximum(x2, u2) - torch.minimum(x1, u1)
    ch = torch.maximum(y2, v2) - torch.minimum(y1, v1)
    diag2 = cw.pow(2) + ch.pow(2) + eps
    centre2 = ((u1 + u2 - x1 - x2).pow(2) + (v1 + v2 - y1 - y2).pow(2)) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (centre2 / diag2 + v * alpha)


def anchors_in_boxes(points: Tensor, boxes_xyxy: Tensor, eps: float = 1e-9) -> Tensor:
    """(A, 2) points, (B, M, 4) boxes -> (B, M, A) bool: point strictly inside the box."""
    lt = points[None, None] - boxes_xyxy[..., None, :2]
    rb = boxes_xyxy[..., None, 2:] - points[None, None]
    return torch.cat([lt, rb], dim=-1).amin(dim=-1) > eps


@dataclass
class Assignment:
    """Per-anchor training targets: labels (B, A), boxes (B, A, 4) xyxy, soft scores (B, A, C),
    foreground mask (B, A) and the index of the assigned GT in its image's padded list (B, A)."""

    labels: Tensor
    boxes_xyxy: Tensor
    scores: Tensor
    fg_mask: Tensor
    gt_index: Tensor


class TaskAlignedAssigner:
    """Assign GT boxes to anchors by score**alpha * CIoU**beta, top-k per GT."""

    def __init__(self, num_classes: int, topk: int = 10, alpha: float = 0.5, beta: float = 6.0, eps: float = 1e-9):
        self.num_classes, self.topk, self.alpha, self.beta, self.eps = num_classes, topk, alpha, beta, eps

    @torch.no_grad()
    def __call__(self, pred_scores: Tensor, pred_boxes_xyxy: Tensor, anchor_points: Tensor,
                 gt_labels: Tensor, gt_boxes_xyxy: Tensor, gt_valid: Tensor) -> Assignment:
        """pred_scores (B, A, C) in [0, 1]; pred boxes (B, A, 4); anchors (A, 2); gt_labels (B, M) long;
        gt boxes (B, M, 4); gt_valid (B, M) bool (padding False). All coordinates in one unit (pixels)."""
        b, a, c = pred_scores.shape
        m = gt_boxes_xyxy.shape[1]
        if m == 0:
            return Assignment(torch.full((b, a), self.num_classes, device=pred_scores.device, dtype=torch.long),
                              torch.zeros_like(pred_boxes_xyxy), torch.zeros_like(pred_scores),
                              torch.zeros((b, a), dtype=torch.bool, device=pred_scores.device),
                              torch.zeros((b, a), dtype=torch.long, device=pred_scores.device))
        candidates = anchors_in_boxes(anchor_points, gt_boxes_xyxy) & gt_valid[..., None]
        metric, overlaps = self._alignment(pred_scores, pred_boxes_xyxy, gt_labels, gt_boxes_xyxy, candidates)
        positives = self._topk_mask(metric, candidates) & candidates
        gt_index, fg_mask, positives = self._resolve_conflicts(positives, overlaps)
        labels, boxes, scores = self._targets(gt_labels, gt_boxes_xyxy, gt_index, fg_mask)
        metric = metric * positives
        best_metric = metric.amax(dim=-1, keepdim=True)
        best_overlap = (overlaps * positives).amax(dim=-1, keepdim=True)
        norm = (metric * best_overlap / (best_metric + self.eps)).amax(dim=1)  # (B, A)
        return Assignment(labels, boxes, scores * norm[..., None], fg_mask, gt_index)

    def _alignment(self, pred_scores: Tensor, pred_boxes: Tensor, gt_labels: Tensor, gt_boxes: Tensor,
                   candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Alignment metric and CIoU (B, M, A), zero outside the candidates."""
        b, m, a = candidates.shape
        overlaps = torch.zeros((b, m, a), dtype=pred_boxes.dtype, device=pred_boxes.device)
        scores = torch.zeros_like(overlaps)
        bi, mi, ai = candidates.nonzero(as_tuple=True)
        scores[bi, mi, ai] = pred_scores[bi, ai, gt_labels[bi, mi]]
        overlaps[bi, mi, ai] = box_ciou(gt_boxes[bi, mi], pred_boxes[bi, ai]).clamp_min(0).to(overlaps.dtype)
        return scores.pow(self.alpha) * overlaps.pow(self.beta), overlaps

    def _topk_mask(self, metric: Tensor, candidates: Tensor) -> Tensor:
        """(B, M, A) bool: the top-k anchors of each GT by metric (ties broken by index)."""
        k = min(self.topk, metric.shape[-1])
        idx = metric.masked_fill(~candidates, -1.0).topk(k, dim=-1).indices
        mask = torch.zeros_like(candidates)
        mask.scatter_(-1, idx, True)
        return mask

    def _resolve_conflicts(self, positives: Tensor, overlaps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """An anchor claimed by several GTs keeps the one with the highest IoU."""
        multi = positives.sum(dim=1, keepdim=True) > 1  # (B, 1, A)
        best = torch.zeros_like(positives).scatter_(1, overlaps.argmax(dim=1, keepdim=True), True)
        positives = torch.where(multi, best, positives)
        return positives.to(torch.uint8).argmax(dim=1), positives.any(dim=1), positives

    def _targets(self, gt_labels: Tensor, gt_boxes: Tensor, gt_index: Tensor, fg_mask: Tensor
                 ) -> tuple[Tensor, Tensor, Tensor]:
        """Labels, boxes and one-hot scores of each anchor's assigned GT (background: zeros)."""
        labels = gt_labels.gather(1, gt_index).clamp_min(0)
        boxes = gt_boxes.gather(1, gt_index[..., None].expand(-1, -1, 4))
        scores = torch.nn.functional.one_hot(labels, self.num_classes).to(gt_boxes.dtype)
        scores = scores * fg_mask[..., None]
        labels = torch.where(fg_mask, labels, torch.full_like(labels, self.num_classes))
        return labels, boxes, scores
