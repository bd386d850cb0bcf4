"""Deterministic val2017-scale COCO ground truth for benchmarks (no images, only JSON)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_gt(num_images: int = 5000, num_categories: int = 80, anns_per_image: float = 7.3,
            crowd_fraction: float = 0.01, seed: int = 0, polygons: bool = True) -> dict:
    """A COCO instances dict shaped like val2017: ~36k polygons (some multi-part), ~1% crowd RLE.

    `polygons=False` leaves the segmentations out (boxes only, as Objects365)."""
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
            if not polygons:
                segm, area = None, float(rng.uniform(0.5, 0.8) * bw * bh)
            elif crowd:
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
            ann = {"segmentation": segm, "area": area, "iscrowd": int(crowd), "image_id": img_id,
                         "bbox": [round(x0, 2), round(y0, 2), round(bw, 2), round(bh, 2)],
                   "category_id": int(rng.choice(cat_ids)), "id": len(anns) + 1}
            if segm is None:
                del ann["segmentation"]
            anns.append(ann)
    return {"info": {"description": "synthetic val2017-scale"}, "licenses": [{"id": 1, "name": "x", "url": ""}],
            "images": images, "annotations": anns, "categories": cats}


def write_gt(path: Path, **kwargs: object) -> Path:
    """Write `make_gt(**kwargs)` to `path` (cached: reused when it exists)."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(make_gt(**kwargs)))  # type: ignore[arg-type]
    return path


# ---- detection results (used by eval_bench.py) ---------------------------------------------------
def _random_box(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    bw, bh = np.exp(rng.uniform(np.log(4), np.log(min(w, h) * 0.9), 2))
    return np.array([rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh])


def _ellipse(rng: np.random.Generator, box: np.ndarray) -> list[float]:
    k = int(rng.integers(8, 25))
    t = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = rng.uniform(0.8, 1.0, k)
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return np.round(np.c_[cx + np.cos(t) * r * box[2] / 2, cy + np.sin(t) * r * box[3] / 2].ravel(), 2).tolist()


def _image_detections(rng: np.random.Generator, image: dict, anns: list[dict], cat_ids: list[int],
                      per_image: int) -> list[tuple]:
    """(box_xywh, category_id, score): jittered copies of the GT (15% with a wrong class), then random boxes."""
    w, h = image["width"], image["height"]
    out: list[tuple] = []
    for ann in anns:
        if ann["iscrowd"] or rng.random() > 0.9:
            continue
        for _ in range(1 + int(rng.poisson(0.6))):
            x, y, bw, bh = ann["bbox"]
            s = rng.normal(0, 0.08, 4)
            box = np.array([x + s[0] * bw, y + s[1] * bh, bw * np.exp(s[2]), bh * np.exp(s[3])])
            box[:2] = np.clip(box[:2], 0, [w - 2, h - 2])
            box[2:] = np.clip(box[2:], 1, [w - box[0], h - box[1]])
            cat = ann["category_id"] if rng.random() < 0.85 else int(rng.choice(cat_ids))
            out.append((box, cat, rng.beta(5, 2)))
    while len(out) < per_image:
        out.append((_random_box(rng, w, h), int(rng.choice(cat_ids)), rng.beta(1.2, 6)))
    return out[:per_image]


def make_results(gt: dict, iou_type: str = "bbox", per_image: int = 100, seed: int = 1) -> list[dict]:
    """COCO results for `gt`: `per_image` detections per image, 'bbox' boxes or 'segm' compressed RLEs.

    Scores are rounded to 5 decimals (so ties occur, as in Ultralytics' JSON) and boxes to 2.
    """
    from pycocotools import mask as cm

    rng = np.random.default_rng(seed)
    cat_ids = [c["id"] for c in gt["categories"]]
    by_image: dict[int, list[dict]] = {}
    for ann in gt["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    results = []
    for image in gt["images"]:
        dets = _image_detections(rng, image, by_image.get(image["id"], []), cat_ids, per_image)
        if iou_type == "segm":
            rles = cm.frPyObjects([_ellipse(rng, box) for box, _, _ in dets], image["height"], image["width"])
        for i, (box, cat, score) in enumerate(dets):
            rec: dict = {"image_id": image["id"], "category_id": cat}
            if iou_type == "segm":
                rec["segmentation"] = {"size": [image["height"], image["width"]], "counts": rles[i]["counts"].decode()}
            else:
                rec["bbox"] = [round(float(v), 2) for v in box]
            rec["score"] = round(float(score), 5)
            results.append(rec)
    return results


def write_eval_files(folder: Path, num_images: int = 5000, per_image: int = 100, seed: int = 0,
                     num_categories: int = 80, anns_per_image: float = 7.3,
                     kinds: tuple | list = ("bbox", "segm"), polygons: bool = True) -> dict[str, Path]:
    """Write (once, then reuse) gt.json and results_{kind}.json under `folder`.

    `polygons=False`: a GT without segmentations (the Objects365 shape), box results only."""
    shape = "" if (num_categories, anns_per_image) == (80, 7.3) else f"_{num_categories}cat_{anns_per_image}gt"
    boxes_only = not polygons
    kinds = [k for k in kinds if k == "bbox" or not boxes_only]
    folder = Path(folder) / f"eval_{num_images}img_{per_image}det_seed{seed}{shape}{'_boxes' if boxes_only else ''}"
    paths = {"gt": folder / "gt.json", **{k: folder / f"results_{k}.json" for k in kinds}}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    gt = make_gt(num_images=num_images, num_categories=num_categories, anns_per_image=anns_per_image, seed=seed,
                 polygons=not boxes_only)
    for key in paths:
        data = gt if key == "gt" else make_results(gt, key, per_image, seed + 1)
        tmp = paths[key].with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(paths[key])
        del data
    return paths
