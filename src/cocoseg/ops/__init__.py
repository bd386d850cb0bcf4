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

__all__ = [
    "box_area", "box_iou", "box_to_dist", "clip_boxes", "cxcywh_to_xyxy", "dist_to_box", "make_anchors",
    "xyxy_to_cxcywh",
]
