"""Subclasses overriding COCOeval's steps (detectron2, mmdetection) and init_as_pycocotools()."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO as RefCOCO
from pycocotools.cocoeval import COCOeval as RefCOCOeval

sys.path.insert(0, str(Path(__file__).parent))
from _compat_data import assert_same, run, shared_file, small_detections, small_gt  # noqa: E402

from cocoseg.compat import COCO, COCOeval  # noqa: E402

GT = small_gt()
DT = small_detections(GT)


class CountingIoU(COCOeval):
    """Overrides computeIoU and calls the base, as detectron2's and mmdetection's subclasses do."""

    calls = 0

    def computeIoU(self, imgId: Any, catId: Any) -> Any:  # noqa: N802, N803
        type(self).calls += 1
        return super().computeIoU(imgId, catId)


class NoMatchesOnCategory2(COCOeval):
    """Overrides evaluateImg: category 2 detections never match (changes the numbers on purpose)."""

    def evaluateImg(self, imgId: Any, catId: Any, aRng: Any, maxDet: int) -> Any:  # noqa: N802, N803
        out = super().evaluateImg(imgId, catId, aRng, maxDet)
        if out is not None and catId == 2:
            out["dtMatches"][:] = 0
        return out


class RefNoMatchesOnCategory2(RefCOCOeval):
    def evaluateImg(self, imgId: Any, catId: Any, aRng: Any, maxDet: int) -> Any:  # noqa: N802, N803
        out = super().evaluateImg(imgId, catId, aRng, maxDet)
        if out is not None and catId == 2:
            out["dtMatches"][:] = 0
        return out


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_overridden_steps_are_called(iou_type: str) -> None:
    CountingIoU.calls = 0
    ours = run(COCO, CountingIoU, GT, DT, iou_type)
    assert CountingIoU.calls == len(GT["images"]) * 3  # every (image, category) cell, as pycocotools
    assert ours._engine is None
    assert_same(ours, run(RefCOCO, RefCOCOeval, GT, DT, iou_type))
    assert_same(run(COCO, NoMatchesOnCategory2, GT, DT, iou_type), run(RefCOCO, RefNoMatchesOnCategory2, GT, DT, iou_type))


def test_cocodt_assigned_after_construction_and_reused_evaluator() -> None:
    evs = []
    for coco_cls, eval_cls in ((RefCOCO, RefCOCOeval), (COCO, COCOeval)):
        with contextlib.redirect_stdout(io.StringIO()):
            gt = coco_cls()
            gt.dataset = json.loads(json.dumps(GT))
            gt.createIndex()
            ev = eval_cls(gt, iouType="bbox")
            ev.cocoDt = gt.loadRes(json.loads(json.dumps(DT)))
            ev.evaluate()
            ev.params.catIds = [1]  # a second evaluation on a subset, as torchmetrics' class metrics do
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        evs.append(ev)
    assert_same(evs[1], evs[0])


def test_summary_lines_equal_on_real_keypoints() -> None:
    gt_file = shared_file("data", "fce-eval-fixtures", "keypoints_val2017_139099", "gt.json")
    dt_file = shared_file("data", "fce-eval-fixtures", "keypoints_val2017_139099", "dt.json")
    out = []
    for coco_cls, eval_cls in ((RefCOCO, RefCOCOeval), (COCO, COCOeval)):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            gt = coco_cls(str(gt_file))
            ev = eval_cls(gt, gt.loadRes(str(dt_file)), "keypoints")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        out.append((ev, [line for line in buf.getvalue().splitlines() if "t=" not in line]))
    assert out[1][1] == out[0][1]
    assert out[1][0]._engine is not None
    assert_same(out[1][0], out[0][0])
    assert np.asarray(out[0][0].stats).max() > 0


INIT_SCRIPT = r"""
import sys
import cocoseg.compat
cocoseg.compat.init_as_pycocotools()
import pycocotools
import pycocotools.coco
from pycocotools import mask, _mask
from pycocotools.cocoeval import COCOeval, Params
from pycocotools.coco import COCO
assert COCO is cocoseg.compat.COCO and COCOeval is cocoseg.compat.COCOeval and Params is cocoseg.compat.Params
assert mask is cocoseg.compat.mask and pycocotools.mask is mask
assert _mask.__name__ == "pycocotools._mask" and hasattr(_mask, "frPyObjects")
from cocoseg.compat import _reference
assert _reference.coco_class() is not COCO  # the real class stays reachable (showAnns)
cocoseg.compat.init_as_pycocotools()  # twice is harmless
print("ok")
"""


def test_init_as_pycocotools_in_a_subprocess() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", INIT_SCRIPT], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
    import pycocotools.coco

    assert pycocotools.coco.COCO is RefCOCO  # this process was left alone


NO_TORCH_SCRIPT = r"""
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
sys.path.insert(0, sys.argv[1])
import contextlib, io
from _compat_data import small_detections, small_gt
from cocoseg.compat import COCO, COCOeval
gt = COCO()
gt.dataset = small_gt()
with contextlib.redirect_stdout(io.StringIO()):
    gt.createIndex()
    ev = COCOeval(gt, gt.loadRes(small_detections(gt.dataset)), "segm")
    ev.evaluate(); ev.accumulate(); ev.summarize()
assert ev._engine is not None and ev.stats[0] > 0
print("ok")
"""


def test_compat_runs_without_torch() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, str(Path(__file__).parent)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
