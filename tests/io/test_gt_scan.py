"""The GT file scanner (cocoseg.io.gt_scan): it takes a file only where validation passes it, and then
reads exactly the values the full loader would.

The property tested on clean files, hand-made edge cases and fuzzed ones: `scan_gt_file` is None, or
`validate_coco` of the parsed file has no error and every column equals the parsed records'.
"""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cocoseg.io.gt_scan import GtColumns, scan_gt_file
from cocoseg.io.validate import validate_coco
from cocoseg.native import NATIVE

from .test_fuzz import FUZZ, VALID, mutated_datasets

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the GT scanner is part of the compiled core")


def _clean() -> dict:
    """The validation corpus' valid file without keypoints (the scanner leaves keypoint files to the loader)."""
    data = copy.deepcopy(VALID)
    for a in data["annotations"]:
        a.pop("keypoints", None)
        a.pop("num_keypoints", None)
    return data


def _expected(data: dict) -> dict[str, Any]:
    """The columns as the parsed records hold them."""
    anns = data["annotations"]
    segms = [a.get("segmentation") for a in anns]
    polys = [s for s in segms if isinstance(s, list)]
    return {
        "image_ids": [im["id"] for im in data["images"]], "widths": [im["width"] for im in data["images"]],
        "heights": [im["height"] for im in data["images"]], "ann_id": [a["id"] for a in anns],
        "ann_image_id": [a["image_id"] for a in anns], "ann_category_id": [a["category_id"] for a in anns],
        "ann_iscrowd": [bool(a["iscrowd"]) for a in anns], "ann_area": [float(a["area"]) for a in anns],
        "ann_box": [[float(v) for v in a["bbox"]] for a in anns],
        "ann_parts": [len(s) if isinstance(s, list) else -1 if s is None else -2 for s in segms],
        "part_len": [len(p) for s in polys for p in s], "coords": [float(v) for s in polys for p in s for v in p],
        "other_segmentations": [s for s in segms if isinstance(s, dict)], "categories": data["categories"],
    }


def _assert_same(cols: GtColumns, data: dict) -> None:
    for name, want in _expected(data).items():
        got = getattr(cols, name)
        if isinstance(got, np.ndarray):
            assert got.tolist() == want, name
        else:
            assert got == want, name


def _write(tmp: Path, data: Any, name: str = "gt.json") -> Path:
    path = tmp / name
    path.write_text(json.dumps(data))
    return path


def _check(path: Path) -> GtColumns | None:
    """The property: taken only when validation passes, and then with the parsed file's values."""
    cols = scan_gt_file(path)
    if cols is not None:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
        assert not [p for p in validate_coco(data, "gt.json") if p.severity == "error"]
        _assert_same(cols, data)
    return cols


@pytest.mark.parametrize("large_spans", [0, 1 << 22])  # the records decoded by msgspec or by the json module
def test_a_clean_file_is_taken_with_its_rle_records(tmp_path: Path, large_spans: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cocoseg.io.gt_scan._LARGE_SPANS", large_spans)
    data = _clean()
    assert any(isinstance(a.get("segmentation"), dict) for a in data["annotations"])
    cols = _check(_write(tmp_path, data))
    assert cols is not None and len(cols.other_rows) == sum(isinstance(a["segmentation"], dict)
                                                             for a in data["annotations"])
    assert cols.image_sizes == {im["id"]: (im["height"], im["width"]) for im in data["images"]}


def test_unicode_names_extra_keys_bom_and_layout_are_taken(tmp_path: Path) -> None:
    data = _clean()
    data["categories"][0]["name"] = "caf\u00e9 \u732b"
    data["images"][0]["file_name"] = "dir/\u732b.jpg"
    data["images"][0]["extra"] = {"nested": [1, {"a": None}], "s": "\\\"x"}
    data["annotations"][0]["attributes"] = [{"occluded": True}, {"k": [1.5e-3, -2]}]
    data["licenses"] = [{"id": 1}]
    text = json.dumps(data, indent=2, ensure_ascii=False)
    path = tmp_path / "gt.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert _check(path) is not None


@pytest.mark.parametrize("edit", [
    lambda d: d["annotations"][0].update(id=1.0),                       # a float id
    lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]),  # duplicate annotation id
    lambda d: d["images"].append(dict(d["images"][0])),                 # duplicate image id
    lambda d: d["annotations"][0].update(image_id=999),                 # unknown image
    lambda d: d["annotations"][0].update(category_id=999),              # unknown category
    lambda d: d["annotations"][0].update(iscrowd=2),
    lambda d: d["annotations"][0].update(iscrowd=True),
    lambda d: d["annotations"][0].update(area=-1),
    lambda d: d["annotations"][0].update(bbox=[0, 0, 10000, 10]),       # beyond the image
    lambda d: d["annotations"][0].update(bbox=[0, 0, 10]),
    lambda d: d["annotations"][0].update(bbox=[0, 0, 10, 2**60]),       # an int beyond 2**52
    lambda d: d["annotations"][0].update(segmentation=None),
    lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5]]),
    lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5, 6, 7]]),
    lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5, 9000]]),  # far outside the image
    lambda d: d["annotations"][0].update(keypoints=[1, 2, 2]),
    lambda d: d["annotations"][0].pop("iscrowd"),
    lambda d: d["annotations"][0].pop("bbox"),
    lambda d: d["annotations"][2]["segmentation"].update(size=[1, 1]),  # an RLE of the wrong size
    lambda d: d["images"][0].update(width=0),
    lambda d: d["images"][0].update(file_name="../a.jpg"),
    lambda d: d["images"][0].update(file_name="/abs.jpg"),
    lambda d: d["images"][0].update(file_name="c:a.jpg"),
    lambda d: d["images"][0].update(file_name=""),
    lambda d: d["images"][0].pop("file_name"),
    lambda d: d["categories"].append(dict(d["categories"][0])),         # duplicate category id
    lambda d: d.pop("annotations"),
    lambda d: d.update(annotations={}),
])
def test_what_validation_must_judge_goes_to_the_loader(tmp_path: Path, edit: Any) -> None:
    data = _clean()
    edit(data)
    assert _check(_write(tmp_path, data)) is None


