"""RLE objects (holes, several parts) and all-crowd exports survive COCO -> YOLO -> COCO exactly."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cocoseg import masks
from cocoseg.convert import convert, load_split
from cocoseg.datasets import load_data_yaml
from cocoseg.io import CocoDataset


def _rle_dataset(tmp: Path, iscrowd: int) -> Path:
    h, w = 48, 64
    (tmp / "images").mkdir(parents=True)
    cv2.imwrite(str(tmp / "images" / "a.png"), np.zeros((h, w, 3), np.uint8))
    ring = np.zeros((h, w), np.uint8)
    ring[5:30, 5:30] = 1
    ring[12:20, 12:20] = 0  # a hole
    ring[35:45, 40:60] = 1  # a second part
    blob = np.zeros((h, w), np.uint8)
    blob[2:10, 40:50] = 1
    ds = CocoDataset(categories=[{"id": 3, "name": "thing"}, {"id": 7, "name": "other"}])
    ds.add_image({"id": 5, "file_name": "a.png", "width": w, "height": h})
    ds.add_annotation({"image_id": 5, "category_id": 3, "segmentation": masks.encode(ring), "iscrowd": iscrowd})
    ds.add_annotation({"image_id": 5, "category_id": 7, "segmentation": masks.encode(blob), "iscrowd": iscrowd})
    return ds.save(tmp / "annotations" / "instances_x.json")


def test_rle_objects_with_holes_and_parts_come_back_exactly(tmp_path: Path) -> None:
    src = _rle_dataset(tmp_path / "in", iscrowd=0)
    for split_parts, lines in ((False, 2), (True, 3)):
        out = tmp_path / f"y{int(split_parts)}"
        report = convert(src, out, "yolo", images=tmp_path / "in" / "images", split_parts=split_parts)
        assert report.written["label lines"] == lines
        assert report.changed["RLE mask traced to a polygon (rasterizes to the same mask)"] == 2
        ds, _ = load_split(load_data_yaml(out / "data.yaml"), "train")
        original = CocoDataset.load(src)
        for a, b in zip(original.annotations, ds.annotations):
            assert (a["id"], a["category_id"], a["area"], a["bbox"]) == (b["id"], b["category_id"], b["area"], b["bbox"])
            ra, rb = masks.segmentation_to_rle(a["segmentation"], 48, 64), masks.segmentation_to_rle(b["segmentation"], 48, 64)
            assert masks.iou([ra], [rb], [0])[0, 0] == 1.0


def test_all_crowd_export_is_not_converted_to_empty_labels(tmp_path: Path) -> None:
    """CVAT marks every RLE mask iscrowd=1: by default (crowd=auto) they become lines, with a note."""
    src = _rle_dataset(tmp_path / "in", iscrowd=1)
    report = convert(src, tmp_path / "y", "yolo", images=tmp_path / "in" / "images")
    assert report.written["label lines"] == 2 and any("every annotation is iscrowd=1" in n for n in report.notes)
    ds, _ = load_split(load_data_yaml(tmp_path / "y" / "data.yaml"), "train")
    assert [a["iscrowd"] for a in ds.annotations] == [1, 1]  # the flag comes back from the sidecar
    assert all(masks.is_rle(a["segmentation"]) for a in ds.annotations)
    report = convert(src, tmp_path / "s", "yolo", images=tmp_path / "in" / "images", crowd="sidecar")
    assert report.written["label lines"] == 0


def test_file_names_with_folders_keep_their_ids(tmp_path: Path) -> None:
    """COCO file_names such as 'sub/a.png' keep their folder in the YOLO layout and their ids on the way back."""
    src = _rle_dataset(tmp_path / "in", iscrowd=0)
    ds = CocoDataset.load(src)
    ds.images[0]["file_name"] = "sub/a.png"
    (tmp_path / "in" / "images" / "sub").mkdir()
    (tmp_path / "in" / "images" / "a.png").rename(tmp_path / "in" / "images" / "sub" / "a.png")
    src = ds.save(src)
    convert(src, tmp_path / "y", "yolo", images=tmp_path / "in" / "images")
    assert (tmp_path / "y" / "labels" / "x" / "sub" / "a.txt").exists()
    back, root = load_split(load_data_yaml(tmp_path / "y" / "data.yaml"), "train")
    assert back.images[0]["file_name"] == "sub/a.png" and back.images[0]["id"] == 5
    assert [a["id"] for a in back.annotations] == [a["id"] for a in ds.annotations]
    assert (root / "sub" / "a.png").exists()
