"""Issue 16 items 3, 4, 10 (results side): hostile results files get one clear error naming the result, on the
C scanner and on the numba fallback alike, instead of hanging or crashing evaluation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.errors import DataError
from cocoseg.io import results as results_mod
from cocoseg.masks.rle import encode

SIZES = {1: (10, 10)}




def _write(tmp_path: Path, segmentation, score=0.9) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": _good()},
                                {"image_id": 1, "category_id": 1, "score": score, "segmentation": segmentation}]))
    return path


def _good() -> dict:
    import numpy as np

    m = np.zeros((10, 10), np.uint8)
    m[2:5, 2:5] = 1
    return encode(m)


@pytest.mark.parametrize("segm, match", [
    ({"size": [10, 10], "counts": "0a1"}, "sum to"),                     # runs short of 100
    ({"size": [10, 10], "counts": "PP"}, "sum to|negative|truncated"),
    ({"size": [10, 10], "counts": [5, 5]}, "sum to"),                    # uncompressed, short
])
def test_rle_whose_runs_do_not_cover_the_mask(tmp_path: Path, scan_core, segm, match) -> None:
    with pytest.raises(DataError, match=f"result 1.*({match})"):
        results_mod.load_results(_write(tmp_path, segm), SIZES)


def test_rle_of_another_size_than_its_image(tmp_path: Path, scan_core) -> None:
    import numpy as np

    other = encode(np.ones((4, 25), np.uint8))
    with pytest.raises(DataError, match=r"result 1: segmentation.size is \[4, 25\]"):
        results_mod.load_results(_write(tmp_path, other), SIZES)


@pytest.mark.parametrize("score", ["Infinity", "-Infinity", "NaN"])
def test_infinite_scores_are_refused_like_nan(tmp_path: Path, scan_core, score) -> None:
    path = _write(tmp_path, _good())
    path.write_text(path.read_text().replace("0.9", score))
    with pytest.raises(DataError, match="result 1: score must be a finite number"):
        results_mod.load_results(path, SIZES)


def test_polygon_of_four_coordinates(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="result 1: segmentation part 0 has 4 coordinates"):
        results_mod.load_results(_write(tmp_path, [[1, 1, 5, 5]]), SIZES)


@pytest.mark.parametrize("coord", [1e9, 1e8, -1e9])
def test_huge_polygon_coordinates_refused_before_rasterizing(tmp_path: Path, coord) -> None:
    with pytest.raises(DataError, match="result 1: segmentation part 0 has the coordinate"):
        results_mod.load_results(_write(tmp_path, [[coord, 1, 5, 1, 5, 5]]), SIZES)


def test_polygon_a_little_outside_is_kept(tmp_path: Path) -> None:
    res = results_mod.load_results(_write(tmp_path, [[-3, -3, 12, 0, 12, 12]]), SIZES)
    assert len(res) == 2


def test_records_path_checks_rles_too() -> None:
    recs = [{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [10, 10], "counts": "0a1"}}]
    with pytest.raises(DataError, match="result 0: segmentation.counts"):
        results_mod.results_from_records(recs, SIZES)


def test_validate_flags_huge_gt_coordinates(tmp_path: Path, tiny_coco) -> None:
    from cocoseg.io import validate_file

    problems = validate_file(tiny_coco(tmp_path, segmentation=[[1e9, 10, 30, 10, 30, 30]]))
    assert any(p.field == "segmentation[0]" and "1e+09" in p.message and p.severity == "error" for p in problems)


def test_segm_eval_refuses_huge_gt_coordinates(tmp_path: Path, tiny_coco) -> None:
    from cocoseg.eval import evaluate

    gt = tiny_coco(tmp_path, segmentation=[[1e9, 1, 8, 1, 8, 8]])
    res = [{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": _good()}]
    with pytest.raises(DataError, match=r"id 1\)?: segmentation\[0\] has the coordinate 1e\+09"):
        evaluate(str(gt), res, iou_type="segm")


def test_rle_of_a_box_result_is_checked_before_segm_evaluation(tmp_path: Path, tiny_coco, capsys) -> None:
    """Issue 16.4 gap found in the 16.5 re-audit: a result with a bbox AND a garbage RLE (Detectron2 writes
    both) was loaded as a box result, its RLE unchecked, and segm evaluation hung in _pair_iou."""
    from cocoseg.cli.main import main

    gt = tiny_coco(tmp_path)
    res = tmp_path / "r.json"
    res.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 7, 7], "score": 0.9,
                                "segmentation": {"size": [10, 10], "counts": "zzzz"}}]))
    assert main(["eval", str(gt), str(res), "--iou_type", "segm"]) == 1
    err = capsys.readouterr().err
    assert "result 0: segmentation.counts has the character 'z'" in err
