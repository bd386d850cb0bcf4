"""TIDE errors, confusion matrix and F1 on a hand-built scene whose every number is counted by hand.

Boxes are 10x10 on a line; a shift of s pixels gives IoU (10 - s) / (10 + s): s=1 -> 0.818,
s=5 -> 0.333. Image 1 (categories cat=1, dog=2; bird=3 has no GT at all):

    GT  A cat x=0, B dog x=100, C cat x=200, D dog x=300, E cat x=400, F cat x=500, G dog x=700
    d1 cat x=0   .95  TP (A)
    d2 cat x=1   .90  dupe: IoU .818 with A, already taken
    d3 cat x=100 .85  cls: IoU 1 with dog B (unmatched) -> fixable
    d4 dog x=205 .80  both: IoU .333 with cat C, nothing of its own class
    d5 cat x=205 .75  loc: IoU .333 with cat C (unmatched) -> fixable
    d6 dog x=900 .70  bkg: overlaps nothing
    d7 cat x=500 .60  TP (F)
    d8 dog x=700 .55  TP (G)
    D and E: missed (nothing points at them)
Image 2: a cat crowd region (50x50 at x=1000) and d10 cat .65 inside it: ignored, no error.
Image 3: no GT at all; d9 dog .50: bkg.
"""
from __future__ import annotations

import numpy as np
import pytest

from cocoseg.errors import CocosegError
from cocoseg.eval import evaluate
from cocoseg.eval.analysis import confusion_matrix, error_breakdown, f1_curve, matches_from_result
from cocoseg.eval.analysis.analyze import analyze

RECALL = np.linspace(0, 1, 101)


def box(x: float, y: float = 0, w: float = 10, h: float = 10) -> list[float]:
    return [float(x), float(y), float(w), float(h)]


def scene() -> tuple[dict, list[dict]]:
    gt_boxes = [("A", 1, 0), ("B", 2, 100), ("C", 1, 200), ("D", 2, 300), ("E", 1, 400), ("F", 1, 500), ("G", 2, 700)]
    anns = [{"id": i + 1, "image_id": 1, "category_id": c, "bbox": box(x), "area": 100.0, "iscrowd": 0, "name": n}
            for i, (n, c, x) in enumerate(gt_boxes)]
    anns.append({"id": 20, "image_id": 2, "category_id": 1, "bbox": box(1000, 0, 50, 50), "area": 2500.0, "iscrowd": 1})
    gt = {"images": [{"id": i, "width": 1200, "height": 100} for i in (1, 2, 3)], "annotations": anns,
          "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "bird"}]}
    dets = [(1, 1, 0, .95), (1, 1, 1, .90), (1, 1, 100, .85), (1, 2, 205, .80), (1, 1, 205, .75), (1, 2, 900, .70),
            (1, 1, 500, .60), (1, 2, 700, .55), (3, 2, 10, .50), (2, 1, 1010, .65)]
    results = [{"image_id": i, "category_id": c, "bbox": box(x), "score": s} for i, c, x, s in dets]
    return gt, results


def coco_ap(hits: list[int], n_gt: int) -> float:
    """101-point interpolated AP of a score-ordered TP(1)/FP(0) sequence (COCO's rule, written out)."""
    hits_a = np.asarray(hits, dtype=float)
    tp, fp = np.cumsum(hits_a), np.cumsum(1 - hits_a)
    recall, precision = tp / n_gt, tp / (tp + fp)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL, side="left")
    return float(np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0).mean())


def mean_ap(cat: tuple[list[int], int], dog: tuple[list[int], int]) -> float:
    return (coco_ap(*cat) + coco_ap(*dog)) / 2  # bird has no GT: left out of the mean


@pytest.fixture(scope="module")
def breakdown():
    gt, results = scene()
    return error_breakdown(gt, results, "bbox")


def test_error_counts_by_hand(breakdown) -> None:
    assert breakdown.counts == {"cls": 1, "loc": 1, "both": 1, "dupe": 1, "bkg": 2, "miss": 2}


def test_base_ap_by_hand(breakdown) -> None:
    # cat: TP FP FP FP TP over 4 GT -> (26 * 1 + 25 * 0.4) / 101; dog: FP FP TP FP over 3 GT -> 34 * (1/3) / 101
    assert breakdown.ap == pytest.approx(((26 + 25 * 0.4) / 101 + (34 / 3) / 101) / 2, abs=1e-12)
    assert breakdown.ap == pytest.approx(mean_ap(([1, 0, 0, 0, 1], 4), ([0, 0, 1, 0], 3)), abs=1e-12)


