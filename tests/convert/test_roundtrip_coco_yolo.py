"""COCO -> YOLO-seg -> COCO on real COCO subsets: every instance comes back with its exact mask."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cocoseg import masks
from cocoseg.convert import convert, load_split
from cocoseg.datasets import load_data_yaml


def _yolo_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_coco128_round_trip_is_exact_and_restores_everything(coco128: Path, tmp_path: Path,
                                                               round_trip_figures) -> None:
    src = coco128 / "annotations" / "instances_train2017.json"
    report = convert(src, tmp_path / "yolo", "yolo", images=coco128 / "images" / "train2017")
    assert report.written["label lines"] == 929 and report.written["label files"] == 128
    assert report.changed["crowd annotations kept in the sidecar (YOLO has no crowd flag)"] == 10
    assert not any(report.dropped.values())
    assert "crowd" in str(report)
    back_report = convert(tmp_path / "yolo" / "data.yaml", tmp_path / "coco", "coco", image_mode="none")
    assert back_report.written["annotations"] == 939
    original = json.loads(src.read_text())
    back = json.loads((tmp_path / "coco" / "annotations" / "instances_train2017.json").read_text())
    figures = round_trip_figures(original, back)
    assert figures["all"] == (929, 1.0, 1.0)  # exact, not just >= 0.999
    assert figures["multi"] == (82, 1.0, 1.0)
    assert figures["crowd"] == (10, 1.0, 1.0)
    assert back["categories"] == original["categories"]
    assert sorted(back["images"], key=lambda i: i["id"]) == sorted(original["images"], key=lambda i: i["id"])
    by_id = {a["id"]: a for a in back["annotations"]}
    for ann in original["annotations"]:  # ids, area, bbox, iscrowd, category: all as they were
        assert {k: v for k, v in by_id[ann["id"]].items() if k != "segmentation"} == \
            {k: v for k, v in ann.items() if k != "segmentation"}
    parts_back = sum(len(by_id[a["id"]]["segmentation"]) == len(a["segmentation"])
                     for a in original["annotations"] if not a["iscrowd"] and len(a["segmentation"]) > 1)
    assert parts_back >= 75  # bridges are undone: multi-part objects come back as parts (78 of 82)


def test_coco128_lines_match_ultralytics_labels_one_to_one(coco128: Path, tmp_path: Path) -> None:
    """Same number of lines per image, same class per line; mask IoU >= 0.99 with Ultralytics' line,
    except where Ultralytics' own line is below 0.99 against the COCO mask (ours is exact there)."""
    src = coco128 / "annotations" / "instances_train2017.json"
    convert(src, tmp_path / "yolo", "yolo", images=coco128 / "images" / "train2017", image_mode="none")
    data = json.loads(src.read_text())
    anns: dict[int, list[dict]] = {}
    for a in data["annotations"]:
        if not a["iscrowd"]:
            anns.setdefault(a["image_id"], []).append(a)

    def rle(tokens: list[str], w: int, h: int) -> dict:
        pts = (np.asarray(tokens[1:], float).reshape(-1, 2) * [w, h]).reshape(-1).tolist()
        return masks.polygons_to_rle([pts], h, w)

    count = 0
    for im in data["images"]:
        name = Path(im["file_name"]).with_suffix(".txt").name
        theirs = _yolo_lines(coco128 / "labels" / "train2017" / name)
        ours = _yolo_lines(tmp_path / "yolo" / "labels" / "train2017" / name)
        assert len(ours) == len(theirs)
        w, h = im["width"], im["height"]
        for a, b, ann in zip(theirs, ours, anns.get(im["id"], [])):
            assert a[0] == b[0]
            truth = masks.segmentation_to_rle(ann["segmentation"], h, w)
            iou_lines = masks.iou([rle(a, w, h)], [rle(b, w, h)], [0])[0, 0]
            iou_theirs = masks.iou([rle(a, w, h)], [truth], [0])[0, 0]
            assert masks.iou([rle(b, w, h)], [truth], [0])[0, 0] == 1.0
            assert iou_lines >= 0.99 or iou_theirs < 0.99
            count += 1
    assert count == 929


