"""COCO -> Pascal VOC: Annotations/*.xml, JPEGImages/, ImageSets, SegmentationObject/Class PNGs."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from cocoseg import masks
from cocoseg.convert.output import place_image, start_writing
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.voc_png import encode_indexed_png
from cocoseg.convert.voc_read import SIDECAR, voc_box
from cocoseg.errors import DataError
from cocoseg.io import CategoryMap, CocoDataset, atomic_write, write_json
from cocoseg.io.paths import inside

ROUNDED = "box rounded outward to whole pixels (VOC boxes are integer pixel indices)"
OVERLAP = "object partly covered by a smaller overlapping one in the PNGs (one index per pixel)"
TOO_MANY = "mask not drawn: more than 254 objects in the image (index 255 is VOC's void)"
CROWD_DIFFICULT = "crowd annotations written as difficult objects"


def write_voc(splits: dict[str, tuple[CocoDataset, Path | None]], out: str | Path, image_mode: str = "link",
              progress: Progress = no_progress, report: ConvertReport | None = None) -> ConvertReport:
    """Write COCO splits as a VOC folder; masks go to palette PNGs (larger objects painted first)."""
    out = Path(out)
    report, categories = start_writing(splits, report, "Pascal VOC")
    cmap = CategoryMap.from_categories(categories)
    side: dict = {"format": "cocoseg-voc-sidecar", "categories": categories, "images": {}, "objects": {}}
    for name, (ds, root) in splits.items():
        main, seg = [], []
        for image in progress(ds.images, len(ds.images), f"writing {name}"):
            stem = _stem(image["file_name"])
            if stem in side["images"] and side["images"][stem]["id"] != image["id"]:
                raise DataError(f"two images are named {stem} (VOC needs unique file stems)")
            side["images"][stem] = image
            file_name = stem + Path(image["file_name"]).suffix
            if root is not None:
                src = inside(root, image["file_name"], f"image id {image['id']}", False)
                place_image(src, inside(out, f"JPEGImages/{file_name}", f"image id {image['id']}"), image_mode, report)
            anns = ds.anns_for_image(image["id"])
            side["objects"][stem] = [{k: v for k, v in a.items() if k not in ("segmentation", "image_id", "category_id")}
                                     for a in anns]
            has_masks = any(a.get("segmentation") for a in anns)
            _write_xml(inside(out, f"Annotations/{stem}.xml", f"image id {image['id']}"), file_name, image, anns, cmap, has_masks, report)
            if has_masks:
                _write_pngs(out, stem, image, anns, cmap, report)
                seg.append(stem)
            main.append(stem)
        for folder, stems in (("Main", main), ("Segmentation", seg)):
            if stems:
                text = "".join(s + "\n" for s in stems)
                atomic_write(out / "ImageSets" / folder / f"{name}.txt", lambda fh, t=text: fh.write(t))
        report.written["images"] += len(ds.images)
        report.written["objects"] += len(ds.annotations)
    labels = "".join(n + "\n" for n in cmap.names)
    atomic_write(out / "labels.txt", lambda fh: fh.write(labels))
    write_json(out / SIDECAR, side)
    report.outputs += [str(out / "Annotations"), str(out / "labels.txt"), str(out / SIDECAR)]
    return report


def _stem(file_name: str) -> str:
    p = Path(file_name)
    return "_".join(p.with_suffix("").parts)


def _write_xml(path: Path, file_name: str, image: dict, anns: list[dict], cmap: CategoryMap, segmented: bool,
               report: ConvertReport) -> None:
    w, h = int(image["width"]), int(image["height"])
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = file_name
    size = ET.SubElement(root, "size")
    for key, value in (("width", w), ("height", h), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(root, "segmented").text = str(int(segmented))
    for ann in anns:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = cmap.names[cmap.label(ann["category_id"])]
        ET.SubElement(obj, "pose").text = str(ann.get("pose", "Unspecified"))
        ET.SubElement(obj, "truncated").text = str(ann.get("truncated", 0))
        ET.SubElement(obj, "difficult").text = str(int(bool(ann.get("iscrowd"))))
        report.change(CROWD_DIFFICULT, int(bool(ann.get("iscrowd"))))
        box = ET.SubElement(obj, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), _voc_box(ann, w, h, report)):
            ET.SubElement(box, key).text = str(value)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode") + "\n"
    atomic_write(path, lambda fh: fh.write(text))


def _voc_box(ann: dict, w: int, h: int, report: ConvertReport) -> tuple[int, int, int, int]:
    if not all(float(v).is_integer() for v in ann["bbox"]):
        report.change(ROUNDED)
    return voc_box(ann["bbox"], w, h)


def _write_pngs(out: Path, stem: str, image: dict, anns: list[dict], cmap: CategoryMap, report: ConvertReport) -> None:
    h, w = int(image["height"]), int(image["width"])
    objects = np.zeros((h, w), np.uint8)
    classes = np.zeros((h, w), np.uint8)
    drawn = []
    for index, ann in enumerate(anns, start=1):
        if not ann.get("segmentation"):
            continue
        if index > 254:
            report.drop(TOO_MANY)
            continue
        bitmap = masks.decode(masks.segmentation_to_rle(ann["segmentation"], h, w)).astype(bool)
        drawn.append((int(bitmap.sum()), index, cmap.label(ann["category_id"]) + 1, bitmap))
    for _, index, label, bitmap in sorted(drawn, key=lambda d: -d[0]):  # smaller objects stay visible
        objects[bitmap] = index
        classes[bitmap] = label
    for area, index, _, bitmap in drawn:
        if int((objects[bitmap] == index).sum()) < area:
            report.change(OVERLAP)
    pngs = [("SegmentationObject", objects)] + ([("SegmentationClass", classes)] if len(cmap) <= 254 else [])
    if len(cmap) > 254:
        report.note("SegmentationClass PNGs not written: more than 254 classes")
    for folder, data in pngs:
        payload = encode_indexed_png(data)
        atomic_write(out / folder / f"{stem}.png", lambda fh, p=payload: fh.write(p), mode="wb")
