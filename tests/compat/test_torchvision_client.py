"""A client written as torchvision's detection reference drives pycocotools, two ranks simulated in one process.

Per rank: loadRes of each batch, cocoDt assigned, params.imgIds set, evaluate(), evalImgs reshaped to
[K, A, I]; then the ranks' arrays are gathered and merged, evalImgs / params.imgIds / _paramsEval
assigned, accumulate() and summarize(). The drop-in must give pycocotools' numbers and lines.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO as RefCOCO
from pycocotools.cocoeval import COCOeval as RefCOCOeval

sys.path.insert(0, str(Path(__file__).parent))
from _compat_data import shared_file, small_detections, small_gt  # noqa: E402

from cocoseg.compat import COCO, COCOeval  # noqa: E402


class RankEvaluator:
    """torchvision's CocoEvaluator, reduced to one IoU type."""

    def __init__(self, coco_cls: Any, eval_cls: Any, coco_gt: Any, iou_type: str) -> None:
        self.coco_cls, self.coco_gt = coco_cls, coco_gt
        self.coco_eval = eval_cls(coco_gt, iouType=iou_type)
        self.img_ids: list = []
        self.eval_imgs: list = []

    def update(self, results: list, img_ids: list) -> None:
        self.img_ids.extend(img_ids)
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = self.coco_cls.loadRes(self.coco_gt, results) if results else self.coco_cls()
        ev = self.coco_eval
        ev.cocoDt = coco_dt
        ev.params.imgIds = list(img_ids)
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate()
        self.eval_imgs.append(np.asarray(ev.evalImgs).reshape(-1, len(ev.params.areaRng), len(ev.params.imgIds)))


def _merge_and_summarize(ranks: list[RankEvaluator], copy_one: bool = False) -> tuple[Any, str]:
    all_ids = np.array([i for r in ranks for i in r.img_ids])
    all_imgs = np.concatenate([np.concatenate(r.eval_imgs, 2) for r in ranks], 2)
    merged_ids, idx = np.unique(all_ids, return_index=True)
    merged = all_imgs[..., idx]
    ev = ranks[0].coco_eval
    ev.evalImgs = list(merged.flatten())
    if copy_one:  # a dict the drop-in did not build (e.g. sent across processes): pycocotools' own loop
        first = next(i for i, e in enumerate(ev.evalImgs) if e is not None)
        ev.evalImgs[first] = copy.deepcopy(ev.evalImgs[first])
    ev.params.imgIds = list(merged_ids)
    ev._paramsEval = copy.deepcopy(ev.params)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ev.accumulate()
        ev.summarize()
    ev.merged_by_engine = hasattr(ev, "_merged_batches") and ev._merged_batches(ev.params) is not None
    return ev, re.sub(r"t=\d+\.\d+s", "t=", out.getvalue())


def _drive(coco_cls: Any, eval_cls: Any, gt: dict, dets: list, iou_type: str, batch: int = 2,
           copy_one: bool = False) -> tuple[Any, str]:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_cls()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
    images = sorted(im["id"] for im in gt["images"])
    ranks = [RankEvaluator(coco_cls, eval_cls, coco_gt, iou_type) for _ in range(2)]
    for r, rank in enumerate(ranks):
        mine = images[r::2]
        for b in range(0, len(mine), batch):
            ids = mine[b:b + batch]
            rank.update([copy.deepcopy(d) for d in dets if d["image_id"] in ids], ids)
    return _merge_and_summarize(ranks, copy_one)


def _single(gt: dict, dets: list, iou_type: str) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = RefCOCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = RefCOCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(dets)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _check(gt: dict, dets: list, iou_type: str) -> None:
    ref, ref_lines = _drive(RefCOCO, RefCOCOeval, gt, dets, iou_type)
    ours, our_lines = _drive(COCO, COCOeval, gt, dets, iou_type)
    assert our_lines == ref_lines
    for key in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(ours.eval[key], ref.eval[key], err_msg=key)
    np.testing.assert_array_equal(ours.stats, ref.stats)
    np.testing.assert_array_equal(ours.stats, _single(gt, dets, iou_type).stats)  # sharding changes nothing
    assert ours.merged_by_engine, "the merged batches must be accumulated by the engine"


@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_two_ranks_small(iou_type: str) -> None:
    gt = small_gt()
    _check(gt, small_detections(gt), iou_type)


@pytest.mark.parametrize("iou_type,results", [("bbox", "instances_val2014_fakebbox100_results.json"),
                                              ("segm", "instances_val2014_fakesegm100_results.json")])
def test_two_ranks_fake100(iou_type: str, results: str) -> None:
    gt = json.loads(shared_file("data", "cocoapi-val2014-fake100", "annotations", "instances_val2014_100.json").read_text())
    dets = json.loads(shared_file("data", "cocoapi-val2014-fake100", "results", results).read_text())
    gt["images"] = [im for im in gt["images"] if im["id"] in {d["image_id"] for d in dets}][:24]
    keep = {im["id"] for im in gt["images"]}
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in keep]
    _check(gt, [d for d in dets if d["image_id"] in keep], iou_type)


def test_foreign_dicts_take_pycocotools_loop() -> None:
    gt = small_gt()
    dets = small_detections(gt)
    ours, _ = _drive(COCO, COCOeval, gt, dets, "bbox", copy_one=True)
    assert not ours.merged_by_engine
    ref, _ = _drive(RefCOCO, RefCOCOeval, gt, dets, "bbox", copy_one=True)
    for key in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(ours.eval[key], ref.eval[key], err_msg=key)
