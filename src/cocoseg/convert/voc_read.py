"""Pascal VOC -> COCO: XML boxes, instance masks from SegmentationObject PNGs.

Conventions matched: VOC pixel indices are 1-based and inclusive, so `xmin..xmax` becomes the
COCO box [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]; object k of an XML file (in
file order) is index k in its SegmentationObject PNG; 255 marks void boundary pixels, which
belong to no instance. `difficult` objects become `iscrowd=1`, COCO's flag for regions that
neither count as misses nor as false positives, the same role VOC's evaluation gives them.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from cocoseg import masks
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.voc_png import read_indexed_png
from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource
from cocoseg.datasets.imagesize import image_size
from cocoseg.errors import DataError, Problem
from cocoseg.io import CocoDataset, complete_annotation, read_json

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
SIDECAR = "cocoseg.json"  # written by the VOC writer: COCO categories and image records
DIFFICULT = "VOC difficult objects marked iscrowd=1 (COCO's ignore flag)"
MASK_FROM_PNG = "instance masks read from SegmentationObject PNGs"
EMPTY_INSTANCE = "object with no pixels in its SegmentationObject PNG kept as a box"


def open_voc(root: Path) -> DataConfig:
    """Describe a VOC folder: splits from ImageSets/Main (else Segmentation, else every XML), class names."""
    root = root.resolve()
    sets: dict[str, Path] = {}
    for sub in ("Main", "Segmentation"):
        for txt in sorted((root / "ImageSets" / sub).glob("*.txt")):
            if not re.fullmatch(r".+_(train|val|trainval|test)", txt.stem):  # not a per-class list
                sets.setdefault(txt.stem, txt)
    if "train" in sets and "val" in sets:
        sets.pop("trainval", None)
    splits = {n: SplitSource(n, (root / "JPEGImages",), root / "Annotations", "voc", p) for n, p in sets.items()}
    if not splits:
        splits = {"all": SplitSource("all", (root / "JPEGImages",), root / "Annotations", "voc", None)}
    names, category_ids = _voc_names(root)
    return DataConfig(dict(enumerate(names)), root, splits, category_ids=category_ids)


def _voc_names(root: Path) -> tuple[list[str], tuple[int, ...] | None]:
    side = root / SIDECAR
    if side.is_file():
        cats = sorted(read_json(side).get("categories", []), key=lambda c: c["id"])
        if cats:
            return [c["name"] for c in cats], tuple(int(c["id"]) for c in cats)
    if (root / "labels.txt").is_file():
        return [s.strip() for s in (root / "labels.txt").read_text(encoding="utf-8").splitlines() if s.strip()], None
    found: set[str] = set()
    for xml in (root / "Annotations").glob("*.xml"):
        found.update((obj.findtext("name") or "").strip() for obj in _parse(xml).findall("object"))
    names = list(VOC_CLASSES) if found <= set(VOC_CLASSES) else sorted(found)
    return names, None


def _parse(xml: Path) -> ET.Element:
    try:
        return ET.parse(xml).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError([Problem(str(xml), "", "", f"invalid XML: {exc}")]) from None


def _ids(source: SplitSource) -> list[str]:
    if source.image_set is not None:
        return [line.split()[0] for line in source.image_set.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert source.annotations is not None
    return sorted(p.stem for p in source.annotations.glob("*.xml"))


def read_voc_split(cfg: DataConfig, source: SplitSource, report: ConvertReport | None = None,
                   progress: Progress = no_progress) -> tuple[CocoDataset, Path]:
    """One VOC image set as a COCO dataset, and the JPEGImages folder."""
    report = report if report is not None else ConvertReport()
    assert source.annotations is not None
    root, images_dir = source.annotations.parent, source.images[0]
    cmap = cfg.category_map
    id_of_name = dict(zip(cmap.names, cmap.category_ids))
    side = read_json(root / SIDECAR) if (root / SIDECAR).is_file() else {}
    side_images = side.get("images", {})
    records, anns, problems = [], [], []
    stems = _ids(source)
    for k, stem in enumerate(progress(stems, len(stems), f"reading {source.name}"), start=1):
        xml = source.annotations / f"{stem}.xml"
        if not xml.is_file():
            problems.append(Problem(str(xml), "", source.name, "listed in the image set but missing"))
            continue
        node = _parse(xml)
        record = dict(side_images.get(stem, {"id": k}))
        record["file_name"] = (node.findtext("filename") or f"{stem}.jpg").strip()
        record["width"], record["height"] = _size(node, images_dir / record["file_name"])
        records.append(record)
        objects = node.findall("object")
        instance = _instance_png(root, stem, record, report)
        stored = side.get("objects", {}).get(stem)
        stored = stored if stored is not None and len(stored) == len(objects) else [None] * len(objects)
        for index, (obj, known) in enumerate(zip(objects, stored), start=1):
            ann = _object(obj, record, id_of_name, xml, problems, report)
            if ann is not None:
                _mask(ann, instance, index, record, report)
                _restore(ann, known, record)
                anns.append(ann)
    if problems:
        raise DataError(problems)
    _number(anns)
    cats = side.get("categories") or [{"id": i, "name": n} for i, n in zip(cmap.category_ids, cmap.names)]
    return CocoDataset(records, anns, cats, source=f"VOC {source.name}"), images_dir


def _restore(ann: dict, known: dict | None, image: dict) -> None:
    """Fields kept by the VOC writer's sidecar (id, original float box, area, ...) for an unedited object."""
    if known and "bbox" in known and list(voc_box(known["bbox"], image["width"], image["height"])) == \
            list(voc_box(ann["bbox"], image["width"], image["height"])):
        ann.update(known)


