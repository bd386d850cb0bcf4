"""torchmetrics' MeanAveragePrecision(backend="pycocotools") after init_as_pycocotools(): pycocotools' numbers.

Runs in a subprocess: init_as_pycocotools() replaces modules for the rest of its process, and no
other test may see that.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torchmetrics")

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

SCRIPT = r"""
import json, sys
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
from _compat_data import small_detections, small_gt
from pycocotools import mask as coco_mask
import types

# torchvision is not installed (cocoseg has no use for it); torchmetrics' pycocotools backend only needs its
# box_convert(xyxy -> xywh), given here in four lines of torch.
import torchmetrics.detection.mean_ap as tm_map  # its import checks for torchvision: before the shim
tm_map._TORCHVISION_AVAILABLE = True
ops = types.ModuleType("torchvision.ops")
ops.box_convert = lambda b, in_fmt, out_fmt: torch.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
sys.modules["torchvision"] = types.ModuleType("torchvision")
sys.modules["torchvision"].ops = ops
sys.modules["torchvision.ops"] = ops
MeanAveragePrecision = tm_map.MeanAveragePrecision

gt = small_gt()
dets = small_detections(gt)

def masks_of(segms, h, w):
    out = []
    for s in segms:
        rle = coco_mask.frPyObjects(s, h, w) if isinstance(s, list) or isinstance(s.get("counts"), list) else s
        rle = coco_mask.merge(rle) if isinstance(rle, list) else rle
        if isinstance(rle.get("counts"), str):
            rle = {"size": rle["size"], "counts": rle["counts"].encode()}
        out.append(coco_mask.decode(rle).astype(bool))
    return torch.tensor(np.stack(out)) if out else torch.zeros((0, h, w), dtype=torch.bool)

def xyxy(b):
    return [b[0], b[1], b[0] + b[2], b[1] + b[3]]

preds, target = [], []
for im in gt["images"]:
    h, w = im["height"], im["width"]
    d = [x for x in dets if x["image_id"] == im["id"]]
    g = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
    preds.append({"boxes": torch.tensor([xyxy(x["bbox"]) for x in d], dtype=torch.float64).reshape(-1, 4),
                  "scores": torch.tensor([x["score"] for x in d], dtype=torch.float64),
                  "labels": torch.tensor([x["category_id"] for x in d]),
                  "masks": masks_of([x["segmentation"] for x in d], h, w)})
    target.append({"boxes": torch.tensor([xyxy(a["bbox"]) for a in g], dtype=torch.float64).reshape(-1, 4),
                   "labels": torch.tensor([a["category_id"] for a in g]),
                   "iscrowd": torch.tensor([a["iscrowd"] for a in g]),
                   "masks": masks_of([a["segmentation"] for a in g], h, w)})

def compute():
    out = {}
    for iou_type in ("bbox", "segm"):
        metric = MeanAveragePrecision(backend="pycocotools", iou_type=iou_type, class_metrics=True)
        metric.update(preds, target)
        out[iou_type] = {k: v.tolist() for k, v in metric.compute().items()}
    return out

reference = compute()
import cocoseg.compat
from cocoseg.compat import cocoeval as compat_eval
calls = []
engine = compat_eval.run_engine
compat_eval.run_engine = lambda *a: calls.append(1) or engine(*a)
cocoseg.compat.init_as_pycocotools()
import pycocotools.cocoeval
assert pycocotools.cocoeval.COCOeval is cocoseg.compat.COCOeval
ours = compute()
print(json.dumps({"reference": reference, "ours": ours, "engine_calls": len(calls)}))
"""


def test_mean_average_precision_after_init_as_pycocotools() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(HERE)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["engine_calls"] >= 2, "torchmetrics must have run on the drop-in's engine"
    assert out["ours"] == out["reference"]
    assert out["reference"]["bbox"]["map"] > 0.1 and out["reference"]["segm"]["map"] > 0.1