def test_each_fix_by_hand(breakdown) -> None:
    base = breakdown.ap
    expected = {
        "cls": mean_ap(([1, 0, 0, 1], 4), ([1, 0, 0, 1, 0], 3)),  # d3 becomes dog B's TP at .85
        "loc": mean_ap(([1, 0, 0, 1, 1], 4), ([0, 0, 1, 0], 3)),  # d5 becomes cat C's TP at .75
        "both": mean_ap(([1, 0, 0, 0, 1], 4), ([0, 1, 0], 3)),  # d4 removed
        "dupe": mean_ap(([1, 0, 0, 1], 4), ([0, 0, 1, 0], 3)),  # d2 removed
        "bkg": mean_ap(([1, 0, 0, 0, 1], 4), ([0, 1], 3)),  # d6 and d9 removed
        "miss": mean_ap(([1, 0, 0, 0, 1], 3), ([0, 0, 1, 0], 2)),  # D and E removed
        "fp": mean_ap(([1, 1], 4), ([1], 3)),  # every false positive removed
        "fn": mean_ap(([1, 0, 0, 0, 1], 2), ([0, 0, 1, 0], 1)),  # B, C, D, E removed
    }
    for name, ap in expected.items():
        assert breakdown.delta_ap[name] == pytest.approx(ap - base, abs=1e-12), name
        assert breakdown.delta_ap[name] > 0, name


def test_oracle_and_non_additivity(breakdown) -> None:
    # fixing everything gives AP 1; the single-type gains overlap, so they need not sum to 1 - AP (TIDE)
    assert breakdown.oracle_ap == pytest.approx(1.0, abs=1e-12)
    main = sum(breakdown.delta_ap[n] for n in ("cls", "loc", "both", "dupe", "bkg", "miss"))
    assert main != pytest.approx(1 - breakdown.ap)
    assert "classification" in breakdown.format() and breakdown.to_dict()["counts"]["miss"] == 2


def test_per_detection_labels(breakdown) -> None:
    labels = breakdown.labels
    names = ["cls", "loc", "both", "dupe", "bkg", "miss"]
    codes = [names[c] if c >= 0 else "-" for c in labels.det_error.tolist()]
    # engine rows: image 1 by category then score (cat d1 d2 d3 d5 d7, dog d4 d6 d8), image 2 (d10), image 3 (d9)
    assert codes == ["-", "dupe", "cls", "loc", "-", "both", "bkg", "-", "-", "bkg"]
    assert labels.det_fixable.tolist() == [False, False, True, True, False, False, False, False, False, False]


def test_tide_background_threshold() -> None:
    # d4 (IoU .333 with another class) becomes background once t_b is above .333
    gt, results = scene()
    counts = error_breakdown(gt, results, "bbox", bg_threshold=0.4).counts
    assert counts["both"] == 0 and counts["loc"] == 0 and counts["bkg"] == 4
    assert counts["miss"] == 3  # C is no longer claimed by a localization error


def test_confusion_matrix_by_hand() -> None:
    gt, results = scene()
    cm = confusion_matrix(gt, results, "bbox", confidence=0.0)
    assert cm.category_ids == (1, 2, 3) and cm.labels == ("cat", "dog", "bird", "background")
    # rows true (cat, dog, bird, background), columns predicted
    expected = [[2, 0, 0, 2],   # A, F matched; C, E missed
                [1, 1, 0, 1],   # B taken by the cat d3; G matched; D missed
                [0, 0, 0, 0],
                [2, 3, 0, 0]]   # d2, d5 / d4, d6, d9 on no free GT
    assert cm.matrix.tolist() == expected
    assert cm.ignored == 1  # d10 inside the crowd region
    assert cm.totals() == {"matched": 3, "confused": 1, "false_positives": 5, "missed": 3}
    assert cm.top_confusions(2) == [("background", "dog", 3), ("cat", "background", 2)]


def test_confusion_matrix_confidence_cut() -> None:
    gt, results = scene()
    cm = confusion_matrix(gt, results, "bbox", confidence=0.8)  # keeps d1..d4 (>= is inclusive)
    assert cm.matrix.tolist() == [[1, 0, 0, 3], [1, 0, 0, 2], [0, 0, 0, 0], [1, 1, 0, 0]]


def test_confusion_class_aware_first() -> None:
    # a cat box overlapping its cat (IoU .667) and a dog (IoU 1): the diagonal wins, as COCO counts it
    gt = {"images": [{"id": 1, "width": 100, "height": 100}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": box(2), "area": 100.0, "iscrowd": 0},
                          {"id": 2, "image_id": 1, "category_id": 2, "bbox": box(0), "area": 100.0, "iscrowd": 0}],
          "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    cm = confusion_matrix(gt, [{"image_id": 1, "category_id": 1, "bbox": box(0), "score": 0.9}], "bbox")
    assert cm.matrix.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]