def test_coco_mini_round_trip_and_split_parts(coco_mini: Path, tmp_path: Path, round_trip_figures) -> None:
    src = coco_mini / "annotations" / "instances_val2017.json"
    original = json.loads(src.read_text())
    for split_parts in (False, True):
        out = tmp_path / f"y{int(split_parts)}"
        report = convert(src, out, "yolo", images=coco_mini / "val2017", split_parts=split_parts)
        if split_parts:
            assert report.written["label lines"] > 619
        cfg = load_data_yaml(out / "data.yaml")
        ds, root = load_split(cfg, "val")
        assert root == out / "images" / "val2017" or root == (out / "images" / "val2017").resolve()
        figures = round_trip_figures(original, ds.to_dict())
        assert figures["all"][0] == 619 and figures["all"][1] == 1.0
        assert figures["multi"] == (38, 1.0, 1.0)
        assert figures["crowd"] == (5, 1.0, 1.0)
        assert len(ds.annotations) == 624


def test_labels_alone_without_sidecar_keep_geometry_and_coco_ids(coco128: Path, tmp_path: Path,
                                                                 round_trip_figures) -> None:
    """Delete the sidecar: masks stay exact, image ids come from COCO-style names, category ids from
    the 80 COCO names; crowd annotations cannot come back (said in the summary)."""
    src = coco128 / "annotations" / "instances_train2017.json"
    convert(src, tmp_path / "yolo", "yolo", images=coco128 / "images" / "train2017")
    (tmp_path / "yolo" / "labels" / "train2017.coco.json").unlink()
    ds, _ = load_split(load_data_yaml(tmp_path / "yolo" / "data.yaml"), "train")
    original = json.loads(src.read_text())
    assert sorted(ds.image_ids) == sorted(im["id"] for im in original["images"])
    assert ds.category_ids == sorted(c["id"] for c in original["categories"])
    assert not any(a["iscrowd"] for a in ds.annotations)
    # match by (image, category, order): the lines keep the original order
    per_image: dict[tuple, list] = {}
    for a in ds.annotations:
        per_image.setdefault((a["image_id"], a["category_id"]), []).append(a)
    images = {im["id"]: im for im in original["images"]}
    for a in original["annotations"]:
        if a["iscrowd"]:
            continue
        b = per_image[(a["image_id"], a["category_id"])].pop(0)
        im = images[a["image_id"]]
        rle_a = masks.segmentation_to_rle(a["segmentation"], im["height"], im["width"])
        rle_b = masks.segmentation_to_rle(b["segmentation"], im["height"], im["width"])
        assert masks.iou([rle_a], [rle_b], [0])[0, 0] == 1.0
        assert b["area"] == masks.area(rle_b) and b["bbox"] == masks.to_bbox(rle_b).tolist()


def test_ultralytics_labels_read_as_coco(coco128: Path) -> None:
    """The Ultralytics YAML as it is: 929 instances, COCO ids, Ultralytics' published accuracy (0.9989)."""
    cfg = load_data_yaml(coco128 / "coco128-seg.yaml")
    assert cfg.root == coco128.resolve()  # path: ../datasets/coco128-seg is absent: the YAML's folder holds the data
    ds, root = load_split(cfg, "train")
    assert len(ds.images) == 128 and len(ds.annotations) == 929
    original = json.loads((coco128 / "annotations" / "instances_train2017.json").read_text())
    images = {im["id"]: im for im in original["images"]}
    assert all(images[im["id"]]["width"] == im["width"] and images[im["id"]]["height"] == im["height"]
               for im in ds.images)
    per: dict[tuple, list] = {}
    for a in ds.annotations:
        per.setdefault((a["image_id"], a["category_id"]), []).append(a)
    ious = []
    for a in original["annotations"]:
        if not a["iscrowd"]:
            b = per[(a["image_id"], a["category_id"])].pop(0)
            im = images[a["image_id"]]
            ra = masks.segmentation_to_rle(a["segmentation"], im["height"], im["width"])
            rb = masks.segmentation_to_rle(b["segmentation"], im["height"], im["width"])
            ious.append(masks.iou([ra], [rb], [0])[0, 0])
    assert abs(float(np.mean(ious)) - 0.9989) < 0.0005
