"""The C core and its numba fallback give the same bits; cocoseg works without the extension."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cocoseg.errors import DataError
from cocoseg.eval import evaluate, gt_cache
from cocoseg.native import NATIVE

needs_native = pytest.mark.skipif(NATIVE is None, reason="cocoseg._native is not built here (no C compiler at install)")
ROOT = Path(__file__).resolve().parents[2]


def _random_case(rng: np.random.Generator, iou_type: str) -> tuple[dict, list]:
    images = [{"id": i, "width": 64, "height": 48, "file_name": f"{i}.jpg"} for i in range(1, 9)]
    anns, res = [], []
    for img in images:
        for _ in range(rng.integers(0, 6)):
            x, y = rng.uniform(0, 28, 2)
            w, h = rng.uniform(2, 20, 2)
            poly = [x, y, x + w, y, x + w, y + h, x, y + h]
            anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": int(rng.integers(1, 4)),
                         "bbox": [x, y, w, h], "area": float(w * h * rng.uniform(0.5, 1)), "segmentation": [poly],
                         "iscrowd": int(rng.random() < 0.1)})
        boxes = [a["bbox"] for a in anns if a["image_id"] == img["id"]] + [None] * int(rng.integers(0, 6))
        for box in boxes:  # jittered copies of the GT, then random boxes
            x, y, w, h = rng.uniform(0, 28, 2).tolist() + rng.uniform(2, 20, 2).tolist() if box is None else \
                (np.asarray(box) + rng.normal(0, 1.5, 4)).clip(1, None).tolist()
            rec = {"image_id": img["id"], "category_id": int(rng.integers(1, 4)), "score": round(float(rng.random()), 3)}
            if iou_type == "bbox":
                rec["bbox"] = [round(float(v), 2) for v in (x, y, w, h)]
            else:
                from pycocotools import mask as cm

                rle = cm.frPyObjects([[x, y, x + w, y, x + w, y + h, x, y + h]], 48, 64)[0]
                rec["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
            res.append(rec)
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    return {"images": images, "annotations": anns, "categories": cats}, res


def _run_both(tmp_path: Path, iou_type: str, seed: int) -> list[list[float]]:
    gt, res = _random_case(np.random.default_rng(seed), iou_type)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    code = ("import json, sys; from cocoseg.eval import evaluate; "
            "r = evaluate(sys.argv[1], sys.argv[2], sys.argv[3]); "
            "print(json.dumps([r.stats.tolist(), r.precision.ravel().tolist()]))")
    out = []
    for native in ("1", "0"):
        env = {**os.environ, "COCOSEG_NATIVE": native, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "gt.json"), str(tmp_path / "res.json"), iou_type],
                              capture_output=True, text=True, env=env, check=True)
        out.append(json.loads(proc.stdout))
    return out


@needs_native
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_native_and_numba_give_the_same_bits(tmp_path: Path, iou_type: str) -> None:
    native, fallback = _run_both(tmp_path, iou_type, seed=3 if iou_type == "bbox" else 5)
    assert native == fallback
    assert max(native[0]) > 0  # the case matched something


@needs_native
def test_native_scanner_equals_the_numba_scanner() -> None:
    from cocoseg.io._results_scan_numba import scan
    from cocoseg.io.results_json import _outputs

    rng = np.random.default_rng(1)
    recs = [{"image_id": int(i), "category_id": 7, "score": float(s), "bbox": [float(v) for v in rng.normal(0, 1e3, 4)],
             "extra": {"a": [1, "x\\u00e9", None, True]}} for i, s in zip(range(300), rng.random(300))]
    recs[5]["score"] = 0.1234567890123456789  # more digits than the fast path takes
    raw = np.frombuffer(json.dumps(recs).encode(), np.uint8)
    a, b = _outputs(raw), _outputs(raw)
    assert NATIVE.scan_results(raw, *a, 1) == scan(raw, b) == 300
    for k in (0, 1, 2, 3, 4, 6):  # ids, scores, boxes, flags, counts offsets (no masks here: sizes stay unset)
        np.testing.assert_array_equal(a[k][:300], b[k][:300])
    for bad in (b'[{"image_id": 1.5, "category_id": 1, "score": 1, "bbox": [0,0,1,1]}]', b'[{"image_id": 1,]', b'[1]'):
        buf = np.frombuffer(bad, np.uint8)
        assert NATIVE.scan_results(buf, *_outputs(buf), 2) == -1 == scan(buf, _outputs(buf))


def test_a_second_evaluation_of_the_same_file_reuses_the_gt(tmp_path: Path) -> None:
    gt, res = _random_case(np.random.default_rng(3), "bbox")
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    first = gt_cache.load_gt(tmp_path / "gt.json")
    assert gt_cache.load_gt(tmp_path / "gt.json") is first
    a = evaluate(tmp_path / "gt.json", res, "bbox")
    b = evaluate(tmp_path / "gt.json", res, "bbox", iou_thresholds=[0.5])
    assert a.stats[1] == b.stats[0]  # AP50 of the default run = AP of the 0.5-only run
    gt["annotations"] = gt["annotations"][1:]
    (tmp_path / "gt.json").write_text(json.dumps(gt))  # a changed file is read again
    assert gt_cache.load_gt(tmp_path / "gt.json") is not first
    gt_cache.clear()


def test_segm_evaluation_of_a_gt_without_segmentations_names_the_annotation(tmp_path: Path) -> None:
    gt, res = _random_case(np.random.default_rng(5), "segm")
    for ann in gt["annotations"]:
        del ann["segmentation"]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(DataError, match=r"gt.json: annotation id \d+: segmentation is missing: segm evaluation needs"):
        evaluate(tmp_path / "gt.json", res, "segm")
