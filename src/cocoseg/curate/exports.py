"""Pre-labels for annotation tools: Label Studio tasks and CVAT's COCO 1.0 import, in ranking order.

Label Studio (its JSON import with `predictions`, https://labelstud.io/guide/predictions): a list
of tasks ``{"data": {"image": URL}, "predictions": [{"model_version", "score", "result": [...]}]}``;
each instance becomes ``polygonlabels`` results (one per polygon part) with
``value.points`` as [x, y] in percent of the image (0-100), ``original_width`` /
``original_height`` in pixels and the instance's ``score``; `from_name` / `to_name` must match the
project's labeling config (``<PolygonLabels name="label" toName="image">``). Masks given as RLE are
traced to polygons (`cocoseg.masks.bitmap_to_polygons`, exact under pycocotools' rasterizer).

CVAT (its "COCO 1.0" import, a zip with ``annotations/instances_default.json``): a COCO instances
file whose `file_name`s are the task's image names, ids 1..N in ranking order, polygon
segmentations with ``iscrowd`` 0 (CVAT reads RLE as crowd masks), ``attributes: {"occluded":
false}`` as CVAT writes them, and the instance score kept as ``score``.
"""
from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg import masks
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.io.jsonio import PathLike, atomic_write, read_json


def ranked_images(ds: CocoDataset, ranking: Sequence[int] | None = None) -> list[dict]:
    """The dataset's images, those named by `ranking` (image ids) first in its order, then the rest in file order."""
    if not ranking:
        return list(ds.images)
    by_id = {im["id"]: im for im in ds.images}
    first = [by_id[i] for i in dict.fromkeys(ranking) if i in by_id]
    seen = {im["id"] for im in first}
    return first + [im for im in ds.images if im["id"] not in seen]


def read_ranking(path: PathLike) -> list[int]:
    """Image ids in ranking order from a `cocoseg rank` JSON (top-level `images` rows), a list of ids or a CSV."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        import csv

        with p.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        if rows and "image_id" not in rows[0]:
            raise CocosegError(f"{p}: the ranking CSV needs an image_id column")
        return [int(r["image_id"]) for r in rows]
    data = read_json(p)
    rows = data.get("images") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise CocosegError(f"{p}: expected a ranking with a top-level 'images' list (or a list of image ids)")
    try:
        return [int(r["image_id"]) if isinstance(r, dict) else int(r) for r in rows]
    except (KeyError, TypeError, ValueError):
        raise CocosegError(f"{p}: every ranking row needs an integer image_id") from None


def polygon_parts(ann: dict, height: int, width: int) -> list[list[float]]:
    """The annotation's polygon parts (flat [x0, y0, x1, y1, ...]); RLE masks traced, a box when nothing else."""
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg:
        return [list(map(float, part)) for part in seg if len(part) >= 6]
    if isinstance(seg, dict):
        rle = masks.segmentation_to_rle(seg, height, width)
        return masks.bitmap_to_polygons(masks.decode(rle))
    x, y, w, h = ann["bbox"]
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def label_studio_tasks(ds: CocoDataset, ranking: Sequence[int] | None = None, *, image_prefix: str = "",
                       from_name: str = "label", to_name: str = "image", model_version: str = "cocoseg") -> list[dict]:
    """Label Studio tasks with the dataset's annotations as predictions (see the module docstring)."""
    names = {c["id"]: c["name"] for c in ds.categories}
    tasks = []
    for image in ranked_images(ds, ranking):
        w, h = int(image["width"]), int(image["height"])
        results, scores = [], []
        for ann in ds.anns_for_image(image["id"]):
            score = float(ann.get("score", 1.0))
            scores.append(score)
            for k, part in enumerate(polygon_parts(ann, h, w)):
                xy = np.asarray(part, dtype=np.float64).reshape(-1, 2)
                points = np.clip(xy / (w, h) * 100.0, 0.0, 100.0).round(4).tolist()
                results.append({"id": f"{ann.get('id', len(results))}_{k}", "type": "polygonlabels",
                                "from_name": from_name, "to_name": to_name, "original_width": w, "original_height": h,
                                "image_rotation": 0, "score": score,
                                "value": {"points": points, "polygonlabels": [names[ann["category_id"]]]}})
        prediction = {"model_version": model_version, "score": float(np.mean(scores)) if scores else 0.0,
                      "result": results}
        tasks.append({"data": {"image": image_prefix + image["file_name"], "coco_image_id": image["id"]},
                      "predictions": [prediction]})
    return tasks


def cvat_coco(ds: CocoDataset, ranking: Sequence[int] | None = None) -> dict:
    """A COCO dict for CVAT's COCO 1.0 import (see the module docstring)."""
    images, annotations = [], []
    for new_id, image in enumerate(ranked_images(ds, ranking), 1):
        w, h = int(image["width"]), int(image["height"])
        images.append({"id": new_id, "file_name": image["file_name"], "width": w, "height": h, "license": 0,
                       "flickr_url": "", "coco_url": "", "date_captured": 0})
        for ann in ds.anns_for_image(image["id"]):
            parts = polygon_parts(ann, h, w)
            record = {"id": len(annotations) + 1, "image_id": new_id, "category_id": ann["category_id"],
                      "segmentation": [[round(v, 2) for v in p] for p in parts], "area": float(ann.get("area", 0.0)),
                      "bbox": [float(v) for v in ann["bbox"]], "iscrowd": 0, "attributes": {"occluded": False}}
            if "score" in ann:
                record["score"] = float(ann["score"])
            annotations.append(record)
    categories = [{"id": c["id"], "name": c["name"], "supercategory": c.get("supercategory", "")}
                  for c in ds.categories]
    return {"licenses": [{"name": "", "id": 0, "url": ""}],
            "info": {"contributor": "", "date_created": "", "description": "cocoseg pre-labels", "url": "",
                     "version": "", "year": ""},
            "categories": copy.deepcopy(categories), "images": images, "annotations": annotations}


def write_label_studio(path: PathLike, tasks: list[dict]) -> Path:
    """Write the tasks as one JSON list (Label Studio's import), atomically."""
    text = json.dumps(tasks)
    return atomic_write(path, lambda f: f.write(text))


def write_cvat(path: PathLike, data: dict) -> Path:
    """A .zip holding annotations/instances_default.json (CVAT's COCO 1.0 upload), or a plain .json."""
    text = json.dumps(data)
    if str(path).lower().endswith(".zip"):
        def write(fh: Any) -> None:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("annotations/instances_default.json", text)

        return atomic_write(path, write, mode="wb")
    return atomic_write(path, lambda f: f.write(text))
