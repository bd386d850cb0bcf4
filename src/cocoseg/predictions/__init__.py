"""Predictions in numpy (no torch): per-image boxes, scores, classes and box-local masks, COCO export.

The engine's predictor fills them; anything that reads predictions (pre-labels, curation, viewing) uses
them without torch.
"""
from cocoseg.predictions.image_predictions import InstanceMasks, Result, coco_dataset, default_category_ids

__all__ = ["InstanceMasks", "Result", "coco_dataset", "default_category_ids"]
