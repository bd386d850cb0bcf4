"""Fixtures of the format-bridge tests: the real COCO subsets in ../shared/data (skipped when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def coco128(shared: Path) -> Path:
    """../shared/data/coco128-seg: COCO JSON and Ultralytics YOLO-seg labels of the same 128 images."""
    return shared / "data" / "coco128-seg"


@pytest.fixture
def coco_mini(shared: Path) -> Path:
    """../shared/data/coco-mini-val2017: 79 val2017 images with their instances JSON."""
    return shared / "data" / "coco-mini-val2017"


@pytest.fixture
def coco8(shared: Path) -> Path:
    """../shared/data/coco8: 8 images with YOLO box labels and coco8.yaml."""
    return shared / "data" / "coco8"


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
