"""detectron2's experiment table, run on pycocotools and on the drop-in: every array equal, or the same exception type."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO as RefCOCO
from pycocotools.cocoeval import COCOeval as RefCOCOeval

sys.path.insert(0, str(Path(__file__).parent))
from _compat_data import assert_same, run, small_detections, small_gt  # noqa: E402

from cocoseg.compat import COCO, COCOeval  # noqa: E402

GT = small_gt()
DT = small_detections(GT)
FIELDS = ["id", "image_id", "category_id", "score", "area", "iscrowd", "ignore", "bbox", "segmentation",
          "keypoints", "num_keypoints"]


def _without(records: list, field: str) -> list:
    out = copy.deepcopy(records)
    for r in out:
        r.pop(field, None)
    return out


def _experiments() -> dict:
    gt_no_anns = {**copy.deepcopy(GT), "annotations": []}
    gt_ignore = copy.deepcopy(GT)
    for i, a in enumerate(gt_ignore["annotations"]):
        a["ignore"] = i % 2  # overwritten by iscrowd in pycocotools
    gt_id0 = copy.deepcopy(GT)
    gt_id0["annotations"][0]["id"] = 0
    exps = {
        "full": (DT, GT, {}),
        "empty_dt": ([], GT, {}),
        "empty_gt": (DT, gt_no_anns, {}),
        "no_categories": (DT, GT, {"useCats": 0}),
        "no_ious": (DT, GT, {"iouThrs": []}),
        "one_iou": (DT, GT, {"iouThrs": np.array([0.5])}),
        "iou_list": (DT, GT, {"iouThrs": [0.5, 0.75]}),
        "no_rec_thrs": (DT, GT, {"recThrs": []}),
        "one_rec_thr": (DT, GT, {"recThrs": np.array([0.5])}),
        "no_max_dets": (DT, GT, {"maxDets": []}),
        "one_max_det": (DT, GT, {"maxDets": [1]}),
        "max_dets_unsorted": (DT, GT, {"maxDets": [100, 2, 5]}),
        "no_area": (DT, GT, {"areaRng": [], "areaRngLbl": []}),
        "custom_areas": (DT, GT, {"areaRng": [[0, 1e10], [0, 500], [500, 1e10]], "areaRngLbl": ["all", "small", "large"]}),
        "some_images": (DT, GT, {"imgIds": [2, 3]}),
        "some_categories": (DT, GT, {"catIds": [2]}),
        "unknown_category": (DT, GT, {"catIds": [1, 2, 3, 7]}),
        "ignore_field": (DT, gt_ignore, {}),
        "gt_id_0": (DT, gt_id0, {}),
        "numpy_results": (np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in DT]), GT, {}),
    }
    for field in FIELDS:
        exps[f"omit_gt_{field}"] = (DT, {**GT, "annotations": _without(GT["annotations"], field)}, {})
        exps[f"omit_dt_{field}"] = (_without(DT, field), GT, {})
    return exps


EXPERIMENTS = _experiments()


@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_experiment(name: str, iou_type: str) -> None:
    dt, gt, params = EXPERIMENTS[name]
    if isinstance(dt, np.ndarray) and iou_type != "bbox":
        pytest.skip("numpy results are boxes")
    ref = run(RefCOCO, RefCOCOeval, gt, dt, iou_type, params)
    ours = run(COCO, COCOeval, gt, dt, iou_type, params)
    assert_same(ours, ref)


@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_full_uses_the_engine_and_lazy_fields_match(iou_type: str) -> None:
    ref = run(RefCOCO, RefCOCOeval, GT, DT, iou_type)
    ours = run(COCO, COCOeval, GT, DT, iou_type)
    assert ours._engine is not None, "the clean case must take the fast path"
    assert ours.ious.keys() == ref.ious.keys()
    for key, value in ref.ious.items():
        np.testing.assert_array_equal(np.asarray(ours.ious[key]), np.asarray(value))
    assert {k: [a["id"] for a in v] for k, v in ours._gts.items()} == {k: [a["id"] for a in v] for k, v in ref._gts.items()}
    assert {k: [a["id"] for a in v] for k, v in ours._dts.items()} == {k: [a["id"] for a in v] for k, v in ref._dts.items()}
    assert ours._paramsEval.maxDets == ref._paramsEval.maxDets and ours.eval["params"] is ours.params
    assert isinstance(ours.eval["date"], str) and len(ours.eval["date"]) == 19


def test_params_changed_between_evaluate_and_accumulate() -> None:
    """accumulate() reads the params of the moment (here fewer maxDets), as pycocotools."""
    evs = []
    for coco_cls, eval_cls in ((RefCOCO, RefCOCOeval), (COCO, COCOeval)):
        ev = run(coco_cls, eval_cls, GT, DT, "bbox")
        ev.params.maxDets = [1, 10]
        ev.params.areaRng = ev.params.areaRng[:2]
        ev.accumulate()
        evs.append(ev)
    for key in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(evs[1].eval[key], evs[0].eval[key])
