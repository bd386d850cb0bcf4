"""Dataset YAMLs: Ultralytics' forms as they are, cocoseg's COCO-JSON splits, path rules, clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from cocoseg.convert import load_split
from cocoseg.convert.yolo_read import label_path_for, list_images
from cocoseg.datasets import load_data_yaml
from cocoseg.datasets.dataset_yaml import DATASETS_ENV, coco80, packaged_yamls
from cocoseg.errors import CocosegError, DataError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_ultralytics_yamls_as_they_are(coco128: Path, coco8: Path) -> None:
    cfg = load_data_yaml(coco128 / "coco128-seg.yaml")
    assert cfg.nc == 80 and cfg.names[0] == "person" and cfg.names[79] == "toothbrush"
    assert cfg.splits["train"].images == (coco128.resolve() / "images" / "train2017",)
    assert cfg.download == "https://ultralytics.com/assets/coco128-seg.zip"
    assert cfg.category_map.category_id(79) == 90  # COCO's ids for COCO's 80 names
    cfg8 = load_data_yaml(coco8 / "coco8.yaml")
    assert len(list_images(cfg8.splits["val"])) == 4


def test_packaged_yamls_resolve_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path / "ds"))
    assert {"coco-seg.yaml", "synth-seg.yaml"} <= set(packaged_yamls())
    coco = load_data_yaml("coco-seg.yaml")
    assert coco.packaged and coco.root == (tmp_path / "ds" / "coco").resolve()
    assert coco.splits["val"].images == (coco.root / "val2017.txt",)
    names, ids = coco80()
    assert len(names) == 80 and len(ids) == 80 and ids[-1] == 90 and 12 not in ids
    synth = load_data_yaml("synth-seg")
    assert synth.splits["train"].format == "coco" and synth.synth["num_images"] > 0
    assert [synth.names[i] for i in range(synth.nc)][-1] == "person"
    with pytest.raises(DataError, match="shipped with cocoseg: coco-seg.yaml"):
        load_data_yaml("nope.yaml")


def test_path_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path / "datasets"))
    (tmp_path / "datasets" / "d1" / "images" / "train").mkdir(parents=True)
    (tmp_path / "here" / "d2" / "images").mkdir(parents=True)
    text = "path: {p}\ntrain: images/train\nval: images/train\nnames: [a]\n"
    # 3a. relative path beside the YAML wins
    assert load_data_yaml(_write(tmp_path / "here" / "x.yaml", text.format(p="d2"))).root == (tmp_path / "here" / "d2")
    # 3b. else under the datasets folder
    assert load_data_yaml(_write(tmp_path / "here" / "y.yaml", text.format(p="d1"))).root == \
        (tmp_path / "datasets" / "d1").resolve()
    # 1. no path: the YAML's folder
    assert load_data_yaml(_write(tmp_path / "z" / "z.yaml", "train: a\nval: a\nnames: [a]\n")).root == \
        (tmp_path / "z").resolve()
    # absent everywhere: where it would be created
    assert load_data_yaml(_write(tmp_path / "w.yaml", text.format(p="new"))).root == (tmp_path / "datasets" / "new")


def test_split_forms_txt_lists_lists_and_mappings(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "images" / sub).mkdir(parents=True)
        (tmp_path / "images" / sub / f"{sub}1.jpg").write_bytes(b"")
    _write(tmp_path / "list.txt", "./images/a/a1.jpg\nimages/b/b1.jpg\n\n")
    cfg = load_data_yaml(_write(tmp_path / "d.yaml", "train: [images/a, images/b]\nval: list.txt\n"
                                                     "test: {images: images/a, annotations: ann.json}\n"
                                                     "names: {0: x, 1: y}\nnc: 2\n"))
    assert [p.name for p in list_images(cfg.splits["train"])] == ["a1.jpg", "b1.jpg"]
    assert [p.name for p in list_images(cfg.splits["val"])] == ["a1.jpg", "b1.jpg"]
    assert cfg.splits["test"].format == "coco" and cfg.splits["test"].annotations == tmp_path / "ann.json"
    assert label_path_for(tmp_path / "images" / "a" / "a1.jpg") == tmp_path / "labels" / "a" / "a1.txt"
    with pytest.raises(DataError, match="annotations file does not exist"):
        load_split(cfg, "test")
    with pytest.raises(CocosegError, match="no split 'foo'"):
        load_split(cfg, "foo")


@pytest.mark.parametrize("text, message", [
    ("train: a\nval: a\nnames: [x, y]\nnc: 3\n", "nc is 3 but 'names' has 2 entries"),
    ("train: a\nval: a\n", "names missing"),
    ("names: [x]\n", "no split given"),
    ("train: a\nval: a\nnames: {0: x, 2: y}\n", "indices must be 0..1 without gaps"),
    ("train: a\nval: a\nnames: [x, x]\n", "duplicate class names"),
    ("train: a\nval: a\nnames: [x]\ncategory_ids: [1, 2]\n", "category_ids must be 1 distinct integers"),
    ("train: [a\nval: b\n", "invalid YAML at line"),
    ("- a\n- b\n", "expected a mapping"),
    ("train: {images: a}\nval: a\nnames: [x]\n", "needs 'images' (folder) and 'annotations'"),
])
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(DataError) as err:
        load_data_yaml(path)
    assert message in str(err.value) and "bad.yaml" in str(err.value)


def test_missing_split_folder_is_a_clear_error(tmp_path: Path) -> None:
    cfg = load_data_yaml(_write(tmp_path / "d.yaml", "train: images/train\nval: images/val\nnames: [a]\n"))
    assert cfg.missing() == [tmp_path / "images" / "train", tmp_path / "images" / "val"]
    with pytest.raises(DataError, match="images/train: train does not exist"):
        load_split(cfg, "train")
