"""Fixtures of the format-bridge tests: mask IoU and round-trip figures (the real datasets are tests/conftest.py's)."""
from __future__ import annotations

import pytest


def _mask_iou(seg_a, seg_b, h: int, w: int) -> float:
    from cocoseg import masks

    a, b = masks.segmentation_to_rle(seg_a, h, w), masks.segmentation_to_rle(seg_b, h, w)
    return float(masks.iou([a], [b], [0])[0, 0])


def _round_trip_figures(original: dict, back: dict) -> dict:
    """{group: (count, mean IoU, min IoU)} over annotations matched by id: all non-crowd, multi-part, crowd."""
    import numpy as np

    images = {im["id"]: im for im in original["images"]}
    by_id = {a["id"]: a for a in back["annotations"]}
    groups: dict[str, list[float]] = {"all": [], "multi": [], "crowd": []}
    for ann in original["annotations"]:
        im = images[ann["image_id"]]
        iou = _mask_iou(ann["segmentation"], by_id[ann["id"]]["segmentation"], im["height"], im["width"])
        if ann["iscrowd"]:
            groups["crowd"].append(iou)
            continue
        groups["all"].append(iou)
        if len(ann["segmentation"]) > 1:
            groups["multi"].append(iou)
    return {k: (len(v), float(np.mean(v)) if v else 1.0, float(np.min(v)) if v else 1.0) for k, v in groups.items()}


@pytest.fixture
def mask_iou():
    """mask_iou(seg_a, seg_b, h, w) -> pycocotools IoU of two segmentations."""
    return _mask_iou


@pytest.fixture
def round_trip_figures():
    """round_trip_figures(original_dict, back_dict) -> {group: (count, mean, min)}."""
    return _round_trip_figures
