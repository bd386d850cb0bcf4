"""cocoseg's own evaluate()/Evaluator take every form of GT and results a pycocotools user holds."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO as RefCOCO

sys.path.insert(0, str(Path(__file__).parent))
from _compat_data import run, small_detections, small_gt  # noqa: E402

from cocoseg.compat import COCO, COCOeval  # noqa: E402
from cocoseg.errors import CocosegError  # noqa: E402
from cocoseg.eval import Evaluator, evaluate  # noqa: E402
from cocoseg.io import CocoDataset  # noqa: E402

GT = small_gt()
DT = small_detections(GT)


def _coco(cls: type, data: dict) -> object:
    with contextlib.redirect_stdout(io.StringIO()):
        c = cls()
        c.dataset = copy.deepcopy(data)
        c.createIndex()
    return c


def test_every_gt_form_gives_the_same_stats(tmp_path: Path) -> None:
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(GT))
    forms = [path, str(path), CocoDataset.from_dict(GT), copy.deepcopy(GT), _coco(RefCOCO, GT), _coco(COCO, GT)]
    stats = [evaluate(gt, copy.deepcopy(DT), "segm").stats for gt in forms]
    for s in stats[1:]:
        np.testing.assert_array_equal(s, stats[0])
    np.testing.assert_array_equal(stats[0], run(COCO, COCOeval, GT, DT, "segm").stats)


def test_every_results_form_gives_the_same_stats(tmp_path: Path) -> None:
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(DT))
    array = np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in DT])
    with contextlib.redirect_stdout(io.StringIO()):
        res_coco = _coco(RefCOCO, GT).loadRes(copy.deepcopy(DT))
    forms = [path, str(path), copy.deepcopy(DT), array, res_coco]
    stats = [evaluate(GT, res, iouType="bbox").stats for res in forms]
    for s in stats[1:]:
        np.testing.assert_array_equal(s, stats[0])
    ev = Evaluator(_coco(RefCOCO, GT), iouType="bbox")
    ev.add_results(res_coco)
    np.testing.assert_array_equal(ev.compute().stats, stats[0])


def test_iou_type_spellings() -> None:
    assert evaluate(GT, copy.deepcopy(DT), iouType="keypoints").params.iou_type == "keypoints"
    assert evaluate(GT, copy.deepcopy(DT)).params.iou_type == "bbox"
    assert evaluate(GT, copy.deepcopy(DT), "segm", iouType="segm").params.iou_type == "segm"
    with pytest.raises(CocosegError, match="disagree"):
        evaluate(GT, DT, "bbox", iouType="segm")


def test_wrong_gt_types_say_what_is_expected() -> None:
    with pytest.raises(CocosegError, match="results go second"):
        evaluate(DT, GT)  # type: ignore[arg-type]
    with pytest.raises(CocosegError, match="pycocotools COCO, got int"):
        Evaluator(3)  # type: ignore[arg-type]


def test_category_sigmas_warn_once_per_evaluation() -> None:
    gt = copy.deepcopy(GT)
    gt["categories"][0]["sigmas"] = np.linspace(0.02, 0.1, 17).tolist()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        own = evaluate(gt, copy.deepcopy(DT), "keypoints")
        chosen = evaluate(gt, copy.deepcopy(DT), "keypoints", keypoint_sigmas=np.full(17, 0.05).tolist())
    said = [w for w in caught if "sigmas" in str(w.message)]
    assert len(said) == 1 and "categor" in str(said[0].message) and " 1 " in str(said[0].message)
    default = evaluate(GT, copy.deepcopy(DT), "keypoints")
    assert own.stats[0] != default.stats[0] and chosen.stats[0] != own.stats[0]  # the feature is kept
