"""The dataset object: load/save round trips, indexes, queries, edits, merge and split invariants."""
from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from cocoseg.errors import CocosegError, DataError
from cocoseg.io import CategoryMap, CocoDataset, merge_datasets, split_counts

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def tiny() -> dict:
    return {
        "info": {"description": "tiny"},
        "licenses": [{"id": 1, "name": "x"}],
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 20, "height": 10, "my_key": "kept"},
            {"id": 2, "file_name": "b.jpg", "width": 20, "height": 10},
            {"id": 3, "file_name": "c.jpg", "width": 20, "height": 10},
        ],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 5, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0,
             "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]], "custom": {"score": 0.5}},
            {"id": 11, "image_id": 1, "category_id": 7, "bbox": [5, 5, 2, 2], "area": 4, "iscrowd": 1,
             "segmentation": {"size": [10, 20], "counts": [55, 2, 8, 2, 133]}},
            {"id": 12, "image_id": 2, "category_id": 5, "bbox": [1, 1, 8, 8], "area": 64, "iscrowd": 0,
             "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]},
        ],
        "categories": [{"id": 7, "name": "dog", "supercategory": "animal"}, {"id": 5, "name": "cat"}],
        "my_top_level": [1, 2, 3],
    }


def test_load_save_round_trip_keeps_everything(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps(tiny()))
    ds = CocoDataset.load(src, validate=False)
    out = ds.save(tmp_path / "out.json")
    assert json.loads(out.read_text()) == tiny()
    assert "\n" not in out.read_text()  # compact by default
    gz = ds.save(tmp_path / "out.json.gz", indent=2)
    assert json.loads(gzip.decompress(gz.read_bytes())) == tiny()
    assert CocoDataset.load(gz, validate=False).to_dict() == tiny()


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    ds = CocoDataset.from_dict(tiny(), validate=False)
    target = tmp_path / "x.json"
    target.write_text("old")
    ds.annotations[0]["bad"] = float("nan")  # not JSON-serializable with allow_nan=False
    with pytest.raises(DataError, match="x.json: cannot write"):
        ds.save(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    fresh = CocoDataset.from_dict(tiny(), validate=False).save(tmp_path / "new.json")
    assert fresh.stat().st_mode & 0o044 == 0o044  # readable by group and others, not mkstemp's 0600


def test_indexes_and_queries() -> None:
    ds = CocoDataset.from_dict(tiny(), validate=False)
    assert ds.image(2)["file_name"] == "b.jpg"
    assert ds.category_by_name("dog")["id"] == 7
    assert [a["id"] for a in ds.anns_for_image(1)] == [10, 11]
    assert ds.anns_for_image(3) == []
    assert [a["id"] for a in ds.anns_for_category(5)] == [10, 12]
    assert [a["id"] for a in ds.query(category_names=["cat"], area_range=(0, 20))] == [10]
    assert [a["id"] for a in ds.query(iscrowd=True)] == [11]
    assert [a["id"] for a in ds.query(image_ids=[2, 1], category_ids=[5])] == [12, 10]
    assert ds.images_with(category_names=["cat"]) == [1, 2]
    assert ds.category_ids == [5, 7]
    cmap = ds.category_map
    assert cmap.label(5) == 0 and cmap.category_id(1) == 7 and cmap.label_names == {0: "cat", 1: "dog"}
    with pytest.raises(KeyError, match="no image with id 99"):
        ds.image(99)


def test_to_pycocotools_builds_from_memory() -> None:
    ds = CocoDataset.from_dict(tiny(), validate=False)
    coco = ds.to_pycocotools()
    assert sorted(coco.getAnnIds()) == [10, 11, 12]
    assert coco.getAnnIds(imgIds=[1], catIds=[5]) == [10]


def test_edits_fill_geometry_and_reject_bad_references() -> None:
    ds = CocoDataset.from_dict(tiny(), validate=False)
    img = ds.add_image({"file_name": "d.jpg", "width": 30, "height": 20})
    assert img == 4
    ann = ds.add_annotation({"image_id": img, "category_id": 7, "segmentation": [[2, 2, 12, 2, 12, 8, 2, 8]]})
    rec = ds.annotation(ann)
    assert ann == 13 and rec["iscrowd"] == 0 and rec["bbox"] == [2.0, 2.0, 10.0, 6.0] and rec["area"] == 60.0
    assert [a["id"] for a in ds.anns_for_image(img)] == [13]  # index refreshed
    with pytest.raises(CocosegError, match="unknown image_id"):
        ds.add_annotation({"image_id": 99, "category_id": 7, "bbox": [0, 0, 1, 1]})
    with pytest.raises(CocosegError, match="already exists"):
        ds.add_category("dog")
    assert ds.remove_images([1]) == 1
    assert {a["id"] for a in ds.annotations} == {12, 13}
    assert ds.remove_annotations([12]) == 1 and ds.anns_for_category(5) == []


def test_split_keeps_every_annotation_exactly_once() -> None:
    ds = CocoDataset.from_dict(tiny(), validate=False)
    parts = ds.split((0.34, 0.33, 0.33), seed=3)
    assert sorted(len(p.images) for p in parts) == [1, 1, 1]
    ids = Counter(a["id"] for p in parts for a in p.annotations)
    assert ids == Counter(a["id"] for a in ds.annotations)
    again = ds.split((0.34, 0.33, 0.33), seed=3)
    assert [p.image_ids for p in parts] == [p.image_ids for p in again]
    assert split_counts(10, (0.8, 0.2)) == [8, 2] and split_counts(7, (1, 1, 1)) == [3, 2, 2]
    with pytest.raises(CocosegError):
        split_counts(5, (0, 0))


def test_merge_remaps_ids_and_matches_categories_by_name() -> None:
    a = CocoDataset.from_dict(tiny(), validate=False)
    other = tiny()
    other["categories"] = [{"id": 1, "name": "dog"}, {"id": 5, "name": "bird"}]
    for ann in other["annotations"]:
        ann["category_id"] = {5: 1, 7: 5}[ann["category_id"]]
    b = CocoDataset.from_dict(other, validate=False)
    m = merge_datasets(a, b)
    assert len(m.images) == 6 and len(m.annotations) == 6
    assert len({im["id"] for im in m.images}) == 6 and len({x["id"] for x in m.annotations}) == 6
    names = {c["id"]: c["name"] for c in m.categories}
    assert sorted(names.values()) == ["bird", "cat", "dog"]
    # every annotation of b kept once, pointing at the right image and renamed category
    b_names = Counter(names[x["category_id"]] for x in m.annotations[3:])
    assert b_names == Counter({"dog": 2, "bird": 1})
    for x in m.annotations[3:]:
        assert m.image(x["image_id"])["file_name"] in {"a.jpg", "b.jpg"}
    assert a.to_dict() == tiny()  # inputs untouched


def test_category_map_from_names() -> None:
    cmap = CategoryMap.from_names(["a", "b"], first_id=0)
    assert cmap.category_ids == (0, 1) and cmap.label(1) == 1
    assert CategoryMap.from_names({0: "x", 2: "z"}).category_ids == (1, 3)


def test_real_file_round_trip_and_stats(tmp_path: Path) -> None:
    path = SHARED / "coco128-seg" / "annotations" / "instances_train2017.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the project in CI and dev)")
    ds = CocoDataset.load(path)
    original = json.loads(path.read_text())
    ds.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == original
    s = ds.stats()
    # the counts recorded in ../shared/data/coco128-seg/SOURCE.txt
    assert (s.images, s.annotations, s.polygons, s.multi_part_polygons, s.rle, s.crowd) == (128, 939, 929, 82, 10, 10)
    assert s.images_without_annotations == 2 and sum(1 for v in s.per_category.values() if v) == 71
    parts = ds.split((0.7, 0.3), seed=0)
    merged = parts[0].merge(parts[1])
    key = lambda x: (x["image_id"], json.dumps(x["segmentation"], sort_keys=True))  # noqa: E731
    assert sorted(map(key, merged.annotations)) == sorted(map(key, copy.deepcopy(ds.annotations)))
