"""Results loading: pycocotools' loadRes rules, the compiled JSON scanner equal to json.load, clear errors."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from cocoseg.errors import DataError
from cocoseg.io.results import load_results, results_from_records, scan_results_bytes
from cocoseg.masks.packed_rle import PackedRles

COLUMNS = ("image_ids", "category_ids", "scores", "boxes_xywh", "areas")


def _assert_equal(a, b) -> None:
    assert a.kind == b.kind and len(a) == len(b)
    for name in COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    if b.segmentations is not None:
        assert [s if s is None else dict(s) for s in a.segmentations] == [s if s is None else dict(s) for s in b.segmentations]


def _both(records: list, text: str | None = None):
    raw = (text if text is not None else json.dumps(records)).encode()
    return scan_results_bytes(raw, "r.json"), results_from_records(json.loads(raw), None, "r.json")


@pytest.mark.parametrize("name", ["fakebbox", "fakesegm"])
def test_scanner_equals_json_load_on_real_results(shared: Path, name: str) -> None:
    path = shared / "data" / "cocoapi-val2014-fake100" / "results" / f"instances_val2014_{name}100_results.json"
    fast, ref = _both([], path.read_text())
    assert fast is not None
    _assert_equal(fast, ref)


def test_scanner_numbers_escapes_and_unknown_fields() -> None:
    rng = np.random.default_rng(0)
    records = []
    for i in range(300):
        box = rng.uniform(0, 500, 4) * 10.0 ** rng.integers(-8, 4)
        records.append({"image_id": int(rng.integers(1, 2**40)), "category_id": -3 + i % 7, "score": float(rng.random()),
                        "bbox": [float(v) for v in box] if i % 3 else [int(v) for v in box],
                        "id": i, "extra": {"nested": [1, -2.5e-3, None, True, False, "x\\u00e9\"\\\\", {}, []]}})
    text = json.dumps(records, indent=2).replace('"score"', '\n "score"')
    fast, ref = _both(records, text)
    assert fast is not None
    _assert_equal(fast, ref)
    odd = '[ {"bbox":[1E2, -0.0, 1e-400, 12345678901234567890.5] ,"score":1,"image_id":-0,"category_id":3} ]'
    fast, ref = _both([], odd)
    _assert_equal(fast, ref)


def test_scanner_rle_counts_with_backslashes() -> None:
    bitmaps = np.zeros((40, 30, 20), np.uint8)
    rng = np.random.default_rng(1)
    for k in range(20):
        bitmaps[:, :, k] = rng.random((40, 30)) < 0.3 + k / 40
    rles = coco_mask.encode(np.asfortranarray(bitmaps))
    counts = [r["counts"].decode() for r in rles]
    assert any("\\" in c for c in counts)  # ASCII 92 is part of the RLE alphabet
    records = [{"image_id": 1, "category_id": 1, "segmentation": {"counts": c, "size": [40, 30]}, "score": 0.5} for c in counts]
    fast, ref = _both(records)
    _assert_equal(fast, ref)
    np.testing.assert_array_equal(fast.areas, coco_mask.area(rles))
    np.testing.assert_array_equal(fast.boxes_xywh, coco_mask.toBbox(rles))


def test_unsupported_layouts_fall_back_to_the_full_parser(tmp_path: Path) -> None:
    kps = [{"image_id": 1, "category_id": 1, "keypoints": [1, 2, 2, 5, 9, 1], "score": 0.5}]
    assert scan_results_bytes(json.dumps(kps).encode()) is None
    res = load_results(_write(tmp_path / "k.json", kps))
    assert res.kind == "keypoints" and res.areas[0] == 4 * 7 and res.boxes_xywh[0].tolist() == [1, 2, 4, 7]
    floats = [{"image_id": 1.0, "category_id": 2, "bbox": [0, 0, 2, 3], "score": 0.5}]
    assert load_results(_write(tmp_path / "f.json", floats)).image_ids.tolist() == [1]
    gz = tmp_path / "r.json.gz"
    gz.write_bytes(gzip.compress(json.dumps(floats).encode()))
    assert load_results(gz).areas.tolist() == [6.0]
    assert len(load_results(_write(tmp_path / "e.json", []))) == 0


def test_load_res_rules() -> None:
    rle = coco_mask.encode(np.asfortranarray(np.pad(np.ones((5, 7), np.uint8), 3)))
    rle = {"size": rle["size"], "counts": rle["counts"].decode()}
    both = results_from_records([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "segmentation": rle, "score": 1}])
    assert both.kind == "bbox" and both.areas[0] == 4.0  # the first record's bbox decides: area w*h
    segm = results_from_records([{"image_id": 1, "category_id": 1, "segmentation": rle, "score": 1},
                                 {"image_id": 1, "category_id": 1, "segmentation": rle, "bbox": [9, 9, 1, 1], "score": 1}])
    assert segm.kind == "segm" and segm.areas.tolist() == [35.0, 35.0]
    assert segm.boxes_xywh.tolist() == [[3, 3, 7, 5], [9, 9, 1, 1]]  # given bbox kept, else from the mask
    assert segm.ids.tolist() == [1, 2]
    assert isinstance(segm.segmentations, PackedRles) and segm.segmentations[0] == rle
    box = results_from_records([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 3], "score": 1}])
    assert box.segmentation(0) == [[1, 1, 1, 4, 3, 4, 3, 1]]  # loadRes' box polygon


@pytest.mark.parametrize("records, message", [
    ([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}, {"image_id": 1, "category_id": 1, "score": 1}],
     "result 1: bbox missing"),
    ([{"image_id": "a", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}], "result 0: image_id must be an integer"),
    ([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": None}], "result 0: score must be a finite number"),
    ([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}], "result 0: score missing"),
    ([{"image_id": 1, "category_id": 1, "score": 1}], "result 0: has no bbox, segmentation or keypoints"),
    ([{"image_id": 1, "category_id": 1, "segmentation": {"size": [2, 2]}, "score": 1}], "result 0: segmentation"),
    ({"image_id": 1}, "expected a JSON list"),
])
def test_malformed_records_are_named(tmp_path: Path, records, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_results(_write(tmp_path / "bad.json", records))


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"image_id": 1, "category_id": 1,\n "bbox": [0, 0, 1')
    with pytest.raises(DataError, match="line 2, column"):
        load_results(path)


def test_packed_area_and_box_equal_pycocotools() -> None:
    rng = np.random.default_rng(2)
    masks = np.zeros((17, 13, 60), np.uint8)
    for k in range(60):
        kind = k % 3
        if kind == 0:
            masks[:, :, k] = rng.random((17, 13)) < rng.random()
        elif kind == 1:
            masks[rng.integers(0, 17):, rng.integers(0, 13):, k] = 1
        else:  # one run crossing a column boundary
            masks[15:, 3, k] = 1
            masks[:2, 4, k] = 1
    rles = coco_mask.encode(np.asfortranarray(masks))
    for h, w in [(1, 7), (3, 3), (640, 480), (65535, 3)]:  # zero-length runs, huge sides
        for _ in range(30):
            cnts = rng.integers(0, max(2, h * w // 6), int(rng.integers(1, 14))).tolist()
            if sum(cnts) <= h * w:
                rles.append(coco_mask.frPyObjects({"size": [h, w], "counts": [*cnts, h * w - sum(cnts)]}, h, w))
    rles.append(coco_mask.frPyObjects({"size": [5, 5], "counts": [25, 0]}, 5, 5))  # no foreground: uint wrap
    packed = PackedRles.from_rles(rles)
    np.testing.assert_array_equal(packed.areas(), coco_mask.area(rles))
    np.testing.assert_array_equal(packed.boxes(), coco_mask.toBbox(rles))
    assert packed.take(np.array([5, 2]))[1]["counts"] == rles[2]["counts"].decode()


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_columns_give_the_same_results_as_records(shared: Path) -> None:
    from cocoseg.eval import evaluate
    from cocoseg.io.results import results_from_arrays

    root = shared / "data" / "cocoapi-val2014-fake100"
    gt = root / "annotations" / "instances_val2014_100.json"
    for kind in ("bbox", "segm"):
        res = load_results(root / "results" / f"instances_val2014_fake{kind}100_results.json")
        geometry = {"boxes_xywh": res.boxes_xywh} if kind == "bbox" else {"masks": list(res.segmentations)}
        cols = results_from_arrays(res.image_ids, res.category_ids, res.scores, **geometry)
        _assert_equal(cols, res)
        mapping = {"image_id": res.image_ids, "category_id": res.category_ids, "score": res.scores, **geometry}
        np.testing.assert_array_equal(evaluate(gt, mapping, kind).stats, evaluate(gt, res, kind).stats)
    with pytest.raises(DataError, match="one value per detection"):
        results_from_arrays([1, 2], [1], [0.5, 0.5], boxes_xywh=np.zeros((2, 4)))


def test_uncompressed_rle_results_are_held_to_the_rle_rule(tmp_path: Path) -> None:
    """A negative run or runs not covering the mask: one clear error naming the result (was an OverflowError)."""
    good = {"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [2, 2], "counts": [1, 3]}}
    assert load_results(_write(tmp_path / "ok.json", [good])).areas.tolist() == [3.0]
    for counts, message in (([-1], r"result 1: segmentation counts\[0\] must be a non-negative integer"),
                            ([1, 2], "result 1: segmentation counts runs sum to 3; they must cover the 2x2 mask")):
        bad = dict(good, segmentation={"size": [2, 2], "counts": counts})
        with pytest.raises(DataError, match=message):
            load_results(_write(tmp_path / "r.json", [good, bad]))