def test_f1_best_threshold_by_hand() -> None:
    gt, results = scene()
    f1 = f1_curve(matches_from_result(evaluate(_ds(gt), results, "bbox"), 0.5), {1: "cat", 2: "dog", 3: "bird"})
    # F1 = 2 TP / (GT + kept). cat (4 GT): at .95 -> 2/5; at .60 -> 4/9 (best). dog (3 GT): at .55 -> 2/6 (best)
    cat, dog, bird = 0, 1, 2
    assert f1.per_class_best_f1[cat] == pytest.approx(4 / 9) and f1.per_class_best_confidence[cat] == 0.60
    assert f1.per_class_best_f1[dog] == pytest.approx(2 / 6) and f1.per_class_best_confidence[dog] == 0.55
    assert np.isnan(f1.per_class_best_f1[bird]) and np.isnan(f1.f1[bird]).all()
    # mean over cat and dog at each score; the best is at .55: (4/9 + 2/6) / 2
    assert f1.best_f1 == pytest.approx((4 / 9 + 2 / 6) / 2) and f1.best_confidence == 0.55
    assert f1.best_precision == pytest.approx((2 / 5 + 1 / 3) / 2) and f1.best_recall == pytest.approx((2 / 4 + 1 / 3) / 2)
    grid = f1.confidence
    assert f1.f1[cat][np.searchsorted(grid, 0.6)] == pytest.approx(4 / 9)
    assert f1.recall[dog][-1] == 0 and np.isnan(f1.precision[dog][-1])  # nothing kept at confidence 1
    assert f1.to_dict()["per_class"][2] == {"category_id": 3, "name": "bird", "best_confidence": None, "best_f1": None}


def _ds(gt: dict):
    from cocoseg.io import CocoDataset

    return CocoDataset.from_dict(gt)


def test_segm_matches_bbox_on_box_masks() -> None:
    # the same scene as rectangle masks: every count and AP is unchanged
    gt, results = scene()
    for ann in gt["annotations"]:
        x, y, w, h = ann["bbox"]
        ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    seg_results = [{**{k: v for k, v in r.items() if k != "bbox"},
                    "segmentation": _rect_rle(r["bbox"], 100, 1200)} for r in results]
    crowd = next(a for a in gt["annotations"] if a["iscrowd"])
    crowd["segmentation"] = _rect_rle(crowd["bbox"], 100, 1200)
    seg = error_breakdown(gt, seg_results, "segm")
    assert seg.counts == {"cls": 1, "loc": 1, "both": 1, "dupe": 1, "bkg": 2, "miss": 2}
    assert seg.oracle_ap == pytest.approx(1.0)


def _rect_rle(bbox: list[float], height: int, width: int) -> dict:
    from cocoseg import masks

    x, y, w, h = (int(v) for v in bbox)
    bitmap = np.zeros((height, width), np.uint8)
    bitmap[y:y + h, x:x + w] = 1
    return masks.encode(bitmap)


def test_keypoints_are_refused_for_overlap_analyses() -> None:
    gt, results = scene()
    with pytest.raises(CocosegError, match="bbox' or 'segm"):
        error_breakdown(gt, results, "keypoints")
    with pytest.raises(CocosegError, match="bbox' or 'segm"):
        confusion_matrix(gt, results, "keypoints")


def test_analyze_ties_the_pieces_together() -> None:
    gt, results = scene()
    a = analyze(gt, results, "bbox")
    assert a.confusion is not None and a.confusion.confidence == a.f1.best_confidence == 0.55
    assert a.errors is not None and a.errors.ap == pytest.approx(a.result.ap50, abs=1e-12)
    assert a.slices is not None and a.slices["all"].ap == pytest.approx(a.result.ap, abs=1e-12)
    text = a.format()
    assert "TIDE errors" in text and "Challenge slices" in text and "best" in text


def test_reused_result_and_clear_refusals() -> None:
    gt, results = scene()
    ds = _ds(gt)
    result = evaluate(ds, results, "bbox")
    a = analyze(ds, results, "bbox", result=result, slices=False)
    assert a.result is result and a.errors is not None and a.errors.counts["dupe"] == 1
    with pytest.raises(CocosegError, match="pooled categories"):
        analyze(ds, results, "bbox", result=evaluate(ds, results, "bbox", use_cats=False))
    with pytest.raises(CocosegError, match="other detections"):
        analyze(ds, results[:3], "bbox", result=result)
    with pytest.raises(CocosegError, match="class-aware"):
        from cocoseg.eval.analysis import error_breakdown_from_result
        from cocoseg.io.results import load_results

        error_breakdown_from_result(ds, load_results(results), evaluate(ds, results, "bbox", use_cats=False))
    with pytest.raises(CocosegError, match="not one of the evaluated thresholds"):
        analyze(ds, results, "bbox", iou_threshold=0.52)
