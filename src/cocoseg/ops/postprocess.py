"""Batch post-processing of the network output: NMS, then masks; a pure function for predict and val."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cocoseg.ops.masks import proto_masks
from cocoseg.ops.nms import non_max_suppression
from cocoseg.thresholds import PREDICT_NMS


@dataclass
class Detections:
    """One image's kept detections, by decreasing score, in input (letterboxed) pixels.

    boxes_xyxy [N, 4] float32; scores [N]; classes [N] int64 (contiguous labels);
    coefficients [N, nm] mask coefficients; masks [N, H/4, W/4] bool at prototype resolution,
    cropped to the boxes (None when not requested).
    """

    boxes_xyxy: torch.Tensor
    scores: torch.Tensor
    classes: torch.Tensor
    coefficients: torch.Tensor
    masks: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def postprocess(
    pred: torch.Tensor,
    protos: torch.Tensor,
    conf: float = PREDICT_NMS.conf,
    iou: float = PREDICT_NMS.iou,
    max_det: int = PREDICT_NMS.max_det,
    multi_label: bool = PREDICT_NMS.multi_label,
    *,
    classes: Sequence[int] | None = None,
    agnostic: bool = False,
    max_nms: int = 30000,
    masks: bool = True,
) -> list[Detections]:
    """Decoded predictions [B, 4 + nc + nm, A] and protos [B, nm, H/4, W/4] -> one Detections per image.

    Class-aware greedy NMS (`agnostic` for class-agnostic), optional multi-label candidates, at most
    `max_det` per image. With `masks`, each detection's mask at prototype resolution (cheap; for
    original-resolution masks use `cocoseg.ops.paste_masks` with the image's letterbox map).
    Defaults: `PREDICT_NMS`; validation passes `VAL_NMS` (conf 0.001, multi-label).
    """
    nm = protos.shape[1]
    input_hw = (protos.shape[2] * 4, protos.shape[3] * 4)
    dets = non_max_suppression(
        pred, conf, iou, nm, max_det=max_det, multi_label=multi_label, classes=classes, agnostic=agnostic,
        max_nms=max_nms,
    )
    out = []
    for det, proto in zip(dets, protos):
        boxes, coeffs = det[:, :4], det[:, 6:]
        out.append(Detections(
            boxes_xyxy=boxes, scores=det[:, 4], classes=det[:, 5].long(), coefficients=coeffs,
            masks=proto_masks(proto, coeffs, boxes, input_hw) if masks else None,
        ))
    return out
