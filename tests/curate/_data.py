"""Small hand-made datasets for the curate tests."""
from __future__ import annotations

import copy


def box_poly(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def ann(i: int, image_id: int, cat: int, box: list[float], **extra) -> dict:
    return {"id": i, "image_id": image_id, "category_id": cat, "bbox": list(map(float, box)),
            "area": float(box[2] * box[3]), "segmentation": box_poly(*box), "iscrowd": 0, **extra}


def det(image_id: int, cat: int, box: list[float], score: float) -> dict:
    return {"image_id": image_id, "category_id": cat, "bbox": list(map(float, box)), "score": score,
            "segmentation": box_poly(*box)}


CATS = [{"id": 1, "name": "cat", "supercategory": "animal"}, {"id": 2, "name": "dog", "supercategory": "animal"},
        {"id": 3, "name": "car", "supercategory": "vehicle"}]


def audit_case() -> tuple[dict, list[dict]]:
    """GT with one error of each kind on image 1 (image 2 is clean) and matching predictions."""
    images = [{"id": 1, "file_name": "a.png", "width": 100, "height": 100},
              {"id": 2, "file_name": "b.png", "width": 100, "height": 100}]
    anns = [ann(1, 1, 1, [10, 10, 20, 20]),            # clean
            ann(2, 1, 1, [40, 10, 20, 20]),            # swapped: the object is a dog
            ann(3, 1, 2, [10, 60, 20, 20]),            # badly drawn: the object is at (15, 65)
            ann(4, 1, 1, [10, 10, 20, 20]),            # duplicate of 1
            ann(5, 1, 3, [90, 90, 1, 1]),              # degenerate: 1 pixel
            ann(6, 2, 3, [20, 20, 30, 30])]            # clean
    gt = {"images": images, "annotations": anns, "categories": copy.deepcopy(CATS)}
    dets = [det(1, 1, [10, 10, 20, 20], 0.99), det(1, 2, [40, 10, 20, 20], 0.99), det(1, 2, [15, 65, 20, 20], 0.9),
            det(1, 1, [60, 60, 20, 20], 0.99),          # overlooked: no label there
            det(2, 3, [20, 20, 30, 30], 0.98)]
    return gt, dets