def _number(anns: list[dict]) -> None:
    used = {a["id"] for a in anns if "id" in a}
    nxt = max(used, default=0) + 1
    for ann in anns:
        if "id" not in ann:
            ann["id"], nxt = nxt, nxt + 1


def _size(node: ET.Element, image: Path) -> tuple[int, int]:
    try:
        w, h = int(node.findtext("size/width") or 0), int(node.findtext("size/height") or 0)
    except ValueError:
        w = h = 0
    return (w, h) if w > 0 and h > 0 else image_size(image)


def _instance_png(root: Path, stem: str, record: dict, report: ConvertReport) -> np.ndarray | None:
    png = root / "SegmentationObject" / f"{stem}.png"
    if not png.is_file():
        return None
    idx = read_indexed_png(png)
    if idx.shape != (record["height"], record["width"]):
        raise DataError([Problem(str(png), "", "", f"is {idx.shape[1]}x{idx.shape[0]}, the image "
                                                   f"{record['width']}x{record['height']}")])
    report.note("VOC void pixels (255) belong to no instance mask")
    return idx


def _object(obj: ET.Element, image: dict, id_of_name: dict[str, int], xml: Path, problems: list[Problem],
            report: ConvertReport) -> dict | None:
    name = (obj.findtext("name") or "").strip()
    if name not in id_of_name:
        problems.append(Problem(str(xml), f"object '{name}'", "name", "is not one of the dataset's classes"))
        return None
    x1, y1, x2, y2 = (_float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
    if not np.isfinite([x1, y1, x2, y2]).all() or x2 < x1 or y2 < y1:
        shown = ", ".join(f"{k}={obj.findtext(f'bndbox/{k}')!r}" for k in ("xmin", "ymin", "xmax", "ymax"))
        problems.append(Problem(str(xml), f"object '{name}'", "bndbox",
                                f"needs numbers with xmin <= xmax, ymin <= ymax, got {shown}"))
        return None
    difficult = _float(obj.findtext("difficult") or "0") == 1
    report.change(DIFFICULT, int(difficult))
    ann = {"image_id": image["id"], "category_id": id_of_name[name], "iscrowd": int(difficult),
           "bbox": [x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1]}
    for key in ("truncated", "occluded", "pose"):
        if obj.findtext(key) is not None:
            ann[key] = obj.findtext(key).strip()
    return ann


def _float(text: str | None) -> float:
    """A VOC number, NaN when it is missing or not a number (the caller names the field)."""
    try:
        return float(text) if text is not None else float("nan")
    except ValueError:
        return float("nan")


def _mask(ann: dict, instance: np.ndarray | None, index: int, image: dict, report: ConvertReport) -> None:
    h, w = image["height"], image["width"]
    if instance is not None:
        bitmap = instance == index
        if bitmap.any():
            if ann["iscrowd"]:
                ann["segmentation"] = masks.encode(bitmap)
            else:
                ann["segmentation"] = masks.bitmap_to_polygons(bitmap)
            report.change(MASK_FROM_PNG)
        else:
            report.change(EMPTY_INSTANCE)
    complete_annotation(ann, h, w)


def voc_box(bbox_xywh: list[float], w: int, h: int) -> tuple[int, int, int, int]:
    """1-based inclusive pixel indices covering a COCO box (the inverse of the reader's formula)."""
    x, y, bw, bh = (float(v) for v in bbox_xywh)
    xmin, ymin = max(math.floor(x), 0) + 1, max(math.floor(y), 0) + 1
    xmax, ymax = min(math.ceil(x + bw), w), min(math.ceil(y + bh), h)
    return xmin, ymin, max(xmax, xmin), max(ymax, ymin)
