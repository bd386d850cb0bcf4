"""Masks and boxes in numpy, identical to pycocotools (its C codec underneath)."""
from cocoseg.masks.boxes import box_iou, polygons_bbox, xywh_to_xyxy, xyxy_to_xywh
from cocoseg.masks.rle import (
    area,
    compress,
    crop_to_rle,
    decode,
    decompress,
    encode,
    iou,
    is_rle,
    merge,
    polygons_to_rle,
    rasterize_polygons,
    segmentation_to_rle,
    to_bbox,
)

__all__ = [
    "area", "bitmap_to_polygons", "box_iou", "compress", "crop_to_rle", "decode", "decompress", "encode", "iou", "is_rle", "merge",
    "polygons_bbox", "polygons_to_rle", "rasterize_polygons", "segmentation_to_rle", "to_bbox", "xywh_to_xyxy", "xyxy_to_xywh",
]


def __getattr__(name: str):  # noqa: ANN202
    # Lazy: contours needs OpenCV, whose import costs ~10 MB and 0.1 s that loading a dataset should not pay.
    if name in ("bitmap_to_polygons", "bridge_polygons"):
        from cocoseg.masks import contours

        return getattr(contours, name)
    raise AttributeError(f"module 'cocoseg.masks' has no attribute {name!r}")
