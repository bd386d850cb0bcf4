"""pycocotools as the oracle: run COCOeval silently and compare every array with cocoseg's result."""
from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np


def pycocotools_eval(gt: dict, results: list | np.ndarray, iou_type: str, **params: Any) -> Any:
    """A finished COCOeval (evaluate, accumulate, summarize) on deep copies of the inputs."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results) if isinstance(results, list) else results)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same(ours: Any, ref: Any, atol: float = 1e-12) -> None:
    """Stats, precision, recall and scores equal to pycocotools' within atol (shapes identical)."""
    for name in ("precision", "recall", "scores"):
        a, b = getattr(ours, name), ref.eval[name]
        assert a.shape == b.shape, (name, a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=name)
    np.testing.assert_allclose(ours.stats, np.asarray(ref.stats), rtol=0, atol=atol, err_msg="stats")


def assert_same_matches(ours: Any, ref: Any, gt: dict) -> None:
    """Per image, category and area range: the same detections, matches and ignore flags as evalImgs.

    Detection ids are result positions + 1 (loadRes); GT ids come from the annotations (assumed >= 1).
    """
    state, p = ours.state, ref.params
    ann_ids = np.array([a["id"] for a in gt["annotations"]], dtype=np.int64)
    area_of = {tuple(r): a for a, r in enumerate(p.areaRng)}
    checked = 0
    for e in ref.evalImgs:
        if e is None:
            continue
        a = area_of[tuple(e["aRng"])]
        dt_rows = np.flatnonzero((state.dt_image_id == e["image_id"])
                                 & ((state.dt_category_id == e["category_id"]) if p.useCats else True))
        dt_rows = dt_rows[np.argsort(state.dt_rank[dt_rows], kind="stable")]
        np.testing.assert_array_equal(state.dt_index[dt_rows] + 1, e["dtIds"])
        gt_rows = np.flatnonzero((state.gt_image_id == e["image_id"])
                                 & ((state.gt_category_id == e["category_id"]) if p.useCats else True))
        gt_rows = gt_rows[np.argsort(state.gt_ignore[a, gt_rows], kind="stable")]  # pycocotools: ignored last
        np.testing.assert_array_equal(ann_ids[state.gt_ann_index[gt_rows]], e["gtIds"])
        np.testing.assert_array_equal(state.gt_ignore[a, gt_rows], np.asarray(e["gtIgnore"], dtype=bool))
        match = state.dt_gt[a][:, dt_rows]
        got = np.where(match >= 0, ann_ids[state.gt_ann_index[np.maximum(match, 0)]] if len(state.gt_ann_index) else 0, 0)
        np.testing.assert_array_equal(got, e["dtMatches"])
        np.testing.assert_array_equal(state.dt_ignore[a][:, dt_rows], np.asarray(e["dtIgnore"], dtype=bool))
        gmatch = state.gt_dt[a][:, gt_rows]
        np.testing.assert_array_equal(np.where(gmatch >= 0, state.dt_index[np.maximum(gmatch, 0)] + 1 if state.num_dt else 0, 0),
                                      e["gtMatches"])
        checked += 1
    assert checked == sum(e is not None for e in ref.evalImgs)
