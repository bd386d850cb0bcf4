"""A COCO-JSON split YAML without `names` takes them from the JSON's categories (issue 14 item 19)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.convert import load_split
from cocoseg.datasets import load_data_yaml
from cocoseg.errors import DataError

CATS = [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}]  # not in id order in the file


def _dataset(tmp_path: Path, yaml_text: str) -> Path:
    (tmp_path / "images").mkdir()
    data = {"images": [{"id": 1, "file_name": "a.jpg", "height": 8, "width": 8}], "annotations": [],
            "categories": CATS}
    (tmp_path / "val.json").write_text(json.dumps(data))
    (tmp_path / "data.yaml").write_text(yaml_text)
    return tmp_path / "data.yaml"


def test_names_and_ids_come_from_the_json(tmp_path: Path) -> None:
    cfg = load_data_yaml(_dataset(tmp_path, "val: {images: images, annotations: val.json}\n"))
    assert cfg.names == {0: "dog", 1: "cat"}  # sorted by id: the label order
    assert cfg.category_map.category_id(0) == 3 and cfg.category_map.category_id(1) == 7
    ds, _ = load_split(cfg, "val")
    assert len(ds.images) == 1


def test_given_names_still_win_and_are_checked(tmp_path: Path) -> None:
    cfg = load_data_yaml(_dataset(tmp_path, "val: {images: images, annotations: val.json}\nnames: [dog, cat]\n"))
    assert cfg.names == {0: "dog", 1: "cat"}


def test_a_missing_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("val: {images: images, annotations: absent.json}\n")
    with pytest.raises(DataError, match="absent.json"):
        load_data_yaml(tmp_path / "data.yaml")
