"""The YOLOv8-seg training loss: BCE classification, CIoU + DFL boxes, prototype masks.

Facts from `docs/YOLOV8_SEG.md` §4.4: targets come from the task-aligned assigner (top-k 10, alpha 0.5,
beta 6); classification is BCE summed over anchors and classes over the target-score sum; boxes are
(1 - CIoU) and DFL weighted by target score over the same sum; masks are BCE of coefficients x prototypes
against the GT mask, cropped to the GT box, averaged, divided by the normalised box area and averaged over
positive anchors. Gains: box 7.5, cls 0.5, dfl 1.5, and the mask term is multiplied by the box gain.
The total is scaled by the batch size (the reference's convention; the LR recipe assumes it).

Crowd annotations are ignore regions: anchors centred inside a crowd box that are not assigned to an
object contribute no classification loss (they are neither taught "object" nor "background").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from cocoseg.models.assigner import Assignment, TaskAlignedAssigner, anchors_in_boxes, box_ciou

LossOutput = tuple[Tensor, Tensor]  # (total scaled by batch size, detached [box, seg, cls, dfl])
LOSS_NAMES = ("box_loss", "seg_loss", "cls_loss", "dfl_loss")


def grid_anchors(shapes: Sequence[tuple[int, int]], strides: Sequence[float], device: torch.device,
                 dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """Anchor centres (A, 2) in grid units (cell + 0.5) and their strides (A, 1), levels concatenated."""
    points, stride_of = [], []
    for (h, w), s in zip(shapes, strides):
        ys = torch.arange(h, device=device, dtype=dtype) + 0.5
        xs = torch.arange(w, device=device, dtype=dtype) + 0.5
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack([xx, yy], dim=-1).view(-1, 2))
        stride_of.append(torch.full((h * w, 1), float(s), device=device, dtype=dtype))
    return torch.cat(points), torch.cat(stride_of)


def dist_to_boxes(distances_ltrb: Tensor, points: Tensor) -> Tensor:
    """(..., A, 4) left/top/right/bottom distances around (A, 2) points -> xyxy boxes."""
    lt, rb = distances_ltrb.chunk(2, dim=-1)
    return torch.cat([points - lt, points + rb], dim=-1)


def dfl_loss(pred_dist: Tensor, target_ltrb: Tensor) -> Tensor:
    """Distribution focal loss (P, 4, R) logits vs (P, 4) distances in bins -> (P,) mean over sides.

    Cross-entropy to the two integer bins around the target, weighted by linear proximity.
    """
    left = target_ltrb.long()
    w_left = (left + 1) - target_ltrb
    flat = pred_dist.reshape(-1, pred_dist.shape[-1])
    ce_left = F.cross_entropy(flat, left.reshape(-1), reduction="none").view_as(left)
    ce_right = F.cross_entropy(flat, (left + 1).reshape(-1), reduction="none").view_as(left)
    return (ce_left * w_left + ce_right * (1 - w_left)).mean(dim=-1)


def mask_loss_one_image(coeffs: Tensor, protos: Tensor, gt_masks: Tensor, boxes_proto_xyxy: Tensor,
                        area_norm: Tensor) -> Tensor:
    """Sum over positives of box-cropped mean BCE / normalised box area; coeffs (P, K), protos (K, h, w)."""
    logits = torch.einsum("pk,khw->phw", coeffs, protos)
    bce = F.binary_cross_entropy_with_logits(logits, gt_masks, reduction="none")
    h, w = protos.shape[-2:]
    xs = torch.arange(w, device=protos.device, dtype=boxes_proto_xyxy.dtype)[None, None, :]
    ys = torch.arange(h, device=protos.device, dtype=boxes_proto_xyxy.dtype)[None, :, None]
    x1, y1, x2, y2 = (boxes_proto_xyxy[:, i, None, None] for i in range(4))
    inside = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
    return ((bce * inside).mean(dim=(1, 2)) / area_norm).sum()


class SegmentationLoss:
    """Callable `(model_outputs, batch) -> (total, items)` for a train-mode YOLOv8-seg model."""

    def __init__(self, num_classes: int, strides: Sequence[float], reg_max: int = 16, box: float = 7.5,
                 cls: float = 0.5, dfl: float = 1.5, overlap_mask: bool = True, topk: int = 10,
                 alpha: float = 0.5, beta: float = 6.0):
        self.nc, self.strides, self.reg_max = num_classes, [float(s) for s in strides], reg_max
        self.gains = (box, box, cls, dfl)  # the mask term uses the box gain
        self.overlap_mask = overlap_mask
        self.assigner = TaskAlignedAssigner(num_classes, topk=topk, alpha=alpha, beta=beta)

    @classmethod
    def for_model(klass, model: torch.nn.Module, **kwargs: float | bool) -> SegmentationLoss:  # noqa: N804
        """A loss matching a model's classes, strides and reg_max (kwargs: gains, overlap_mask, ...)."""
        strides = [float(s) for s in torch.as_tensor(model.stride).flatten().tolist()]
        return klass(int(model.nc), strides, int(getattr(model, "reg_max", 16)), **kwargs)  # type: ignore[arg-type]

    def __call__(self, outputs: tuple[list[Tensor], Tensor, Tensor], batch: Mapping[str, Tensor]) -> LossOutput:
        levels, coeffs, protos = outputs
        bsz, device = levels[0].shape[0], levels[0].device
        no = self.reg_max * 4 + self.nc
        flat = torch.cat([lv.reshape(bsz, no, -1) for lv in levels], dim=2).permute(0, 2, 1)
        pred_dist, pred_logits = flat.split((self.reg_max * 4, self.nc), dim=-1)
        pred_logits = pred_logits.float()
        points, stride_of = grid_anchors([tuple(lv.shape[2:]) for lv in levels], self.strides, device)
        proj = torch.arange(self.reg_max, device=device, dtype=torch.float32)
        dist = pred_dist.float().view(bsz, -1, 4, self.reg_max)
        pred_boxes = dist_to_boxes(dist.softmax(-1) @ proj, points)  # grid units
        gt_labels, gt_boxes, gt_valid = pad_targets(batch, bsz, device)
        a = self.assigner(pred_logits.detach().sigmoid(), (pred_boxes.detach() * stride_of).to(gt_boxes.dtype),
                          points * stride_of, gt_labels, gt_boxes, gt_valid)
        score_sum = a.scores.sum().clamp_min(1.0)
        items = torch.zeros(4, device=device)
        bce = F.binary_cross_entropy_with_logits(pred_logits, a.scores.to(pred_logits.dtype), reduction="none")
        weight = self._ignore_weight(batch, a.fg_mask, points * stride_of)
        items[2] = (bce * weight[..., None]).sum() / score_sum
        if a.fg_mask.any():
            fg = a.fg_mask
            target_boxes = a.boxes_xyxy / stride_of
            weight_fg = a.scores.sum(-1)[fg]
            ciou = box_ciou(pred_boxes[fg], target_boxes[fg])
            items[0] = ((1.0 - ciou) * weight_fg).sum() / score_sum
            target_ltrb = torch.cat([points - target_boxes[..., :2], target_boxes[..., 2:] - points], -1)
            target_ltrb = target_ltrb.clamp(0, self.reg_max - 1 - 0.01)
            items[3] = (dfl_loss(dist[fg], target_ltrb[fg]) * weight_fg).sum() / score_sum
            items[1] = self._mask_loss(batch, a, coeffs, protos)
        else:  # keep every output in the graph so DDP sees gradients for all parameters
            items[1] = (protos * 0).sum() + (coeffs * 0).sum()
        items = items * torch.tensor(self.gains, device=device)
        return items.sum() * bsz, items.detach()

    def _ignore_weight(self, batch: Mapping[str, Tensor], fg_mask: Tensor, points_px: Tensor) -> Tensor:
        """(B, A) weights: 0 for background anchors centred inside a crowd region, else 1."""
        weight = torch.ones(fg_mask.shape, device=fg_mask.device)
        crowd = batch.get("crowd_boxes_xyxy")
        if crowd is None or len(crowd) == 0:
            return weight
        idx = batch["crowd_batch_idx"].long().to(fg_mask.device)
        inside = anchors_in_boxes(points_px, crowd.to(fg_mask.device, torch.float32)[None])[0]  # (K, A)
        for k in range(len(idx)):
            weight[idx[k]] = torch.where(inside[k] & ~fg_mask[idx[k]], 0.0, weight[idx[k]])
        return weight

    def _mask_loss(self, batch: Mapping[str, Tensor], a: Assignment, coeffs: Tensor, protos: Tensor) -> Tensor:
        bsz, _, ph, pw = protos.shape
        img_h, img_w = batch["img"].shape[2:]
        masks = batch["masks"].to(protos.device)
        if tuple(masks.shape[-2:]) != (ph, pw):
            masks = F.interpolate(masks[:, None].float(), (ph, pw), mode="nearest")[:, 0]
        counts = torch.bincount(batch["batch_idx"].long(), minlength=bsz).tolist()
        starts = [sum(counts[:i]) for i in range(bsz)]
        scale = torch.tensor([pw / img_w, ph / img_h, pw / img_w, ph / img_h], device=protos.device)
        total = protos.sum() * 0
        for i in range(bsz):
            fg = a.fg_mask[i]
            if not fg.any():
                continue
            gt_idx = a.gt_index[i][fg]
            if self.overlap_mask:
                gt = (masks[i][None] == (gt_idx + 1)[:, None, None]).float()
            else:
                gt = masks[starts[i] + gt_idx].float()
            boxes = a.boxes_xyxy[i][fg].float()
            area = ((boxes[:, 2] - boxes[:, 0]) / img_w * (boxes[:, 3] - boxes[:, 1]) / img_h).clamp_min(1e-9)
            total = total + mask_loss_one_image(coeffs[i].float().t()[fg], protos[i].float(), gt,
                                                boxes * scale, area)
        return total / a.fg_mask.sum()


def pad_targets(batch: Mapping[str, Tensor], bsz: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Per-image GT lists padded to the largest count: labels (B, M), boxes (B, M, 4), valid (B, M).

    Instances keep their order within each image, so a padded index is the image-local instance index
    used by the overlap mask maps (value index + 1).
    """
    idx = batch["batch_idx"].long().to(device)
    counts = torch.bincount(idx, minlength=bsz)
    m = int(counts.max()) if len(idx) else 0
    labels = torch.zeros((bsz, m), dtype=torch.long, device=device)
    boxes = torch.zeros((bsz, m, 4), dtype=torch.float32, device=device)
    valid = torch.zeros((bsz, m), dtype=torch.bool, device=device)
    if m:
        starts = torch.cumsum(counts, 0) - counts
        local = torch.arange(len(idx), device=device) - starts[idx]
        labels[idx, local] = batch["labels"].long().to(device)
        boxes[idx, local] = batch["boxes_xyxy"].float().to(device)
        valid[idx, local] = True
    return labels, boxes, valid
