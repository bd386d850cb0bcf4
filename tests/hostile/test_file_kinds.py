"""Issue 16.10: a COCO captions or panoptic file is named as such (cocoseg reads instance files) in load,
validate, eval and convert, instead of a list of missing fields."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.cli.main import main

IMAGE = {"id": 1, "width": 10, "height": 10, "file_name": "a.jpg"}
CAPTIONS = {"info": {}, "images": [IMAGE], "annotations": [{"id": 1, "image_id": 1, "caption": "a cat on a mat"}]}
PANOPTIC = {"images": [IMAGE], "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": [
    {"id": 5, "category_id": 1, "iscrowd": 0, "bbox": [1, 1, 2, 2], "area": 4}]}],
    "categories": [{"id": 1, "name": "x", "isthing": 1, "supercategory": "x"}]}


@pytest.mark.parametrize("kind, data", [("captions", CAPTIONS), ("panoptic", PANOPTIC)])
@pytest.mark.parametrize("command", ["validate", "stats", "eval", "convert", "load"])
def test_captions_and_panoptic_files_are_named(tmp_path: Path, capsys, kind: str, data: dict, command: str) -> None:
    path = tmp_path / f"{kind}_val2017.json"
    path.write_text(json.dumps(data))
    (tmp_path / "imgs").mkdir()
    want = f"this is a COCO {kind} file"
    if command == "load":
        from cocoseg.errors import DataError
        from cocoseg.io import CocoDataset

        with pytest.raises(DataError, match=want) as info:
            CocoDataset.load(path)
        assert len(str(info.value).splitlines()) == 1
        return
    results = tmp_path / "r.json"
    results.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5}]))
    argv = {"validate": ["validate", str(path)], "stats": ["stats", str(path)],
            "eval": ["eval", str(path), str(results)],
            "convert": ["convert", str(path), str(tmp_path / "out"), "--to", "yolo", "--images", str(tmp_path / "imgs")]}
    assert main(argv[command]) == 1
    captured = capsys.readouterr()
    lines = [line for line in (captured.err + captured.out).splitlines() if want in line]
    assert len(lines) == 1 and "instances_*.json" in lines[0]
    assert "category_id is missing" not in captured.err + captured.out


def test_captioning_results_are_named(tmp_path: Path, tiny_coco, capsys) -> None:
    results = tmp_path / "captions_results.json"
    results.write_text(json.dumps([{"image_id": 1, "caption": "a cat"}]))
    assert main(["eval", str(tiny_coco(tmp_path)), str(results)]) == 1
    assert "these are captioning results" in capsys.readouterr().err
