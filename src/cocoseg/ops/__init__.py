"""Ops: boxes, anchors, NMS, mask assembly, post-processing (torch); letterbox (no torch).

`cocoseg.ops.letterbox` (numpy + cv2) imports without torch: the numpy data transforms use it where
torch is not installed. The post-processing defaults live in `cocoseg.thresholds` (re-exported here),
outside this package, so the CLI's parsers read them without importing torch (0.9 s).
"""
from cocoseg.ops.letterbox import PAD_VALUE, LetterboxMap, letterbox, letterbox_shape
from cocoseg.thresholds import PREDICT_NMS, VAL_NMS, NmsSettings

try:
    import torch  # noqa: F401
except ImportError:  # `pip install cocoseg` without the train extra: the torch-free part only
    pass
else:
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
    from cocoseg.ops.masks import MaskCrop, crop_masks, mask_logits, paste_masks, proto_masks
    from cocoseg.ops.nms import nms, non_max_suppression
    from cocoseg.ops.postprocess import Detections, postprocess

__all__ = [
    "PAD_VALUE", "PREDICT_NMS", "VAL_NMS", "Detections", "LetterboxMap", "MaskCrop", "NmsSettings", "box_area",
    "box_iou", "box_to_dist", "clip_boxes", "crop_masks", "cxcywh_to_xyxy", "dist_to_box", "letterbox",
    "letterbox_shape", "make_anchors", "mask_logits", "nms", "non_max_suppression", "paste_masks", "postprocess",
    "proto_masks", "xyxy_to_cxcywh",
]
