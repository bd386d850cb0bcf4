"""Hand-built edge cases, each compared with pycocotools' COCOeval array by array (to 1e-12)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")
sys.path.insert(0, str(Path(__file__).parent))
from _cases import box_rle, make_gt, uncompressed  # noqa: E402
from _oracle import assert_same, assert_same_matches, pycocotools_eval  # noqa: E402

from cocoseg.eval import evaluate  # noqa: E402
from cocoseg.io import CocoDataset  # noqa: E402

IMAGES = [(1, 60, 80), (2, 60, 80), (3, 60, 80), (4, 60, 80)]


def _check(gt: dict, results, iou_type: str = "bbox", ref_params: dict | None = None, **ours) -> None:
    ref = pycocotools_eval(gt, results, iou_type, **(ref_params or {}))
    compat = bool(ours.pop("compat", False))
    res = evaluate(CocoDataset.from_dict(gt, validate=False), copy.deepcopy(results) if isinstance(results, list) else results,
                   iou_type, pycocotools_compat=compat, **ours)
    assert_same(res, ref)
    assert_same_matches(res, ref, gt)


def _det(image_id: int, cat: int, box: list, score: float, **extra) -> dict:
    return {"image_id": image_id, "category_id": cat, "bbox": box, "score": score, **extra}


def test_ties_within_and_across_images() -> None:
    gt = make_gt(IMAGES[:2], [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},
                              {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},  # duplicate GT: equal IoU
                              {"image_id": 2, "category_id": 1, "bbox": [30, 30, 10, 10]}])
    dets = [_det(1, 1, [10, 10, 20, 20], 0.5), _det(1, 1, [11, 11, 20, 20], 0.5), _det(2, 1, [30, 30, 10, 10], 0.5),
            _det(2, 1, [0, 0, 5, 5], 0.5), _det(1, 1, [40, 40, 5, 5], 0.5), _det(2, 1, [31, 31, 10, 10], 0.9)]
    _check(gt, dets)
    _check(gt, dets, use_cats=False, ref_params={"useCats": 0})


def test_empty_images_and_more_than_100_detections() -> None:
    rng = np.random.default_rng(0)
    anns = [{"image_id": 1, "category_id": 1, "bbox": [float(x), float(y), 12.0, 9.0]} for x, y in rng.integers(0, 60, (8, 2))]
    anns.append({"image_id": 3, "category_id": 2, "bbox": [5, 5, 30, 30]})  # image 3: GT, no detection
    gt = make_gt(IMAGES, anns)
    dets = [_det(1, 1, [float(x), float(y), 12.0, 9.0], float(s)) for (x, y), s in zip(rng.integers(0, 60, (150, 2)), rng.random(150))]
    dets += [_det(1, 1, a["bbox"], 0.01) for a in anns[:4]]  # true positives beyond the 100 cap
    dets.append(_det(2, 2, [1, 1, 4, 4], 0.3))  # image 2: detection, no GT
    _check(gt, dets)
    _check(gt, dets, max_dets=[1, 10, 100, 200], compat=True, ref_params={"maxDets": [1, 10, 100, 200]})


def test_crowd_regions() -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1},  # crowd-only image
            {"image_id": 2, "category_id": 1, "bbox": [0, 0, 60, 60], "iscrowd": 1},
            {"image_id": 2, "category_id": 1, "bbox": [10, 10, 20, 20]}]
    gt = make_gt(IMAGES[:2], anns)
    dets = [_det(1, 1, [5, 5, 10, 10], 0.9), _det(1, 1, [6, 6, 10, 10], 0.8), _det(1, 1, [45, 45, 10, 10], 0.7),
            _det(2, 1, [10, 10, 20, 20], 0.6), _det(2, 1, [11, 10, 20, 20], 0.95), _det(2, 1, [40, 40, 5, 5], 0.5)]
    _check(gt, dets)
    for ann in gt["annotations"]:  # crowd masks stored as uncompressed RLE, as in COCO
        if ann["iscrowd"]:
            ann["segmentation"] = uncompressed(box_rle(ann["bbox"], 60, 80))
    segm = [{**d, "segmentation": box_rle(d["bbox"], 60, 80)} for d in dets]
    for d in segm:
        del d["bbox"]
    _check(gt, segm, "segm")


def test_ignore_key_is_overwritten_and_area_ranges_use_the_area_field() -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40], "ignore": 1},
            {"image_id": 1, "category_id": 1, "bbox": [50, 10, 20, 20], "area": 5000.0},  # 'large' by its area field
            {"image_id": 1, "category_id": 1, "bbox": [10, 45, 8, 8], "area": 20.0}]
    gt = make_gt(IMAGES[:1], anns)
    dets = [_det(1, 1, [0, 0, 40, 40], 0.9), _det(1, 1, [50, 10, 20, 20], 0.8), _det(1, 1, [10, 45, 8, 8], 0.7),
            _det(1, 1, [60, 50, 3, 3], 0.99), _det(1, 1, [0, 20, 70, 39], 0.95)]  # unmatched, first: area rule
    _check(gt, dets)
    ranges = [[0, 1e10], [0, 100], [100, 2000], [2000, 1e10]]
    _check(gt, dets, area_ranges=[("all", 0, 1e10), ("small", 0, 100), ("medium", 100, 2000), ("large", 2000, 1e10)],
           ref_params={"areaRng": ranges})


def test_categories_absent_from_gt_and_filters() -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20]}, {"image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 20]},
            {"image_id": 3, "category_id": 1, "bbox": [5, 5, 20, 20]}]
    gt = make_gt(IMAGES[:3], anns, categories=[1, 2, 3])  # category 3 has no GT: -1 in the arrays
    dets = [_det(1, 1, [0, 0, 20, 21], 0.9), _det(1, 3, [0, 0, 20, 20], 0.8), _det(2, 2, [5, 5, 20, 19], 0.7),
            _det(2, 7, [5, 5, 20, 20], 0.99), _det(3, 1, [0, 0, 9, 9], 0.4)]  # 7: not a GT category
    _check(gt, dets)
    _check(gt, dets, image_ids=[1, 3], ref_params={"imgIds": [1, 3]})
    _check(gt, dets, category_ids=[2, 3], ref_params={"catIds": [2, 3]})
    _check(gt, dets, use_cats=False, category_ids=[1, 3], ref_params={"useCats": 0, "catIds": [1, 3]})


def test_segmentation_formats() -> None:
    anns = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20],
             "segmentation": [[10, 10, 40, 10, 40, 30, 10, 30], [45, 45, 55, 45, 50, 55]]},  # multi-part polygon
            {"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "segmentation": box_rle([0, 0, 20, 20], 60, 80)},
            {"image_id": 2, "category_id": 1, "bbox": [5, 5, 30, 30], "iscrowd": 1,
             "segmentation": uncompressed(box_rle([5, 5, 30, 30], 60, 80))}]
    gt = make_gt(IMAGES[:2], anns)
    results = [{"image_id": 1, "category_id": 1, "segmentation": box_rle([10, 10, 30, 20], 60, 80), "score": 0.9},
               {"image_id": 1, "category_id": 1, "segmentation": box_rle([1, 1, 18, 18], 60, 80), "score": 0.8},
               {"image_id": 2, "category_id": 1, "segmentation": box_rle([6, 6, 10, 10], 60, 80), "score": 0.7},
               {"image_id": 2, "category_id": 1, "segmentation": box_rle([0, 40, 10, 10], 60, 80), "score": 0.6}]
    _check(gt, results, "segm")
    _check(gt, results, "bbox")  # mask results evaluated as boxes: bbox from the mask (toBbox)
    with_boxes = [{**r, "bbox": [0, 0, 3, 3]} for r in results]  # detectron2 style: bbox decides area
    _check(gt, with_boxes, "segm")
    boxes = [_det(1, 1, [10, 10, 30, 20], 0.9), _det(2, 1, [6, 6, 10, 10], 0.7)]
    _check(gt, boxes, "segm")  # box results as masks: their polygon, rasterized


def test_numpy_results_and_zero_area_boxes() -> None:
    gt = make_gt(IMAGES[:1], [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 0, 20]},
                              {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}])
    array = np.array([[1, 10, 10, 20, 20, 0.9, 1], [1, 10, 10, 0, 0, 0.8, 1], [1, 30, 30, 5, 5, 0.95, 1]], dtype=np.float64)
    _check(gt, array)


def test_annotation_id_zero_is_matched_by_index() -> None:
    """pycocotools stores matches as GT ids and reads id 0 as 'unmatched'; cocoseg uses positions."""
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20]}, {"image_id": 1, "category_id": 1, "bbox": [30, 30, 20, 20]}]
    gt = make_gt(IMAGES[:1], anns)
    dets = [_det(1, 1, [0, 0, 20, 20], 0.9), _det(1, 1, [30, 30, 20, 20], 0.8)]
    zero = copy.deepcopy(gt)
    zero["annotations"][0]["id"] = 0
    ours = evaluate(CocoDataset.from_dict(zero, validate=False), dets)
    assert_same(ours, pycocotools_eval(gt, dets, "bbox"))  # = pycocotools with ids from 1
    assert ours.ap == 1.0
    assert pycocotools_eval(zero, dets, "bbox").stats[0] < 1.0  # pycocotools' quirk


def _person(image_id: int, kps: list, box: list, **extra) -> dict:
    return {"image_id": image_id, "category_id": 1, "bbox": box, "keypoints": kps, **extra}


def test_keypoints_visibility_rules_and_box_branch() -> None:
    rng = np.random.default_rng(3)

    def kps(x0: float, y0: float, visible: int) -> list:
        pts = np.c_[rng.uniform(x0, x0 + 30, 17), rng.uniform(y0, y0 + 40, 17), np.full(17, visible)]
        return [float(v) for v in pts.ravel()]

    anns = [_person(1, kps(10, 10, 2), [10, 10, 30, 40], area=900.0),
            _person(1, kps(40, 5, 0), [40, 5, 30, 40], area=1500.0, num_keypoints=0),  # no visible: ignored
            _person(1, kps(40, 5, 0), [5, 5, 20, 40], area=600.0, num_keypoints=3),  # box branch, not ignored
            _person(2, kps(0, 0, 1), [0, 0, 30, 40], area=1000.0, iscrowd=1)]
    gt = make_gt(IMAGES[:2], anns, keypoints=True)
    dets = [{"image_id": 1, "category_id": 1, "keypoints": (np.array(a["keypoints"]) + rng.normal(0, 2, 51)).tolist(),
             "score": float(s)} for a, s in zip(anns, rng.random(4))]
    dets += [{"image_id": 2, "category_id": 1, "keypoints": kps(0, 0, 1), "score": 0.3}]
    _check(gt, dets, "keypoints")  # area from the keypoint extent
    with_box = [{**d, "bbox": [0, 0, 50, 50]} for d in dets]
    _check(gt, with_box, "keypoints")  # area from the box (loadRes' bbox branch)


def test_keypoint_sigmas_from_the_category() -> None:
    sigmas = np.linspace(0.02, 0.1, 17)
    rng = np.random.default_rng(4)
    pts = [float(v) for v in np.c_[rng.uniform(0, 50, 17), rng.uniform(0, 50, 17), np.full(17, 2)].ravel()]
    gt = make_gt(IMAGES[:1], [_person(1, pts, [0, 0, 50, 50], area=2500.0)], keypoints=True)
    gt["categories"][0]["sigmas"] = sigmas.tolist()
    dets = [{"image_id": 1, "category_id": 1, "keypoints": (np.array(pts) + rng.normal(0, 1.5, 51)).tolist(), "score": 0.9}]
    _check(gt, dets, "keypoints", ref_params={"kpt_oks_sigmas": sigmas})


def test_missing_optional_gt_fields_are_completed() -> None:
    """GT without iscrowd, area or bbox: pycocotools needs them; cocoseg fills them as the dataset core does."""
    anns = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20]}, {"image_id": 1, "category_id": 1, "bbox": [30, 5, 9, 9]}]
    full = make_gt(IMAGES[:1], anns)
    partial = copy.deepcopy(full)
    for ann in partial["annotations"]:
        del ann["iscrowd"], ann["area"]
    del partial["annotations"][1]["bbox"]  # computed from the polygon: its rasterized extent
    full["annotations"][1]["bbox"] = [30.0, 5.0, 10.0, 10.0]
    full["annotations"][1]["area"] = 100.0
    dets = [_det(1, 1, [0, 0, 20, 20], 0.9), _det(1, 1, [30, 5, 10, 9], 0.8), _det(1, 1, [0, 40, 5, 5], 0.95)]
    ours = evaluate(CocoDataset.from_dict(partial, validate=False), copy.deepcopy(dets))
    assert_same(ours, pycocotools_eval(full, dets, "bbox"))


def test_keypoints_pooled_categories_match_across_categories() -> None:
    """With use_cats=False cocoseg pools keypoint categories (pycocotools matches nothing there)."""
    rng = np.random.default_rng(6)
    pts = [float(v) for v in np.c_[rng.uniform(0, 50, 17), rng.uniform(0, 50, 17), np.full(17, 2)].ravel()]
    gt = make_gt(IMAGES[:1], [_person(1, pts, [0, 0, 50, 50], area=2500.0)], keypoints=True)
    dets = [{"image_id": 1, "category_id": 1, "keypoints": (np.array(pts) + 1.0).tolist(), "score": 0.9}]
    ds = CocoDataset.from_dict(gt, validate=False)
    pooled, per_cat = evaluate(ds, dets, "keypoints", use_cats=False), evaluate(ds, dets, "keypoints")
    np.testing.assert_array_equal(pooled.stats, per_cat.stats)
    assert pooled.ap > 0.9 and pycocotools_eval(gt, dets, "keypoints", useCats=0).stats[0] == 0
