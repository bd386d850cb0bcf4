"""COCO annotations for a rendered image: each instance's visible part, measured by pycocotools."""
from __future__ import annotations

from typing import Any

import numpy as np

from cocoseg.synth.raster import area_and_bbox, trace_polygons, uncompressed_rle
from cocoseg.synth.scene import RenderedImage


def _segmentation(rendered: RenderedImage, index: int, visible: np.ndarray) -> Any:
    inst = rendered.instances[index]
    if inst.iscrowd:
        # COCO stores crowd regions as uncompressed RLE over the whole image
        full = np.zeros(rendered.owner.shape, dtype=bool)
        full[inst.y0 : inst.y0 + visible.shape[0], inst.x0 : inst.x0 + visible.shape[1]] = visible
        return uncompressed_rle(full)
    if inst.polygons is not None and int(visible.sum()) == inst.full_area:
        return [[float(v) for v in poly.ravel()] for poly in inst.polygons]
    return trace_polygons(visible, inst.x0, inst.y0)


def _keypoints(rendered: RenderedImage, index: int) -> tuple[list[float], int]:
    points = rendered.instances[index].keypoints
    flags = rendered.keypoint_visibility(index)
    flat: list[float] = []
    for (x, y), v in zip(points, flags):
        # COCO writes a keypoint outside the image (v=0) as 0, 0, 0
        flat.extend([round(float(x), 2), round(float(y), 2), int(v)] if v else [0, 0, 0])
    return flat, int((flags > 0).sum())


def annotate(rendered: RenderedImage, image_id: int, first_id: int) -> list[dict[str, Any]]:
    """The image's COCO annotations, ids from `first_id`, in drawing order; fully hidden ones dropped."""
    height, width = rendered.owner.shape
    out: list[dict[str, Any]] = []
    for index, inst in enumerate(rendered.instances):
        crop = rendered.owner[inst.y0 : inst.y0 + inst.patch.shape[0], inst.x0 : inst.x0 + inst.patch.shape[1]]
        visible = crop == index
        if not visible.any():
            continue
        segmentation = _segmentation(rendered, index, visible)
        area, bbox = area_and_bbox(segmentation, height, width)
        ann: dict[str, Any] = {
            "id": first_id + len(out), "image_id": image_id, "category_id": inst.category.id,
            "segmentation": segmentation, "area": area, "bbox": bbox, "iscrowd": int(inst.iscrowd),
        }
        if inst.keypoints is not None:
            ann["keypoints"], ann["num_keypoints"] = _keypoints(rendered, index)
        out.append(ann)
    return out
