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
