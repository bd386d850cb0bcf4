"""The one home of the post-processing defaults (score threshold, NMS IoU, detections kept per image).

Plain values, no torch: the CLI shows them in `--help` and every caller (predict, val, training
validation, `ops.postprocess`) takes its defaults from here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NmsSettings:
    """Candidate score threshold, NMS IoU, detections kept per image, and whether a box may take several classes."""

    conf: float = 0.25
    iou: float = 0.7
    max_det: int = 300
    multi_label: bool = False


PREDICT_NMS = NmsSettings()  # the reference's predict settings
VAL_NMS = NmsSettings(conf=0.001, multi_label=True)  # the reference's validation settings (mAP needs low scores)
