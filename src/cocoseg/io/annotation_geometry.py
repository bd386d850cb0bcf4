"""Annotation geometry the pycocotools way: area and bbox from the segmentation."""
from __future__ import annotations

from cocoseg import masks


def segmentation_area_bbox(segmentation: list | dict, height: int, width: int) -> tuple[float, list[float]]:
    """(area, [x, y, w, h]) of a segmentation's rasterized mask, as pycocotools computes them."""
    rle = masks.segmentation_to_rle(segmentation, height, width)
    return float(masks.area(rle)), [float(v) for v in masks.to_bbox(rle)]


def complete_annotation(ann: dict, height: int, width: int) -> dict:
    """Fill `iscrowd`, and `area`/`bbox` from the segmentation (or area from the bbox) when missing."""
    ann.setdefault("iscrowd", 0)
    segm = ann.get("segmentation")
    has_segm = bool(segm) and (isinstance(segm, dict) or any(len(p) >= 6 for p in segm))
    if has_segm and ("area" not in ann or "bbox" not in ann):
        area, bbox = segmentation_area_bbox(segm, height, width)
        ann.setdefault("area", area)
        ann.setdefault("bbox", bbox)
    elif "bbox" in ann and "area" not in ann:
        ann["area"] = float(ann["bbox"][2] * ann["bbox"][3])
    return ann
