"""`convert ann.json out --to yolo --images wrong/` (issue 14 item 20): every image missing is an error
before anything is written; the split is named after the annotation file, not the image folder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg.cli.main import main


def _dataset(tmp_path: Path) -> Path:
    cv2 = pytest.importorskip("cv2")
    (tmp_path / "pics").mkdir()
    cv2.imwrite(str(tmp_path / "pics" / "a.png"), np.zeros((16, 16, 3), np.uint8))
    data = {"images": [{"id": 1, "file_name": "a.png", "height": 16, "width": 16}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 8], "area": 64,
                             "iscrowd": 0, "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]]}],
            "categories": [{"id": 1, "name": "thing"}]}
    path = tmp_path / "instances_mine.json"
    path.write_text(json.dumps(data))
    return path


def test_every_image_missing_exits_1_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ann = _dataset(tmp_path)
    (tmp_path / "wrong").mkdir()
    assert main(["convert", str(ann), str(tmp_path / "out"), "--to", "yolo", "--images", str(tmp_path / "wrong")]) == 1
    err = capsys.readouterr().err
    assert "none of its 1 images is under" in err and "wrong" in err and "--images" in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_the_split_is_named_after_the_annotation_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ann = _dataset(tmp_path)
    assert main(["convert", str(ann), str(tmp_path / "out"), "--to", "yolo", "--images", str(tmp_path / "pics")]) == 0
    assert (tmp_path / "out" / "labels" / "mine" / "a.txt").is_file()
    assert (tmp_path / "out" / "images" / "mine" / "a.png").exists()
