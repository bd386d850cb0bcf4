"""Inputs for the drop-in tests: a small GT and detections built in code, the shared data, and the reference run."""
from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask

ROOT = Path(__file__).resolve().parents[2]
_SHARED = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]  # beside the project, or beside the worktrees


def shared_file(*parts: str) -> Path:
    """A file of the shared data, or skip the test with a reason."""
    for base in _SHARED:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    pytest.skip(f"shared data {'/'.join(parts)} is absent (looked beside the project)")
    raise AssertionError  # unreachable


def _keypoints(rng: np.random.Generator, box: list[float], visible: int) -> list[float]:
    x, y, w, h = box
    pts = []
    for j in range(17):
        v = 2 if j < visible else 0
        pts += [float(x + rng.uniform(0, w)), float(y + rng.uniform(0, h)), v] if v else [0.0, 0.0, 0]
    return pts


def small_gt(seed: int = 0) -> dict:
    """3 images, 2 categories, boxes + polygons + 17 keypoints, one crowd RLE, one tiny object."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "height": 120, "width": 160, "file_name": f"{i}.jpg"} for i in (1, 2, 3)]
    anns = []
    boxes = {1: [[10, 10, 50, 40], [60, 20, 40, 60], [100, 70, 8, 6]], 2: [[5, 5, 100, 90], [30, 40, 20, 20]],
             3: [[70, 10, 60, 50]]}
    for img, bs in boxes.items():
        for j, (x, y, w, h) in enumerate(bs):
            cat = 1 if j % 2 == 0 else 2
            poly = [[x, y, x + w, y, x + w * 0.8, y + h, x, y + h * 0.9]]
            area = float(coco_mask.area(coco_mask.merge(coco_mask.frPyObjects(poly, 120, 160))))
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat, "bbox": [x, y, w, h], "area": area,
                         "iscrowd": 0, "segmentation": poly, "keypoints": _keypoints(rng, [x, y, w, h], 5 + j * 3),
                         "num_keypoints": 5 + j * 3})
    crowd = np.zeros((120, 160), np.uint8)
    crowd[60:110, 100:150] = 1
    rle = coco_mask.encode(np.asfortranarray(crowd))
    from cocoseg.masks import decompress

    anns.append({"id": len(anns) + 1, "image_id": 2, "category_id": 1, "bbox": [100, 60, 50, 50], "area": 2500.0,
                 "iscrowd": 1, "segmentation": decompress({"size": rle["size"], "counts": rle["counts"].decode()}),
                 "keypoints": [0.0] * 51, "num_keypoints": 0})
    cats = [{"id": 1, "name": "a", "supercategory": "s"}, {"id": 2, "name": "b", "supercategory": "s"},
            {"id": 3, "name": "unused", "supercategory": "t"}]
    return {"info": {"description": "small"}, "images": images, "annotations": anns, "categories": cats}


def small_detections(gt: dict, seed: int = 1) -> list[dict]:
    """Jittered copies of the GT (some duplicated, some wrong category, one per image pure noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        for k in range(2):
            x, y, w, h = (np.asarray(a["bbox"], float) + rng.normal(0, 3 + 3 * k, 4)).tolist()
            w, h = max(w, 2.0), max(h, 2.0)
            x, y = min(max(x, 0.0), 150.0), min(max(y, 0.0), 110.0)
            bitmap = np.zeros((120, 160), np.uint8)
            bitmap[int(y):int(y + h), int(x):int(x + w)] = 1
            rle = coco_mask.encode(np.asfortranarray(bitmap))
            kps = np.asarray(a["keypoints"], float).reshape(17, 3)
            kps[:, :2] += rng.normal(0, 2, (17, 2))
            kps[:, 2] = 1
            out.append({"image_id": a["image_id"], "category_id": a["category_id"] if k == 0 else 3 - a["category_id"],
                        "bbox": [round(v, 2) for v in (x, y, w, h)], "score": float(np.round(rng.uniform(0.05, 1), 3)),
                        "segmentation": {"size": [120, 160], "counts": rle["counts"].decode()},
                        "keypoints": kps.ravel().round(2).tolist()})
    out[3]["score"] = out[4]["score"]  # a tie: the stable sorts must agree
    return out


def run(coco_cls: Any, eval_cls: Any, gt: dict, dets: Any, iou_type: str, params: dict | None = None) -> Any:
    """evaluate/accumulate/summarize on copies, quietly: the COCOeval, or the exception raised."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt = coco_cls()
            coco_gt.dataset = copy.deepcopy(gt)
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(copy.deepcopy(dets) if isinstance(dets, list) else dets)
            ev = eval_cls(coco_gt, coco_dt, iou_type)
            for key, value in (params or {}).items():
                setattr(ev.params, key, copy.deepcopy(value))
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return ev
    except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
        return exc


def assert_same_eval_imgs(ours: list, ref: list) -> None:
    """evalImgs equal entry by entry: None where None, every field's value, dtype and shape."""
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert (a is None) == (b is None)
        if a is None:
            continue
        assert a.keys() == b.keys()
        for key in b:
            if isinstance(b[key], np.ndarray):
                assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            else:
                assert a[key] == b[key], key


def assert_same(ours: Any, ref: Any) -> None:
    """Same exception type, or the same eval arrays, stats and evalImgs."""
    if isinstance(ref, Exception) or isinstance(ours, Exception):
        assert type(ours) is type(ref), (ours, ref)
        return
    for key in ("precision", "recall", "scores"):
        assert ours.eval[key].shape == ref.eval[key].shape, key
        np.testing.assert_array_equal(ours.eval[key], ref.eval[key], err_msg=key)
    assert ours.eval["counts"] == ref.eval["counts"]
    np.testing.assert_array_equal(np.asarray(ours.stats), np.asarray(ref.stats))
    assert_same_eval_imgs(ours.evalImgs, ref.evalImgs)
