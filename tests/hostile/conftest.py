"""Helpers of the hostile-input suite: tiny COCO files built in tmp_path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def _tiny_coco(tmp_path: Path, file_name: str = "a.jpg", segmentation=None, **image) -> Path:
    seg = segmentation if segmentation is not None else [[1, 1, 8, 1, 8, 8, 1, 8]]
    data = {"images": [{"id": 1, "width": 10, "height": 10, "file_name": file_name, **image}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": seg,
                             "area": 49.0, "bbox": [1, 1, 7, 7], "iscrowd": 0}],
            "categories": [{"id": 1, "name": "thing"}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def tiny_coco():
    """tiny_coco(tmp_path, file_name=..., segmentation=..., **image fields) -> path of a one-image COCO JSON."""
    return _tiny_coco
