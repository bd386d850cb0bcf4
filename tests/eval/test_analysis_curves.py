"""PR curves from the engine's arrays and F1 from its matches: consistency with AP, labels by category id,
the -1 sentinel masked, pooled categories (use_cats=False) and images without GT (faster-coco-eval #19, #80)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg.eval import evaluate
from cocoseg.eval.analysis import f1_curve, matches_from_result, pr_curves
from cocoseg.io import CocoDataset


def sparse_ids() -> tuple[CocoDataset, list[dict]]:
    """Category ids 7, 42, 90 (not 0..K-1); 90 has no GT; image 3 has no GT but a detection."""
    anns = [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 42, "bbox": [50, 0, 10, 10], "area": 100.0, "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 42, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 0}]
    gt = CocoDataset.from_dict({"images": [{"id": i, "width": 100, "height": 100} for i in (1, 2, 3)],
                                "annotations": anns,
                                "categories": [{"id": 7, "name": "seven"}, {"id": 42, "name": "forty-two"},
                                               {"id": 90, "name": "ninety"}]})
    dets = [{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10], "score": 0.9},
            {"image_id": 1, "category_id": 42, "bbox": [52, 0, 10, 10], "score": 0.8},
            {"image_id": 3, "category_id": 90, "bbox": [0, 0, 10, 10], "score": 0.7},
            {"image_id": 3, "category_id": 42, "bbox": [0, 0, 10, 10], "score": 0.6}]
    return gt, dets


def test_curves_are_labelled_by_category_id_and_mask_missing_gt() -> None:
    gt, dets = sparse_ids()
    result = evaluate(gt, dets, "bbox")
    pr = pr_curves(result, {7: "seven", 42: "forty-two", 90: "ninety"})
    assert pr.category_ids == (7, 42, 90) and pr.names == ("seven", "forty-two", "ninety")
    assert np.isnan(pr.precision[:, 2]).all() and np.isnan(pr.ap()[:, 2]).all()  # 90: -1 in the engine, NaN here
    # pycocotools' precision is tp / (tp + fp + eps): 1 - 2e-16 rather than 1
    assert pr.precision[0, 0].tolist() == pytest.approx([1.0] * 101, abs=1e-12)  # 7: one exact hit
    # 42 at IoU .5: a hit (IoU .667, score .8), then a miss of its image-2 GT by an image-3 box: P=1 up to R=.5
    assert pr.precision[0, 1].tolist() == pytest.approx([1.0] * 51 + [0.0] * 50, abs=1e-12)
    assert pr.mean_curve(0.5).tolist() == pytest.approx(((pr.precision[0, 0] + pr.precision[0, 1]) / 2).tolist())
    payload = pr.to_dict()
    assert payload["curves"]["0.50"][2] is None and payload["names"][2] == "ninety"
    json.dumps(payload, allow_nan=False)
    f1 = f1_curve(matches_from_result(result, 0.5), dict(zip(pr.category_ids, pr.names)))
    assert f1.category_ids == (7, 42, 90) and np.isnan(f1.f1[2]).all()
    # F1 = 2 TP / (GT + kept): at .8, 7 -> 1 and 42 -> 2/3; at .6, 42 drops to 2/4. Ties (.7): the higher cut
    assert f1.best_f1 == pytest.approx((1.0 + 2 / 3) / 2) and f1.best_confidence == 0.8
    json.dumps(f1.to_dict(), allow_nan=False)


def test_pooled_categories() -> None:
    gt, dets = sparse_ids()
    result = evaluate(gt, dets, "bbox", use_cats=False)
    pr = pr_curves(result)
    assert pr.category_ids == (-1,) and pr.names == ("all",)
    assert np.nanmean(pr.ap()) == pytest.approx(result.ap, abs=1e-12)
    f1 = f1_curve(matches_from_result(result, 0.5))
    assert f1.category_ids == (-1,) and f1.names == ("all",) and np.isfinite(f1.best_f1)


def test_names_default_to_the_results_table() -> None:
    gt, dets = sparse_ids()
    result = evaluate(gt, dets, "bbox")
    assert pr_curves(result).names == ("seven", "forty-two", "ninety")
    assert pr_curves(result, {7: "a"}).names == ("a", "42", "90")  # given names win; ids where missing


def test_no_detections() -> None:
    gt, _ = sparse_ids()
    result = evaluate(gt, [], "bbox")
    f1 = f1_curve(matches_from_result(result, 0.5))
    assert np.isnan(f1.best_f1) and f1.to_dict()["best_f1"] is None
    assert (np.nan_to_num(pr_curves(result).precision) == 0).all()


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_real_data_curves_mean_to_ap(iou_type: str, fake100: Path) -> None:
    root = fake100
    gt = CocoDataset.load(root / "annotations" / "instances_val2014_100.json")
    kind = "fakebbox100" if iou_type == "bbox" else "fakesegm100"
    result = evaluate(gt, root / "results" / f"instances_val2014_{kind}_results.json", iou_type)
    pr = pr_curves(result)
    ap = pr.ap()
    assert np.nanmean(ap) == pytest.approx(result.stats[0], abs=1e-12)
    assert np.nanmean(ap[0]) == pytest.approx(result.stats[1], abs=1e-12)
    small = pr_curves(result, area="small")
    assert np.nanmean(small.ap()) == pytest.approx(result.stats[3], abs=1e-12)
    rows = {row["category_id"]: row for row in result.per_class}
    for k, cid in enumerate(pr.category_ids):
        if np.isnan(ap[0, k]):
            assert rows[cid]["num_gt"] == 0
        else:
            assert ap[0, k] == pytest.approx(rows[cid]["ap50"], abs=1e-12)
    assert pr.names[pr.category_ids.index(90)] == "toothbrush"
