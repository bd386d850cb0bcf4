"""cocoseg.compat.mask and COCO against pycocotools: values, dtypes, layouts and exception types."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as ref_mask
from pycocotools.coco import COCO as RefCOCO

sys.path.insert(0, str(Path(__file__).parent))
from _compat_data import shared_file, small_detections, small_gt  # noqa: E402

from cocoseg import masks  # noqa: E402
from cocoseg.compat import COCO  # noqa: E402
from cocoseg.compat import mask as our_mask  # noqa: E402


def _bitmaps() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.asfortranarray((rng.random((40, 50, 5)) > 0.6).astype(np.uint8))


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.flags.f_contiguous == b.flags.f_contiguous
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


def test_mask_functions_match_pycocotools() -> None:
    bm = _bitmaps()
    rles = our_mask.encode(bm)
    _same(rles, ref_mask.encode(bm))
    _same(our_mask.encode(bm[:, :, 0]), ref_mask.encode(bm[:, :, 0]))
    _same(our_mask.decode(rles), ref_mask.decode(rles))
    _same(our_mask.decode(rles[1]), ref_mask.decode(rles[1]))
    _same(our_mask.area(rles), ref_mask.area(rles))
    _same(our_mask.area(rles[2]), ref_mask.area(rles[2]))
    _same(our_mask.toBbox(rles), ref_mask.toBbox(rles))
    _same(our_mask.toBbox(rles[0]), ref_mask.toBbox(rles[0]))
    _same(our_mask.iou(rles[:2], rles, [0, 1, 0, 0, 1]), ref_mask.iou(rles[:2], rles, [0, 1, 0, 0, 1]))
    _same(our_mask.merge(rles), ref_mask.merge(rles))
    _same(our_mask.merge(rles, intersect=1), ref_mask.merge(rles, intersect=1))
    poly = [[1.0, 1.0, 30.0, 2.0, 20.0, 35.0]]
    _same(our_mask.frPyObjects(poly, 40, 50), ref_mask.frPyObjects(poly, 40, 50))
    boxes = np.array([[2.0, 3.0, 10.0, 12.0]])
    _same(our_mask.frPyObjects(boxes, 40, 50), ref_mask.frPyObjects(boxes, 40, 50))
    for fn in (our_mask.frPyObjects, ref_mask.frPyObjects):
        with pytest.raises(TypeError):
            fn([[2, 3, 10, 12]], 40, 50)  # boxes as lists: pycocotools wants an ndarray


def test_mask_errors_match_pycocotools() -> None:
    c_order = np.ascontiguousarray(_bitmaps())
    for fn in (our_mask.encode, ref_mask.encode):
        with pytest.raises(ValueError):
            fn(c_order)  # pycocotools wants Fortran order


def test_area_of_many_rles_works() -> None:
    """pycocotools 2.0.11 raises OverflowError for 256+ RLEs under NumPy 2; the drop-in does not (listed)."""
    bm = np.asfortranarray(np.ones((8, 8, 300), np.uint8))
    areas = our_mask.area(our_mask.encode(bm))
    assert areas.dtype == np.uint32 and areas.shape == (300,) and (areas == 64).all()


def test_native_encode_refuses_pycocotools_layout() -> None:
    bm = _bitmaps()
    with pytest.raises(ValueError, match="cocoseg.compat.mask"):
        masks.encode(bm)
    native = masks.encode(np.ascontiguousarray(np.moveaxis(bm, -1, 0)))
    assert [r["counts"] for r in native] == [r["counts"].decode() for r in ref_mask.encode(bm)]


def _both(gt: dict) -> tuple[Any, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        out = []
        for cls in (RefCOCO, COCO):
            c = cls()
            c.dataset = copy.deepcopy(gt)
            c.createIndex()
            out.append(c)
    return out[0], out[1]


def test_queries_match_pycocotools() -> None:
    ref, ours = _both(small_gt())
    calls = [("getAnnIds", {}), ("getAnnIds", {"imgIds": 2}), ("getAnnIds", {"imgIds": [1, 3], "catIds": [2]}),
             ("getAnnIds", {"areaRng": [100, 2000]}), ("getAnnIds", {"iscrowd": 1}), ("getAnnIds", {"catIds": 1}),
             ("getCatIds", {}), ("getCatIds", {"catNms": ["b"]}), ("getCatIds", {"supNms": "t"}),
             ("getCatIds", {"catIds": [1, 3]}), ("getImgIds", {}), ("getImgIds", {"catIds": [1, 2]}),
             ("getImgIds", {"imgIds": [1, 2], "catIds": 2}), ("loadAnns", {"ids": [1, 3]}), ("loadAnns", {"ids": 2}),
             ("loadCats", {"ids": 1}), ("loadImgs", {"ids": [3, 1]})]
    for name, kwargs in calls:
        assert getattr(ours, name)(**kwargs) == getattr(ref, name)(**kwargs), (name, kwargs)
    for key in ("anns", "imgs", "cats"):
        assert getattr(ours, key) == getattr(ref, key)
    assert dict(ours.imgToAnns) == dict(ref.imgToAnns) and dict(ours.catToImgs) == dict(ref.catToImgs)
    for ann in ref.dataset["annotations"]:
        np.testing.assert_array_equal(ours.annToMask(ann), ref.annToMask(ann))
    for name in ("loadAnns", "loadImgs"):
        with pytest.raises(KeyError):
            getattr(ours, name)([999])
    buf = [io.StringIO(), io.StringIO()]
    for c, b in zip((ref, ours), buf):
        with contextlib.redirect_stdout(b):
            c.info()
    assert buf[0].getvalue() == buf[1].getvalue()


@pytest.mark.parametrize("kind", ["bbox", "segm", "keypoints", "numpy", "empty", "unknown_image", "not_a_list"])
def test_load_res_matches_pycocotools(kind: str) -> None:
    gt = small_gt()
    dets = small_detections(gt)
    res: Any = {"bbox": dets, "empty": [], "not_a_list": {"a": 1},
                "segm": [{k: v for k, v in d.items() if k != "bbox"} for d in dets],
                "keypoints": [{k: v for k, v in d.items() if k not in ("bbox", "segmentation")} for d in dets],
                "numpy": np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in dets]),
                "unknown_image": [{**dets[0], "image_id": 99}]}[kind]
    ref, ours = _both(gt)
    out = []
    for coco in (ref, ours):
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                out.append(type(coco).loadRes(coco, copy.deepcopy(res)))  # unbound, as torchvision calls it
            except Exception as exc:  # noqa: BLE001
                out.append(exc)
    if isinstance(out[0], Exception):
        assert type(out[1]) is type(out[0])
        return
    a, b = out[0].dataset["annotations"], out[1].dataset["annotations"]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            if isinstance(x[key], np.ndarray):
                np.testing.assert_array_equal(y[key], x[key])
            else:
                assert y[key] == x[key] and type(y[key]) is type(x[key]), key
    assert out[1].dataset.keys() == out[0].dataset.keys()


def test_load_from_file_and_results_file(tmp_path: Path) -> None:
    gt_file = shared_file("data", "cocoapi-val2014-fake100", "annotations", "instances_val2014_100.json")
    res_file = shared_file("data", "cocoapi-val2014-fake100", "results", "instances_val2014_fakebbox100_results.json")
    with contextlib.redirect_stdout(io.StringIO()):
        ref, ours = RefCOCO(str(gt_file)), COCO(str(gt_file))
        a, b = ref.loadRes(str(res_file)), ours.loadRes(str(res_file))
    assert ours.dataset == ref.dataset and b.dataset["annotations"] == a.dataset["annotations"]
    bad = tmp_path / "list.json"
    bad.write_text(json.dumps([1, 2]))
    for cls in (RefCOCO, COCO):
        with contextlib.redirect_stdout(io.StringIO()), pytest.raises(AssertionError):
            cls(str(bad))
