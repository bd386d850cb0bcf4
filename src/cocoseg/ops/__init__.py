"""Torch ops: boxes, anchors, NMS, mask assembly, letterbox maps, post-processing."""
from cocoseg.ops.boxes import (
    box_area,
    box_iou,
    box_to_dist,
    clip_boxes,
    cxcywh_to_xyxy,
    dist_to_box,
    make_anchors,
    xyxy_to_cxcywh,
)
from cocoseg.ops.letterbox import LetterboxMap, letterbox, letterbox_shape
from cocoseg.ops.masks import MaskCrop, crop_masks, mask_logits, paste_masks, proto_masks
from cocoseg.ops.nms import nms, non_max_suppression
from cocoseg.ops.postprocess import Detections, postprocess

__all__ = [
    "Detections", "LetterboxMap", "MaskCrop", "box_area", "box_iou", "box_to_dist", "clip_boxes", "crop_masks",
    "cxcywh_to_xyxy", "dist_to_box", "letterbox", "letterbox_shape", "make_anchors", "mask_logits", "nms",
    "non_max_suppression", "paste_masks", "postprocess", "proto_masks", "xyxy_to_cxcywh",
]
