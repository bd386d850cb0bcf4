"""Deterministic val2017-scale COCO ground truth for benchmarks (no images, only JSON)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_gt(num_images: int = 5000, num_categories: int = 80, anns_per_image: float = 7.3,
            crowd_fraction: float = 0.01, seed: int = 0) -> dict:
    """A COCO instances dict shaped like val2017: ~36k polygons (some multi-part), ~1% crowd RLE."""
    from pycocotools import mask as cm

    from cocoseg.masks import decompress

    rng = np.random.default_rng(seed)
    images, anns = [], []
    cats = [{"id": i + 1 + i // 10, "name": f"class{i}", "supercategory": "thing"} for i in range(num_categories)]
    cat_ids = [c["id"] for c in cats]
    for img_id in range(1, num_images + 1):
        w, h = int(rng.choice([640, 480, 500, 427])), int(rng.choice([480, 640, 375, 333]))
        images.append({"id": img_id, "file_name": f"{img_id:012d}.jpg", "width": w, "height": h,
                       "license": 1, "coco_url": "", "date_captured": "2013-11-14 17:02:52", "flickr_url": ""})
        for _ in range(rng.poisson(anns_per_image)):
            bw, bh = np.exp(rng.uniform(np.log(4), np.log(min(w, h) * 0.9), 2))
            x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            crowd = rng.random() < crowd_fraction
            if crowd:
                m = np.zeros((h, w), np.uint8)
                m[int(y0):int(y0 + bh) + 1, int(x0):int(x0 + bw) + 1] = 1
                rle = cm.encode(np.asfortranarray(m))
                segm = decompress(rle)  # crowd regions use uncompressed counts, as in COCO files
                area = float(cm.area(rle))
            else:
                parts = 1 + int(rng.random() < 0.1)
                segm = []
                for _p in range(parts):
                    k = int(rng.integers(8, 40))
                    t = np.sort(rng.uniform(0, 2 * np.pi, k))
                    r = rng.uniform(0.6, 1.0, k)
                    xs = x0 + bw / 2 + np.cos(t) * r * bw / 2 / parts
                    ys = y0 + bh / 2 + np.sin(t) * r * bh / 2
                    segm.append(np.round(np.c_[xs, ys].ravel(), 2).tolist())
                area = float(rng.uniform(0.5, 0.8) * bw * bh)
            anns.append({"segmentation": segm, "area": area, "iscrowd": int(crowd), "image_id": img_id,
                         "bbox": [round(x0, 2), round(y0, 2), round(bw, 2), round(bh, 2)],
                         "category_id": int(rng.choice(cat_ids)), "id": len(anns) + 1})
    return {"info": {"description": "synthetic val2017-scale"}, "licenses": [{"id": 1, "name": "x", "url": ""}],
            "images": images, "annotations": anns, "categories": cats}


def write_gt(path: Path, **kwargs: object) -> Path:
    """Write `make_gt(**kwargs)` to `path` (cached: reused when it exists)."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(make_gt(**kwargs)))  # type: ignore[arg-type]
    return path
