"""A small synthetic set for the viewer's tests: images, GT, segm predictions, audit, ranking, runs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cocoseg import masks
from cocoseg.synth import generate_coco


@dataclass(frozen=True)
class ViewData:
    root: Path
    gt: Path
    images: Path
    results: Path
    audit: Path
    ranking: Path
    runs: Path


def predictions(coco: dict, seed: int = 0) -> list[dict]:
    """Detections made from the GT: most shifted a little (TP at IoU 0.5, some not at 0.75), some
    relabelled (class confusions), one background box per image (FP)."""
    rng = np.random.default_rng(seed)
    images = {im["id"]: im for im in coco["images"]}
    cats = [c["id"] for c in coco["categories"]]
    out = []
    for ann in coco["annotations"]:
        if ann.get("iscrowd"):
            continue
        im = images[ann["image_id"]]
        h, w = im["height"], im["width"]
        bitmap = masks.decode(masks.segmentation_to_rle(ann["segmentation"], h, w))
        shift = int(rng.integers(0, 4))
        moved = np.roll(bitmap, shift, axis=1)
        cat = ann["category_id"] if rng.random() > 0.15 else int(rng.choice([c for c in cats if c != ann["category_id"]]))
        out.append(_det(im["id"], cat, float(rng.uniform(0.3, 1.0)), moved))
    for im in coco["images"]:
        box = np.zeros((im["height"], im["width"]), dtype=np.uint8)
        box[5:25, 5:25] = 1
        out.append(_det(im["id"], cats[0], float(rng.uniform(0.3, 0.9)), box))
    return out


def _det(image_id: int, category_id: int, score: float, bitmap: np.ndarray) -> dict:
    rle = masks.encode(np.asfortranarray(bitmap))
    rle["counts"] = rle["counts"].decode() if isinstance(rle["counts"], bytes) else rle["counts"]
    return {"image_id": image_id, "category_id": category_id, "score": round(score, 4), "segmentation": rle}


def make_view_data(root: Path, num_images: int = 10) -> ViewData:
    """Write the set under `root`."""
    synth = generate_coco(num_images=num_images, seed=3, size=(256, 256), min_objects=3, max_objects=8)
    images = root / "images"
    images.mkdir(parents=True)
    for record, pixels in zip(synth.coco["images"], synth.images):
        cv2.imwrite(str(images / record["file_name"]), pixels)
    gt = root / "gt.json"
    gt.write_text(json.dumps(synth.coco))
    results = root / "results.json"
    results.write_text(json.dumps(predictions(synth.coco)))
    ids = [im["id"] for im in synth.coco["images"]]
    audit = root / "audit.json"
    audit.write_text(json.dumps({"issues": [{"image_id": i, "annotation_id": 1, "score": (k * 7 % 10) / 10}
                                            for k, i in enumerate(ids)]}))
    ranking = root / "ranking.json"
    ranking.write_text(json.dumps({"images": [{"file": synth.coco["images"][k]["file_name"], "image_id": i,
                                               "score": k / 10, "components": {"entropy": k}, "selected": k < 3}
                                              for k, i in enumerate(ids)]}))
    runs = root / "runs"
    for name, scale in (("exp", 1.0), ("exp2", 0.8)):
        run = runs / name
        run.mkdir(parents=True)
        rows = ["epoch,train/box_loss,metrics/mAP50-95(M)"] + [f"{e},{2 / (e + 1):.4f},{scale * e / 10:.4f}" for e in range(5)]
        (run / "results.csv").write_text("\n".join(rows) + "\n")
        (run / "args.yaml").write_text(f"epochs: 5\nlr0: {0.01 * scale}\n")
        (run / "metrics.json").write_text(json.dumps({"mask_map": scale * 0.4}))
    return ViewData(root, gt, images, results, audit, ranking, runs)
