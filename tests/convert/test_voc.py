"""Pascal VOC <-> COCO: box convention, instance PNGs, difficult <-> crowd, ids restored."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from cocoseg.convert import ConvertReport, convert, load_split, open_input
from cocoseg.convert.voc_png import encode_indexed_png, read_indexed_png, voc_palette
from cocoseg.io import CocoDataset


def test_palette_png_round_trip(tmp_path: Path) -> None:
    assert voc_palette()[1].tolist() == [128, 0, 0] and voc_palette()[255].tolist() == [224, 224, 192]
    idx = np.random.default_rng(0).integers(0, 256, (23, 31)).astype(np.uint8)
    (tmp_path / "a.png").write_bytes(encode_indexed_png(idx))
    np.testing.assert_array_equal(read_indexed_png(tmp_path / "a.png"), idx)


def _voc(root: Path) -> Path:
    """A two-image VOC folder written by hand: 1-based inclusive boxes, an instance PNG with void pixels."""
    for sub in ("Annotations", "JPEGImages", "SegmentationObject", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    for stem in ("2007_000001", "2007_000002"):
        cv2.imwrite(str(root / "JPEGImages" / f"{stem}.jpg"), np.zeros((20, 30, 3), np.uint8))
    objects = ("<object><name>dog</name><difficult>0</difficult><bndbox><xmin>3</xmin><ymin>2</ymin>"
               "<xmax>10</xmax><ymax>8</ymax></bndbox></object>"
               "<object><name>person</name><difficult>1</difficult><bndbox><xmin>15</xmin><ymin>5</ymin>"
               "<xmax>20</xmax><ymax>15</ymax></bndbox></object>")
    for stem, body in (("2007_000001", objects), ("2007_000002", "")):
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.jpg</filename><size><width>30</width><height>20</height>"
            f"<depth>3</depth></size>{body}</annotation>")
    inst = np.zeros((20, 30), np.uint8)
    inst[1:8, 2:10] = 1  # object 1: rows 1..7, cols 2..9 (VOC box 3..10 x 2..8)
    inst[4:15, 14:20] = 2
    inst[0, :] = 255  # void
    (root / "SegmentationObject" / "2007_000001.png").write_bytes(encode_indexed_png(inst))
    (root / "ImageSets" / "Main" / "train.txt").write_text("2007_000001\n2007_000002\n")
    (root / "ImageSets" / "Main" / "dog_train.txt").write_text("2007_000001 1\n")  # per-class list: not a split
    return root


def test_voc_reads_boxes_masks_and_difficult(tmp_path: Path) -> None:
    spec = open_input(_voc(tmp_path / "VOC2007"))
    assert spec.format == "Pascal VOC" and list(spec.cfg.splits) == ["train"]
    assert spec.cfg.names[11] == "dog"  # the 20 VOC classes in their standard order
    report = ConvertReport()
    ds, root = load_split(spec.cfg, "train", report=report)
    assert root.name == "JPEGImages" and len(ds.images) == 2
    dog, person = ds.annotations
    assert dog["bbox"] == [2.0, 1.0, 8.0, 7.0] and dog["iscrowd"] == 0
    assert dog["area"] == 56 and isinstance(dog["segmentation"], list)
    assert person["iscrowd"] == 1 and isinstance(person["segmentation"], dict)  # crowd masks as RLE
    assert report.changed["VOC difficult objects marked iscrowd=1 (COCO's ignore flag)"] == 1


def test_coco_voc_coco_round_trip(coco_mini: Path, tmp_path: Path, round_trip_figures) -> None:
    full = CocoDataset.load(coco_mini / "annotations" / "instances_val2017.json")
    crowd_images = {a["image_id"] for a in full.annotations if a["iscrowd"]}
    keep = sorted(crowd_images)[:2] + [i for i in full.image_ids if i not in crowd_images][:18]
    src = full.subset(keep).save(tmp_path / "annotations" / "instances_val2017.json")
    report = convert(src, tmp_path / "voc", "voc", images=coco_mini / "val2017")
    n_objects = len(json.loads(src.read_text())["annotations"])
    assert report.written["objects"] == n_objects and report.changed["crowd annotations written as difficult objects"] >= 2
    xml = (tmp_path / "voc" / "Annotations" / f"{Path(full.image(keep[0])['file_name']).stem}.xml").read_text()
    assert "<segmented>1</segmented>" in xml and "<difficult>0</difficult>" in xml
    back = convert(tmp_path / "voc", tmp_path / "coco", "coco", image_mode="none")
    assert back.input_format == "Pascal VOC"
    original = json.loads(src.read_text())
    out = json.loads((tmp_path / "coco" / "annotations" / "instances_val2017.json").read_text())
    assert out["categories"] == original["categories"]
    assert {a["id"] for a in out["annotations"]} == {a["id"] for a in original["annotations"]}
    figures = round_trip_figures(original, out)
    # one index per pixel: objects under smaller overlapping ones lose those pixels; the rest are exact
    assert figures["all"][1] > 0.95 and figures["crowd"][0] >= 2
    by_id = {a["id"]: a for a in out["annotations"]}
    assert all(by_id[a["id"]]["bbox"] == a["bbox"] and by_id[a["id"]]["iscrowd"] == a["iscrowd"]
               for a in original["annotations"])
