"""Random small datasets (hypothesis) evaluated by cocoseg and pycocotools: every array equal to 1e-12.

Boxes sit on a coarse grid of a small image so that score ties, IoUs exactly at a threshold,
equal IoUs, crowd regions, area-range edges and the max_dets cut all happen often.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pycocotools")
sys.path.insert(0, str(Path(__file__).parent))
from _cases import bitmap_rle, make_gt, uncompressed  # noqa: E402
from _oracle import assert_same, assert_same_matches, pycocotools_eval  # noqa: E402

from cocoseg.eval import evaluate  # noqa: E402
from cocoseg.io import CocoDataset  # noqa: E402

SIZE = 24
SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

VARIANTS = {
    "default": ({}, {}),
    "max_dets": ({"max_dets": [1, 2, 4]}, {"maxDets": [1, 2, 4]}),
    "areas": ({"area_ranges": [("all", 0, 1e10), ("small", 0, 20), ("medium", 20, 80), ("large", 80, 1e10)]},
              {"areaRng": [[0, 1e10], [0, 20], [20, 80], [80, 1e10]]}),
    "pooled": ({"use_cats": False}, {"useCats": 0}),
}


def _box(rng: np.random.Generator) -> list[float]:
    x, y = rng.integers(0, SIZE - 2, 2)
    w, h = rng.integers(1, SIZE - max(x, y), 2) if rng.random() < 0.8 else rng.uniform(0.5, 8, 2)
    return [float(x), float(y), float(w), float(h)]


def _dataset(seed: int, n_images: int, n_cats: int, max_gt: int, max_dt: int, tie_scores: bool):
    rng = np.random.default_rng(seed)
    images = [(i + 1, SIZE, SIZE) for i in range(n_images)]
    anns, dets = [], []
    for image_id, _, _ in images:
        for _ in range(int(rng.integers(0, max_gt + 1))):
            box = _box(rng)
            ann = {"image_id": image_id, "category_id": int(rng.integers(1, n_cats + 1)), "bbox": box,
                   "iscrowd": int(rng.random() < 0.3)}
            if ann["iscrowd"] and anns and anns[-1]["image_id"] == image_id and rng.random() < 0.5:
                x, y, w, h = anns[-1]["bbox"]  # a crowd region around the previous object
                ann.update(category_id=anns[-1]["category_id"], bbox=[max(x - 3, 0.0), max(y - 3, 0.0), w + 6, h + 6])
            if rng.random() < 0.3:
                ann["area"] = float(rng.choice([10.0, 20.0, 50.0, 80.0, 200.0]))
            anns.append(ann)
        for _ in range(int(rng.integers(0, max_dt + 1))):
            score = float(rng.integers(1, 5)) / 4 if tie_scores else float(rng.random())
            mine = [a for a in anns if a["image_id"] == image_id]
            src = mine[int(rng.integers(len(mine)))] if mine and rng.random() < 0.7 else None
            box = [float(v + d) for v, d in zip(src["bbox"], rng.integers(-2, 3, 4) * (rng.random() < 0.7))] if src else _box(rng)
            box[2], box[3] = max(box[2], 0.5), max(box[3], 0.5)
            cat = src["category_id"] if src and rng.random() < 0.8 else int(rng.integers(1, n_cats + 2))
            dets.append({"image_id": image_id, "category_id": cat, "bbox": box, "score": score})
    if not dets:  # pycocotools' loadRes needs at least one result
        dets.append({"image_id": 1, "category_id": 1, "bbox": _box(rng), "score": 0.5})
    return make_gt(images, anns, categories=list(range(1, n_cats + 1))), dets, rng


def _compare(gt: dict, dets: list, iou_type: str, variant: str) -> None:
    ours_kw, ref_kw = VARIANTS[variant]
    ref = pycocotools_eval(gt, dets, iou_type, **ref_kw)
    ds = CocoDataset.from_dict(gt, validate=False)
    ours = evaluate(ds, copy.deepcopy(dets), iou_type, pycocotools_compat=True, **ours_kw)
    assert_same(ours, ref)
    assert_same_matches(ours, ref, gt)
    if variant in ("default", "pooled"):
        assert_same(evaluate(ds, copy.deepcopy(dets), iou_type, **ours_kw), ref)


CASE = dict(seed=st.integers(0, 2**31), n_images=st.integers(1, 4), n_cats=st.integers(1, 2), max_gt=st.integers(0, 10),
            max_dt=st.integers(0, 15), tie_scores=st.booleans(), variant=st.sampled_from(sorted(VARIANTS)))


@SETTINGS
@given(**CASE)
def test_bbox(seed, n_images, n_cats, max_gt, max_dt, tie_scores, variant) -> None:
    gt, dets, _ = _dataset(seed, n_images, n_cats, max_gt, max_dt, tie_scores)
    _compare(gt, dets, "bbox", variant)


def _blob(rng: np.random.Generator, box: list[float]) -> np.ndarray:
    m = np.zeros((SIZE, SIZE), np.uint8)
    x, y, w, h = (int(round(v)) for v in box)
    m[y:y + max(h, 1), x:x + max(w, 1)] = 1
    return m & (rng.random((SIZE, SIZE)) < 0.85)


@SETTINGS
@given(**CASE)
def test_segm(seed, n_images, n_cats, max_gt, max_dt, tie_scores, variant) -> None:
    gt, dets, rng = _dataset(seed, n_images, n_cats, max_gt, max_dt, tie_scores)
    for ann in gt["annotations"]:
        kind = rng.integers(3)
        if kind == 1:
            ann["segmentation"] = bitmap_rle(_blob(rng, ann["bbox"]))
        elif kind == 2 or ann["iscrowd"]:
            ann["segmentation"] = uncompressed(bitmap_rle(_blob(rng, ann["bbox"])))
    for det in dets:
        det["segmentation"] = bitmap_rle(_blob(rng, det.pop("bbox")))
    _compare(gt, dets, "segm", variant)


@SETTINGS
@given(seed=st.integers(0, 2**31), n_images=st.integers(1, 3), max_gt=st.integers(0, 4), max_dt=st.integers(0, 6),
       tie_scores=st.booleans(), with_box=st.booleans(), max_dets=st.sampled_from([None, [2]]))
def test_keypoints(seed, n_images, max_gt, max_dt, tie_scores, with_box, max_dets) -> None:
    gt, dets, rng = _dataset(seed, n_images, 1, max_gt, max_dt, tie_scores)
    for ann in gt["annotations"]:
        x, y, w, h = ann["bbox"]
        vis = rng.choice([0, 1, 2], 17, p=[0.4, 0.3, 0.3]) * (rng.random() < 0.8)
        ann["keypoints"] = np.c_[rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17), vis].ravel().tolist()
        ann["num_keypoints"] = int(np.count_nonzero(vis)) if rng.random() < 0.9 else int(rng.integers(0, 3))
    for det in dets:
        x, y, w, h = det["bbox"] if with_box else det.pop("bbox")
        det["keypoints"] = np.c_[rng.uniform(x - 2, x + w + 2, 17), rng.uniform(y - 2, y + h + 2, 17), rng.random(17)].ravel().tolist()
    ours_kw = {} if max_dets is None else {"max_dets": max_dets}
    ref = pycocotools_eval(gt, dets, "keypoints", **({} if max_dets is None else {"maxDets": max_dets}))
    ds = CocoDataset.from_dict(gt, validate=False)
    ours = evaluate(ds, copy.deepcopy(dets), "keypoints", pycocotools_compat=True, **ours_kw)
    assert_same(ours, ref)
    assert_same_matches(ours, ref, gt)
