"""`CocoDataset("x.json")` reads the file (the pycocotools habit), never the characters of the path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.io import CocoDataset


def _write(path: Path) -> Path:
    data = {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4,
                             "iscrowd": 0, "segmentation": [[1, 1, 3, 1, 3, 3, 1, 3]]}],
            "categories": [{"id": 1, "name": "thing"}]}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("as_path", [str, Path])
def test_a_path_loads_the_file(tmp_path: Path, as_path) -> None:
    ds = CocoDataset(as_path(_write(tmp_path / "x.json")))
    assert len(ds.images) == 1 and len(ds.annotations) == 1 and ds.categories[0]["name"] == "thing"
    assert ds.source == "x.json" and len(ds.anns_for_image(1)) == 1


def test_a_missing_path_is_an_error_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="absent.json"):
        CocoDataset(str(tmp_path / "absent.json"))


def test_other_wrong_types_point_to_the_constructors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="from_dict"):
        CocoDataset({"images": []})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="CocoDataset.load"):
        CocoDataset(str(_write(tmp_path / "x.json")), [])