@pytest.mark.parametrize("edit", [
    lambda d: d["annotations"][0].update(id=0),                          # warnings only: the detailed checks
    lambda d: d["annotations"][0].update(segmentation=[]),
    lambda d: d["annotations"][0].update(bbox=[0, 0, 641.5, 10]),
    lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 630, 6]]),  # past the shorter side only
])
def test_records_the_screen_leaves_to_the_detailed_checks_are_taken_when_valid(tmp_path: Path, edit: Any) -> None:
    data = _clean()
    edit(data)
    assert _check(_write(tmp_path, data)) is not None


@pytest.mark.parametrize("text", [
    b'{"images": [], "annotations": [], "categories": [], "images": []}',      # a section twice
    b'{"images": [{"id": 1, "id": 2, "width": 4, "height": 4, "file_name": "a"}], "annotations": [], '
    b'"categories": []}',                                                       # a key twice
    b'{"images": [{"id": 1, "width": 4, "height": 4, "file_name": "a\\u002e"}], "annotations": [], '
    b'"categories": []}',                                                       # an escaped file name
    b'{"\\u0069mages": [], "annotations": [], "categories": []}',              # an escaped key
    b'{"images": [], "annotations": [], "categories": [], "x": NaN}',
    b'{"images": [], "annotations": [], "categories": [], "x": "\xff"}',       # not UTF-8
    b'{"images": [], "annotations": [], "categories": []} x',                  # trailing text
    b'{"images": [], "annotations": [], "categories": [],}',
    b'[]',
])
def test_files_the_standard_parser_must_read(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "gt.json"
    path.write_bytes(text)
    assert scan_gt_file(path) is None


def test_empty_sections_and_gzip(tmp_path: Path) -> None:
    empty = {"images": [], "annotations": [], "categories": []}
    assert _check(_write(tmp_path, empty)) is not None
    packed = tmp_path / "gt.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(_clean()).encode()))
    assert scan_gt_file(packed) is None  # the loader decompresses (and bounds) it


@FUZZ
@given(mutated_datasets())
def test_fuzzed_files_are_taken_only_when_valid(data: dict) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for a in data.get("annotations", []) if isinstance(data.get("annotations"), list) else []:
            if isinstance(a, dict) and "keypoints" in a and isinstance(a.get("keypoints"), list):
                del a["keypoints"]  # give the fuzz a chance to reach the scanner's other rules
        try:
            text = json.dumps(data, allow_nan=True)
        except (TypeError, ValueError):
            return
        path = Path(tmp) / "gt.json"
        path.write_text(text)
        _check(path)


def _many(n: int, tricky: bool) -> dict:
    """n annotations over 50 images; `tricky`: strings and nested objects that look like record starts."""
    rng = np.random.default_rng(0)
    images = [{"id": i + 1, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(50)]
    anns = []
    for k in range(n):
        x, y = (float(v) for v in rng.uniform(0, 300, 2).round(2))
        a = {"id": k + 1, "image_id": int(k % 50) + 1, "category_id": 1 + k % 2, "iscrowd": 0, "area": 100.0,
             "bbox": [x, y, 10.5, 10], "segmentation": [[x, y, x + 10, y, x + 10, y + 10]]}
        if tricky and k % 7 == 0:
            a["note"] = "}, {\"id\": 5}"
            a["parts"] = [{"a": 1}, {"b": [{"c": 2}]}]
        if k % 11 == 0:
            a["segmentation"] = {"size": [480, 640], "counts": [10, 20, 307170]}
            a["iscrowd"] = 1
        anns.append(a)
    return {"annotations": anns, "images": images, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}


@pytest.mark.parametrize("tricky", [False, True])
def test_threads_read_what_one_pass_reads(tmp_path: Path, tricky: bool) -> None:
    raw = json.dumps(_many(3000, tricky), separators=(",", ":") if tricky else (", ", ": ")).encode()
    one = NATIVE.scan_gt(raw, 1)
    assert one is not None
    for threads in (2, 3, 8):
        assert NATIVE.scan_gt(raw, threads) == one
    path = tmp_path / "gt.json"
    path.write_bytes(raw)
    assert _check(path) is not None


@given(st.lists(st.one_of(st.none(), st.lists(st.lists(st.sampled_from([-101.0, -100.0, 0.0, 3.5, 200.0, 201.0]),
                                                         max_size=9), max_size=4)), max_size=12))
def test_the_vectorized_polygon_screen_is_the_per_coordinate_rule(rows: list) -> None:
    from cocoseg.io.annotation_screen import part_extremes, polygons_pass
    from cocoseg.masks.polygons import POLYGON_TOLERANCE as t

    parts = np.array([-1 if r is None else len(r) for r in rows], np.int64)
    part_len = np.array([len(p) for r in rows if r is not None for p in r], np.int64)
    coords = np.array([v for r in rows if r is not None for p in r for v in p], np.float64)
    side = np.full(len(rows), 100.0)
    want = [r is None or all(len(p) >= 6 and len(p) % 2 == 0 and all(-t * 100 <= v <= (1 + t) * 100 for v in p)
                             for p in r) for r in rows]
    assert polygons_pass(parts, part_len, *part_extremes(part_len, coords), side).tolist() == want
