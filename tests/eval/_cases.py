"""Small COCO datasets and results built in code, for parity tests against pycocotools."""
from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

KP_SIGMAS_17 = 17


def make_gt(images: list[tuple[int, int, int]], anns: list[dict], categories: list[int] | None = None,
            keypoints: bool = False) -> dict:
    """COCO dict: images as (id, height, width); annotations get id, iscrowd, area, segmentation filled."""
    cats = sorted({a["category_id"] for a in anns} | set(categories or []))
    out_anns = []
    for i, a in enumerate(anns):
        ann = {"id": i + 1, "iscrowd": 0, **a}
        x, y, w, h = ann["bbox"]
        ann.setdefault("area", float(w * h))
        ann.setdefault("segmentation", [[x, y, x, y + h, x + w, y + h, x + w, y]])
        if keypoints:
            ann.setdefault("keypoints", [0] * 51)
            ann.setdefault("num_keypoints", int(sum(1 for v in ann["keypoints"][2::3] if v > 0)))
        out_anns.append(ann)
    categories_out: list[dict[str, Any]] = [{"id": c, "name": f"c{c}"} for c in cats]
    return {"images": [{"id": i, "height": h, "width": w, "file_name": f"{i}.jpg"} for i, h, w in images],
            "annotations": out_anns, "categories": categories_out}


def box_rle(box: list[float], height: int, width: int) -> dict:
    """Compressed RLE (str counts) of a box polygon."""
    x, y, w, h = box
    rle = coco_mask.frPyObjects([[x, y, x, y + h, x + w, y + h, x + w, y]], height, width)[0]
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def bitmap_rle(bitmap: np.ndarray) -> dict:
    """Compressed RLE (str counts) of a bitmap."""
    rle = coco_mask.encode(np.asfortranarray(bitmap.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def uncompressed(rle: dict) -> dict:
    """The same mask with list counts (as COCO stores crowd regions)."""
    from cocoseg.masks import decompress

    return decompress(rle)
