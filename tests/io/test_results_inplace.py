"""Results files scanned in place (counts unescaped over the file's bytes), the one-pass RLE check, and the
scanner's fast number path: each equal to json.load and the validator's rule, in C and in numba alike."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from cocoseg.errors import DataError
from cocoseg.io import results_json
from cocoseg.io.results import load_results, results_from_records, scan_results_bytes
from cocoseg.io.validate_records import rle_problems
from cocoseg.masks import packed_rle
from cocoseg.masks.packed_rle import PackedRles, rle_stats


def _masks(n: int, h: int = 40, w: int = 30, seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    bitmaps = np.asfortranarray((rng.random((h, w, n)) < np.linspace(0.05, 0.9, n)).astype(np.uint8))
    return [{"size": r["size"], "counts": r["counts"].decode()} for r in coco_mask.encode(bitmaps)]


def _same(a, b) -> None:
    assert a.kind == b.kind and len(a) == len(b)
    for name in ("image_ids", "category_ids", "scores", "boxes_xywh", "areas"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    assert list(a.segmentations or []) == list(b.segmentations or [])


def _records(rles: list[dict]) -> list[dict]:
    return [{"image_id": 1 + i % 3, "category_id": 2, "note": {"k": ["\\u00e9", None]} if i % 4 == 0 else 1,
             "segmentation": dict(r, extra=[1, 2]) if i % 5 == 0 else r, "score": 1.0 / (i + 3)}
            for i, r in enumerate(rles)]


def test_a_file_scanned_in_place_equals_json_load(tmp_path: Path, scan_core: str) -> None:
    rles = _masks(40)
    assert any("\\" in r["counts"] for r in rles)  # escaped in the file: the in-place copy shrinks
    records = _records(rles)
    text = json.dumps(records, indent=1)
    ref = results_from_records(json.loads(text), None, "r.json")
    path = tmp_path / "r.json"
    for raw in (text.encode(), b"\xef\xbb\xbf" + text.encode()):  # a BOM: a view that cannot be shrunk
        path.write_bytes(raw)
        _same(load_results(path), ref)
    gz = tmp_path / "r.json.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    _same(load_results(gz), ref)
    escaped = text.replace('"counts": "', '"counts": "\\/')  # \/ is '/', outside the RLE alphabet: refused
    path.write_text(escaped)
    with pytest.raises(DataError, match="result 0.*counts"):
        load_results(path)


def test_a_layout_refused_after_counts_were_written_in_place_is_read_anew(tmp_path: Path, scan_core: str) -> None:
    records = _records(_masks(30))
    records.append({"image_id": 1, "category_id": 2, "score": 0.5, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records))
    sizes = {1: (40, 30), 2: (40, 30), 3: (40, 30)}
    _same(load_results(path, sizes), results_from_records(records, sizes, "r.json"))


def test_rle_sizes_are_checked_against_their_images(tmp_path: Path, scan_core: str) -> None:
    records = _records(_masks(6))
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records))
    assert len(load_results(path, {1: (40, 30), 2: (40, 30), 7: (1, 1)})) == 6  # image 3 unknown here: not checked
    with pytest.raises(DataError) as err:
        load_results(path, {1: (40, 30), 2: (30, 40), 3: (40, 30)})
    assert [p.record for p in err.value.problems] == ["result 1", "result 4"]
    assert "is [40, 30] but image 2 has height 30 and width 40" in str(err.value)


def _validator_refuses(counts: str, h: int, w: int) -> bool:
    errors: list[str] = []
    rle_problems({"size": [h, w], "counts": counts}, None, lambda f, m, s="error": errors.append(m) if s == "error" else None)
    return bool(errors)


def test_the_one_pass_check_is_exactly_the_validators_rule() -> None:
    rng = np.random.default_rng(4)
    alphabet = np.frombuffer(bytes(range(40, 120)), np.uint8)
    rles = _masks(30, 7, 5)
    for _ in range(1500):
        h, w = int(rng.integers(0, 8)), int(rng.integers(0, 8))
        base = rles[int(rng.integers(30))]
        roll = rng.random()
        if roll < 0.4:
            counts = bytes(rng.choice(alphabet, int(rng.integers(0, 12)))).decode()
        else:  # a good string of its own size, touched at one place or not at all
            h, w = base["size"]
            k = int(rng.integers(len(base["counts"])))
            touch = chr(int(rng.integers(45, 115))) if roll < 0.9 else base["counts"][k]
            counts = base["counts"][:k] + touch + base["counts"][k + 1:]
        rles.append({"size": [h, w], "counts": counts})
    rles.append({"size": [-1, 3], "counts": ""})
    rles.append({"size": [2**31, 1], "counts": "0"})
    packed = PackedRles.from_rles(rles)
    areas, boxes, valid = rle_stats(packed.chars, packed.offsets, packed.sizes)
    expected = [not _validator_refuses(r["counts"], *r["size"]) for r in rles]
    assert valid.tolist() == expected
    assert 0 < sum(expected) < len(rles)
    good = [{"size": r["size"], "counts": r["counts"].encode()} for r, ok in zip(rles, expected) if ok]
    np.testing.assert_array_equal(areas[valid], coco_mask.area(good))
    np.testing.assert_array_equal(boxes[valid], coco_mask.toBbox(good))
    if packed_rle.NATIVE is not None:  # the numba fallback gives the same bits, valid or not
        from cocoseg.masks import _rle_numba

        fallback = _rle_numba.rle_stats(packed.chars, packed.offsets, packed.sizes)
        for a, b in zip((areas, boxes, valid), fallback):
            assert a.tobytes() == b.tobytes()


def _blobs(n: int, h: int, w: int, seed: int) -> list[dict]:
    """Masks with long strings of one-character values: blobs, speckle, full-height stripes (runs across columns)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    bitmaps = np.zeros((h, w, n), np.uint8)
    for k in range(n):
        cy, cx, ry, rx = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1, h + 2), rng.uniform(1, w + 2)
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1 + 0.3 * rng.random((h, w))
        bitmaps[:, :, k] = blob if k % 3 else blob | (xx % 7 == k % 7)
    return [{"size": r["size"], "counts": r["counts"].decode()} for r in coco_mask.encode(np.asfortranarray(bitmaps))]


