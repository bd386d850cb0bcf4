"""The sidecar beside YOLO labels: what YOLO cannot hold, so a conversion back to COCO restores it.

`labels/<split>.coco.json` (next to the `labels/<split>/` folder) holds the COCO categories (ids,
names, supercategories), the image records (ids, licenses, urls), the crowd annotations (YOLO has
no crowd flag; training on them as objects would be wrong), and for every label line the
annotation id, a fingerprint of the line and the annotation's other fields (original `area` and
`bbox`, keypoints, ...). A line whose fingerprint no longer matches (edited by hand) keeps only
its geometry: area and bbox are recomputed from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cocoseg.errors import DataError
from cocoseg.io import read_json, write_json

SUFFIX = ".coco.json"
FORMAT = "cocoseg-yolo-sidecar"
VERSION = 1
# annotation fields carried by the label line itself (never copied into the sidecar's extras)
LINE_FIELDS = frozenset(("id", "image_id", "category_id", "segmentation", "iscrowd"))


def sidecar_path(label_dir: Path) -> Path:
    """`labels/train2017` -> `labels/train2017.coco.json`."""
    return label_dir.parent / (label_dir.name + SUFFIX)


def new_sidecar(info: Any, licenses: Any, categories: list[dict]) -> dict:
    """An empty sidecar for one split."""
    return {"format": FORMAT, "version": VERSION,
            "note": "written by cocoseg convert: COCO data that YOLO labels cannot hold (read back by cocoseg)",
            "info": info, "licenses": licenses, "categories": categories,
            "images": [], "lines": {}, "extra": {}, "crowd": []}


def read_sidecar(path: Path) -> dict | None:
    """The sidecar at `path`, None when absent; DataError when it is not one of ours."""
    if not path.exists():
        return None
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"{path}: not a cocoseg sidecar (expected \"format\": \"{FORMAT}\"); move it away")
    if int(data.get("version", 0)) > VERSION:
        raise DataError(f"{path}: sidecar version {data.get('version')} is newer than this cocoseg reads ({VERSION})")
    for key, kind in (("categories", list), ("images", list), ("lines", dict), ("extra", dict), ("crowd", list)):
        if not isinstance(data.get(key, kind()), kind):
            raise DataError(f"{path}: '{key}' must be a {kind.__name__}")
    return data


def write_sidecar(path: Path, data: dict) -> Path:
    """Write atomically."""
    return write_json(path, data)
