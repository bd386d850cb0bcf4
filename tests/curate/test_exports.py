"""Label Studio and CVAT exports, checked against each format's documented schema."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.conftest import shared_path
from tests.curate._data import CATS, ann

from cocoseg import masks
from cocoseg.cli.main import main
from cocoseg.curate.exports import cvat_coco, label_studio_tasks, read_ranking
from cocoseg.io import CocoDataset


def _prelabels() -> CocoDataset:
    images = [{"id": 5001, "file_name": "a/000000005001.jpg", "width": 200, "height": 100},
              {"id": 7, "file_name": "b/7.jpg", "width": 50, "height": 50}]
    rle = masks.encode(__import__("numpy").pad(__import__("numpy").ones((10, 20), "uint8"), ((5, 35), (5, 25))))
    anns = [ann(1, 5001, 1, [10, 20, 50, 40], score=0.9), ann(2, 5001, 2, [100, 0, 100, 100], score=0.5),
            {"id": 3, "image_id": 7, "category_id": 3, "bbox": [5, 5, 20, 10], "area": 200.0, "iscrowd": 0,
             "segmentation": {"size": rle["size"], "counts": rle["counts"]}, "score": 0.7}]
    return CocoDataset.from_dict({"images": images, "annotations": anns, "categories": CATS})


def check_label_studio(tasks: list) -> None:
    """Label Studio's import JSON with predictions (labelstud.io/guide/predictions, tags/polygonlabels)."""
    assert isinstance(tasks, list)
    for task in tasks:
        assert isinstance(task["data"]["image"], str) and isinstance(task["predictions"], list)
        for pred in task["predictions"]:
            assert isinstance(pred["result"], list) and 0 <= pred["score"] <= 1
            for r in pred["result"]:
                assert r["type"] == "polygonlabels" and {"id", "from_name", "to_name", "value"} <= set(r)
                assert isinstance(r["original_width"], int) and isinstance(r["original_height"], int)
                points = r["value"]["points"]
                assert len(points) >= 3 and all(len(p) == 2 and 0 <= p[0] <= 100 and 0 <= p[1] <= 100 for p in points)
                assert len(r["value"]["polygonlabels"]) == 1 and isinstance(r["value"]["polygonlabels"][0], str)


def check_cvat(data: dict) -> None:
    """CVAT's COCO 1.0: a COCO instances file with polygon annotations (checked by cocoseg's validator too)."""
    CocoDataset.from_dict(data)  # raises on any COCO problem
    assert {"licenses", "info", "categories", "images", "annotations"} <= set(data)
    assert [im["id"] for im in data["images"]] == list(range(1, len(data["images"]) + 1))
    assert all(".." not in im["file_name"] for im in data["images"])
    for a in data["annotations"]:
        assert a["iscrowd"] == 0 and isinstance(a["segmentation"], list) and all(len(p) >= 6 for p in a["segmentation"])
        assert a["attributes"] == {"occluded": False}


def test_label_studio_tasks_in_ranking_order() -> None:
    tasks = label_studio_tasks(_prelabels(), ranking=[7], image_prefix="/data/local-files/?d=")
    check_label_studio(tasks)
    assert [t["data"]["coco_image_id"] for t in tasks] == [7, 5001]
    assert tasks[0]["data"]["image"] == "/data/local-files/?d=b/7.jpg"
    first = tasks[1]["predictions"][0]["result"][0]
    assert first["value"]["points"] == [[5.0, 20.0], [30.0, 20.0], [30.0, 60.0], [5.0, 60.0]]  # percent of 200 x 100
    assert first["value"]["polygonlabels"] == ["cat"] and first["score"] == 0.9
    traced = tasks[0]["predictions"][0]["result"][0]["value"]["points"]  # the RLE's 20 x 10 rectangle at (5, 5)
    xs, ys = [p[0] for p in traced], [p[1] for p in traced]
    assert (min(xs), max(xs), min(ys), max(ys)) == (10.0, 50.0, 10.0, 30.0)


def test_cvat_coco() -> None:
    data = cvat_coco(_prelabels(), ranking=[7, 5001])
    check_cvat(data)
    assert [im["file_name"] for im in data["images"]] == ["b/7.jpg", "a/000000005001.jpg"]
    assert [a["image_id"] for a in data["annotations"]] == [1, 2, 2] and data["annotations"][0]["score"] == 0.7


def test_cli_and_ranking_files(tmp_path: Path) -> None:
    _prelabels().save(tmp_path / "pre.json")
    (tmp_path / "rank.json").write_text(json.dumps({"images": [{"image_id": 7, "score": 0.9}, {"image_id": 5001}]}))
    assert read_ranking(tmp_path / "rank.json") == [7, 5001]
    (tmp_path / "rank.csv").write_text("file,image_id\nb/7.jpg,7\n")
    assert read_ranking(tmp_path / "rank.csv") == [7]
    assert main(["prelabels", str(tmp_path / "pre.json"), "--to", "labelstudio", "-o", str(tmp_path / "ls.json"),
                 "--ranking", str(tmp_path / "rank.json")]) == 0
    check_label_studio(json.loads((tmp_path / "ls.json").read_text()))
    assert main(["prelabels", str(tmp_path / "pre.json"), "--to", "cvat", "-o", str(tmp_path / "cvat.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "cvat.zip") as zf:
        check_cvat(json.loads(zf.read("annotations/instances_default.json")))
    (tmp_path / "bad.json").write_text(json.dumps({"images": [{"score": 1}]}))
    assert main(["prelabels", str(tmp_path / "pre.json"), "--to", "cvat", "-o", str(tmp_path / "c.json"),
                 "--ranking", str(tmp_path / "bad.json")]) == 1
    assert main(["prelabels", str(tmp_path / "pre.json"), "--to", "nope", "-o", "x"]) == 2


def test_real_coco_subset_exports() -> None:
    gt = CocoDataset.load(shared_path("data", "coco-mini-val2017", "annotations", "instances_val2017.json"))
    check_label_studio(label_studio_tasks(gt))
    crowd_free = CocoDataset(gt.images, [a for a in gt.annotations if not a["iscrowd"]], gt.categories)
    data = cvat_coco(crowd_free)
    check_cvat(data)
    assert len(data["images"]) == len(gt.images) and len(data["annotations"]) == len(crowd_free.annotations)