def test_the_fast_measure_of_long_strings_is_the_exact_one() -> None:
    rng = np.random.default_rng(6)
    rles = _blobs(40, 96, 64, 3) + _blobs(10, 1, 300, 4) + _blobs(10, 300, 1, 5)
    for base in rles[:40]:  # touched at one place: values of other lengths, signs, bad characters, runs < 0
        k = int(rng.integers(len(base["counts"])))
        rles.append(dict(base, counts=base["counts"][:k] + chr(int(rng.integers(45, 115))) + base["counts"][k + 1:]))
        rles.append(dict(base, counts=base["counts"][:k]))
    side = 2**16  # h * w = 2**32: maskApi's uint arithmetic wraps, the exact path decides
    rles += [{"size": [side, side], "counts": "0" + "1" * 12}, {"size": [side, side // 2], "counts": "PPPPPPP0"},
             {"size": [3, 4], "counts": "<"}, {"size": [3, 4], "counts": "0<"}, {"size": [3, 4], "counts": "0<0"}]
    packed = PackedRles.from_rles(rles)
    areas, boxes, valid = rle_stats(packed.chars, packed.offsets, packed.sizes)
    assert valid.tolist() == [not _validator_refuses(r["counts"], *r["size"]) for r in rles]
    assert valid[:60].all() and not valid[60:].all()
    good = [{"size": r["size"], "counts": r["counts"].encode()} for r, ok in zip(rles, valid) if ok]
    np.testing.assert_array_equal(areas[valid], coco_mask.area(good))
    np.testing.assert_array_equal(boxes[valid], coco_mask.toBbox(good))
    if packed_rle.NATIVE is not None:
        from cocoseg.masks import _rle_numba

        for a, b in zip((areas, boxes, valid), _rle_numba.rle_stats(packed.chars, packed.offsets, packed.sizes)):
            assert a.tobytes() == b.tobytes()


def test_the_scanners_numbers_are_json_loads_numbers(scan_core: str) -> None:
    rng = np.random.default_rng(5)
    texts = ["0.1", "0.07193", "123.456e-5", "9007199254740993", "9007199254740993.0", "1e22", "1e23", "4.9e-324",
             "1.7976931348623157e308", "-0.0", "0.30000000000000004", "1E+2", "12345678901234567890", "5e-22",
             "123456789012345678e-3", "0.000000000000000000001234"]
    texts += [repr(float(v)) for v in rng.normal(0, 1, 200) * 10.0 ** rng.integers(-30, 30, 200)]
    texts += [f"{v:.{int(d)}f}" for v, d in zip(rng.uniform(0, 1000, 200), rng.integers(0, 12, 200))]
    raw = "[" + ",".join(f'{{"image_id": 1, "category_id": 1, "score": {t}, "bbox": [{t}, 0, 1, {t}]}}'
                         for t in texts) + "]"
    res = scan_results_bytes(raw.encode())
    want = np.array([json.loads(t) for t in texts], np.float64)
    assert res.scores.tobytes() == want.tobytes()
    assert res.boxes_xywh[:, 0].tobytes() == want.tobytes() == res.boxes_xywh[:, 3].tobytes()


def test_a_parallel_scan_equals_one_pass_or_is_redone(tmp_path: Path, monkeypatch) -> None:
    """Chunks start where a record seems to start; a wrong guess (inside a string) is noticed and redone."""
    if results_json.NATIVE is None:
        pytest.skip("the compiled core is not built here")
    monkeypatch.setattr(results_json, "_PARALLEL_BYTES", 0)
    rles = _masks(60, seed=7)
    plain = _records(rles)
    trap = [dict(r, trap="}, {" * (i % 3), nested=[{"a": 1}, {"b": [2]}]) for i, r in enumerate(plain)]
    boxes = [{"image_id": i, "category_id": 1, "bbox": [i, 0.5, 2, 3], "score": 0.25} for i in range(500)]
    for records in (plain, trap, boxes, plain[:1]):
        text = json.dumps(records)
        ref = results_from_records(json.loads(text), None, "r.json")
        path = tmp_path / "r.json"
        path.write_text(text)
        for threads in (1, 2, 3, 5):
            monkeypatch.setenv("COCOSEG_THREADS", str(threads))
            _same(load_results(path), ref)
            _same(scan_results_bytes(text.encode(), "r.json"), ref)
        buf = np.frombuffer(text.encode(), np.uint8)
        got = results_json.NATIVE.scan_results(buf, *results_json._outputs(buf), 4)
        assert got in (len(records), -2)
    late = [*plain, {"image_id": 1, "category_id": 2, "score": 0.5, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]}]
    path.write_text(json.dumps(late))  # the last chunk refuses the layout after the others wrote counts in place
    sizes = {1: (40, 30), 2: (40, 30), 3: (40, 30)}
    _same(load_results(path, sizes), results_from_records(late, sizes, "r.json"))
    bad = json.dumps(plain)[:-40] + "]"  # cut inside the last record: the last chunk reports it
    assert results_json.NATIVE.scan_results(np.frombuffer(bad.encode(), np.uint8),
                                            *results_json._outputs(np.frombuffer(bad.encode(), np.uint8)), 3) in (-1, -2)


def test_a_file_read_through_a_window_equals_one_read(tmp_path: Path, monkeypatch) -> None:
    """A large file is scanned window by window (split where a record seems to start, a window grown for a
    longer record); any window it does not take sends the file to the whole-file scan, which decides."""
    if results_json.NATIVE is None:
        pytest.skip("the compiled core is not built here")
    rles = _masks(50, seed=8)
    plain = _records(rles)
    trap = [dict(r, trap="}, {" * (i % 3), nested=[{"a": 1}, {"b": [2]}]) for i, r in enumerate(plain)]
    boxes = [{"image_id": i, "category_id": 1, "bbox": [i, 0.5, 2, 3], "score": 0.25} for i in range(400)]
    long_one = [*plain[:5], dict(plain[5], pad="x" * 5000), *plain[6:]]  # a record longer than the windows
    path = tmp_path / "r.json"
    texts = [json.dumps(plain), json.dumps(trap, indent=2), json.dumps(boxes), json.dumps(long_one), "[\n]\n",
             " " * 900 + json.dumps(plain) + "\n" * 300]
    for text in texts:
        ref = results_from_records(json.loads(text), None, "r.json")
        for raw in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
            path.write_bytes(raw)
            for window, threads in ((100, 1), (333, 2), (4096, 3)):
                monkeypatch.setattr(results_json, "_WINDOW_BYTES", window)
                monkeypatch.setenv("COCOSEG_THREADS", str(threads))
                _same(load_results(path), ref)
    monkeypatch.setattr(results_json, "_WINDOW_BYTES", 200)
    path.write_text(json.dumps(plain))
    with open(path, "rb") as fh:  # the windowed scan itself took it (no whole-file read)
        out = results_json._columns(2000) + (np.empty(path.stat().st_size, np.uint8),)
        assert results_json.NATIVE.scan_results_fd(fh.fileno(), 0, path.stat().st_size, *out, 2, 200) == len(plain)
    late = [*plain, {"image_id": 1, "category_id": 2, "score": 0.5, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]}]
    path.write_text(json.dumps(late))  # the last window refuses the layout: the full parser reads it
    sizes = {1: (40, 30), 2: (40, 30), 3: (40, 30)}
    _same(load_results(path, sizes), results_from_records(late, sizes, "r.json"))
    for bad in (json.dumps(plain)[:-40] + "]", json.dumps(plain) + " x", json.dumps(plain)[:-1],
                json.dumps({"annotations": plain}), "[" + " " * 900):
        path.write_text(bad)
        with pytest.raises(DataError):
            load_results(path)
