"""Challenge slices on a hand-built case, the 'all' slice against evaluate(), occlusion by box vs mask.

One category. Image 1: P (x=0) and Q (x=4) overlap with box IoU 6/14 = .43 (both occluded), R (x=100)
alone; all 10x10. Detections: P exact .9, R exact .8, a false positive at x=300 .7; Q is missed.
Image 2: S, 40x40 (medium), detected exactly at .6. Every match is exact, so AP is the same at
every IoU threshold and equals the 101-point AP of the TP/FP sequence.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg.errors import CocosegError
from cocoseg.eval import evaluate
from cocoseg.eval.analysis.slices import evaluate_slices, occlusion_iou
from cocoseg.io import CocoDataset

RECALL = np.linspace(0, 1, 101)


def coco_ap(hits: list[int], n_gt: int) -> float:
    hits_a = np.asarray(hits, dtype=float)
    tp, fp = np.cumsum(hits_a), np.cumsum(1 - hits_a)
    precision = np.maximum.accumulate((tp / (tp + fp))[::-1])[::-1]
    idx = np.searchsorted(tp / n_gt, RECALL, side="left")
    return float(np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0).mean())


def case() -> tuple[CocoDataset, list[dict]]:
    def ann(i: int, image: int, x: float, size: float = 10, crowd: int = 0) -> dict:
        return {"id": i, "image_id": image, "category_id": 1, "bbox": [x, 0, size, size], "area": size * size,
                "iscrowd": crowd}

    anns = [ann(1, 1, 0), ann(2, 1, 4), ann(3, 1, 100), ann(4, 2, 0, 40), ann(5, 2, 60, 30, crowd=1)]
    gt = CocoDataset.from_dict({"images": [{"id": 1, "width": 400, "height": 50}, {"id": 2, "width": 100, "height": 50}],
                                "annotations": anns, "categories": [{"id": 1, "name": "thing"}]})
    dets = [{"image_id": 1, "category_id": 1, "bbox": [x, 0, 10, 10], "score": s} for x, s in ((0, .9), (100, .8), (300, .7))]
    dets.append({"image_id": 2, "category_id": 1, "bbox": [0, 0, 40, 40], "score": .6})
    return gt, dets


@pytest.fixture(scope="module")
def report():
    gt, dets = case()
    return evaluate_slices(gt, dets, "bbox", crowded_min=3, area_ranges={"tiny": (0, 150)})


def test_slice_aps_by_hand(report) -> None:
    expected = {
        "all": ([1, 1, 0, 1], 4),
        "small": ([1, 1, 0], 3),  # S out of range: its detection is ignored
        "medium": ([1], 1),  # P, R out of range; the small false positive is outside the range, ignored
        "tiny": ([1, 1, 0], 3),
        "occluded": ([1, 0], 2),  # R and S are ignore regions: their detections count for nothing
        "unoccluded": ([1, 0, 1], 2),  # P is an ignore region: the .9 detection counts for nothing
        "crowded": ([1, 1, 0], 3),  # image 1 only
        "uncrowded": ([1], 1),  # image 2 only
    }
    for name, (hits, n_gt) in expected.items():
        s = report[name]
        assert (s.num_gt, s.ap, s.ap50, s.ap75) == (n_gt, *[pytest.approx(coco_ap(hits, n_gt), abs=1e-12)] * 3), name
    assert report["large"].num_gt == 0 and report["large"].ap == -1
    assert (report["crowded"].num_images, report["uncrowded"].num_images, report["all"].num_images) == (1, 1, 2)


def test_all_slice_is_the_evaluation(report) -> None:
    gt, dets = case()
    result = evaluate(gt, dets, "bbox")
    assert report["all"].ap == pytest.approx(result.ap, abs=1e-12)
    assert report["small"].ap == pytest.approx(result.ap_small, abs=1e-12)
    assert report["medium"].ap == pytest.approx(result.ap_medium, abs=1e-12)
    assert report["all"].ar == pytest.approx(result.ar100, abs=1e-12)
    assert "occluded" in report.format() and report.to_dict()["slices"][0]["name"] == "all"
    with pytest.raises(KeyError, match="slices"):
        report["nope"]


def test_slices_leave_the_input_untouched() -> None:
    gt, dets = case()
    before = [dict(a) for a in gt.annotations]
    evaluate_slices(gt, dets, "bbox", crowded_min=3)
    assert gt.annotations == before


def test_occlusion_by_box_or_mask() -> None:
    # an L-shaped mask (20x20 box without its top-right 10x10 quadrant) and a 12x12 square in that corner:
    # boxes overlap 144/400 = .36, masks only 44/400 = .11
    ell = [[0, 0, 10, 0, 10, 10, 20, 10, 20, 20, 0, 20]]
    square = [[8, 0, 20, 0, 20, 12, 8, 12]]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "area": 300.0, "iscrowd": 0,
             "segmentation": ell},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [8, 0, 12, 12], "area": 144.0, "iscrowd": 0,
             "segmentation": square},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 30, 30], "area": 900.0, "iscrowd": 1,
             "segmentation": [[0, 0, 30, 0, 30, 30, 0, 30]]}]
    gt = CocoDataset.from_dict({"images": [{"id": 1, "width": 40, "height": 40}], "annotations": anns,
                                "categories": [{"id": 1, "name": "thing"}]})
    by_box, by_mask = occlusion_iou(gt, "box"), occlusion_iou(gt, "mask")
    assert by_box[:2].tolist() == pytest.approx([0.36, 0.36])
    assert np.all(by_mask[:2] < 0.2) and np.isnan(by_box[2]) and np.isnan(by_mask[2])  # crowd: neither
    dets = [{"image_id": 1, "category_id": 1, "segmentation": square, "score": 0.9}]
    assert evaluate_slices(gt, dets, "segm", occlusion_by="box")["occluded"].num_gt == 2
    assert evaluate_slices(gt, dets, "segm", occlusion_by="mask")["occluded"].num_gt == 0
    with pytest.raises(CocosegError, match="occlusion_by"):
        occlusion_iou(gt, "polygon")


def test_real_data_slices_match_the_summary(fake100: Path) -> None:
    root = fake100
    gt = CocoDataset.load(root / "annotations" / "instances_val2014_100.json")
    results = root / "results" / "instances_val2014_fakebbox100_results.json"
    report = evaluate_slices(gt, results, "bbox")
    stats = evaluate(gt, results, "bbox").stats
    assert [report[n].ap for n in ("all", "small", "medium", "large")] == pytest.approx(
        [stats[0], stats[3], stats[4], stats[5]], abs=1e-12)
    assert report["all"].ap == pytest.approx(0.5045806987249628, abs=1e-12)  # the published number
    parts = report["occluded"].num_gt + report["unoccluded"].num_gt
    assert parts == report["all"].num_gt == report["crowded"].num_gt + report["uncrowded"].num_gt
