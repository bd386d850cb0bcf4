"""The GT masks of segm evaluation: the C polygon rasterizer gives pycocotools' annToRLE byte for byte."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from cocoseg.errors import DataError
from cocoseg.eval import gt_cache, gt_masks
from cocoseg.eval.evaluator import Evaluator
from cocoseg.io.dataset import CocoDataset
from cocoseg.native import NATIVE

needs_native = pytest.mark.skipif(NATIVE is None, reason="cocoseg._native is not built here (no C compiler at install)")


def _reference(parts: list, h: int, w: int) -> bytes:
    """pycocotools' COCO.annToRLE of a polygon segmentation: frPyObjects, then merge."""
    return coco_mask.merge(coco_mask.frPyObjects(parts, h, w))["counts"]


def _native(instances: list, sizes: list) -> list[bytes]:
    part_len = [len(p) for inst in instances for p in inst]
    coords = np.array([v for inst in instances for p in inst for v in p], np.float64)
    part_starts = np.r_[0, np.cumsum(part_len)].astype(np.int64)
    ann_parts = np.r_[0, np.cumsum([len(i) for i in instances])].astype(np.int64)
    packed = gt_masks._rasterize(coords, part_starts, ann_parts, np.array(sizes, np.int64).reshape(-1, 2))
    return [packed.chars[packed.offsets[i]:packed.offsets[i + 1]].tobytes() for i in range(len(instances))]


def _random_instances(rng: np.random.Generator, n: int) -> tuple[list, list]:
    instances, sizes = [], []
    for _ in range(n):
        h, w = int(rng.integers(1, 90)), int(rng.integers(1, 90))
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(3, 14))
            cx, cy, r = rng.uniform(-0.3 * w, 1.3 * w), rng.uniform(-0.3 * h, 1.3 * h), rng.uniform(0, 0.7 * max(h, w))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k)) if rng.random() < 0.7 else rng.uniform(0, 2 * np.pi, k)
            xy = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
            if rng.random() < 0.3:
                xy = np.round(xy * 2) / 2  # on the half-pixel lattice, where rounding ties happen
            if rng.random() < 0.2:
                xy[1] = xy[0]  # a repeated vertex: a zero-length edge
            parts.append(xy.ravel().tolist())
        instances.append(parts)
        sizes.append((h, w))
    return instances, sizes


@needs_native
def test_random_polygons_equal_pycocotools_bytes() -> None:
    rng = np.random.default_rng(10)
    instances, sizes = _random_instances(rng, 1500)
    got = _native(instances, sizes)
    for inst, (h, w), counts in zip(instances, sizes, got):
        assert counts == _reference(inst, h, w), (inst, h, w)


DEGENERATE = [
    [[5.0, 5.0, 5.0, 5.0, 5.0, 5.0]],  # one point thrice
    [[0.0, 0.0, 10.0, 0.0, 20.0, 0.0]],  # collinear, zero area
    [[1.0, 1.0, 9.0, 9.0, 1.0, 9.0, 9.0, 1.0]],  # self-crossing bow tie
    [[0.0, 0.0, 16.0, 0.0, 16.0, 12.0, 0.0, 12.0]],  # the whole image, on its border
    [[-5.0, -5.0, 30.0, -5.0, 30.0, 20.0, -5.0, 20.0]],  # beyond every side
    [[2.5, 2.5, 7.5, 2.5, 7.5, 7.5, 2.5, 7.5]],  # vertices on pixel centres
    [[2.2, 3.3, 9.9, 3.1, 6.0, 11.0, 1.0]],  # odd length: the last number is dropped, as frPyObjects does
    [[1.0, 1.0, 8.0, 1.0, 8.0, 8.0], [3.0, 3.0, 4.0, 4.0], [9.0, 2.0]],  # small parts after the first
    [[1.0, 1.0, 8.0, 1.0, 8.0, 8.0, 1.0, 8.0], [1.0, 1.0, 8.0, 1.0, 8.0, 8.0, 1.0, 8.0]],  # a part twice
    [[0.1, 0.1, 0.2, 11.9, 0.3, 0.1]],  # a sliver along the left edge
    [[3.0, 1.0, 3.0, 11.0, 3.0000001, 1.0]],  # nearly vertical
    [[15.9, 0.0, 16.0, 12.0, 15.8, 6.0]],  # on the right edge
]


@needs_native
@pytest.mark.parametrize("size", [(12, 16), (1, 1), (1, 16), (12, 1)])
def test_degenerate_polygons_equal_pycocotools_bytes(size: tuple[int, int]) -> None:
    got = _native(DEGENERATE, [size] * len(DEGENERATE))
    for inst, counts in zip(DEGENERATE, got):
        assert counts == _reference(inst, *size), inst


def _write_gt(tmp: Path, anns: list, images: list | None = None) -> Path:
    images = images or [{"id": 1, "width": 40, "height": 30, "file_name": "a.jpg"},
                        {"id": 2, "width": 20, "height": 50, "file_name": "b.jpg"}]
    path = tmp / "gt.json"
    path.write_text(json.dumps({"images": images, "categories": [{"id": 1, "name": "a"}], "annotations": anns}))
    return path


def _ann(i: int, image_id: int, segmentation: object) -> dict:
    return {"id": i, "image_id": image_id, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25.0,
            "iscrowd": int(isinstance(segmentation, dict)), "segmentation": segmentation}


@pytest.mark.parametrize("chunk", [4096, 2])
def test_mixed_gt_masks_equal_the_per_image_pycocotools_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             chunk: int) -> None:
    monkeypatch.setattr(gt_masks, "_CHUNK", chunk)
    rle = coco_mask.encode(np.asfortranarray(np.eye(30, 40, dtype=np.uint8)))
    anns = [_ann(1, 2, [[1, 1, 15, 2, 10, 40]]), _ann(2, 1, {"size": [30, 40], "counts": rle["counts"].decode()}),
            _ann(3, 1, [[0, 0, 39, 0, 39, 29], [5, 5, 9, 5, 9, 9, 5, 9]]),
            _ann(4, 1, {"size": [30, 40], "counts": [5, 10, 1185]}), _ann(5, 2, [[2.5, 3.5, 18.5, 3.5, 10, 45.5]])]
    gt_cache.clear()
    ev = Evaluator(str(_write_gt(tmp_path, anns)), "segm")
    fast = gt_masks.pack_gt_masks(ev.table, ev.gt.annotations, ev.image_sizes, ev.gt.source)
    slow = gt_masks._pack_per_image(ev.table, ev.gt.annotations, ev.image_sizes, ev.gt.source)
    assert list(fast) == list(slow)
    assert fast.sizes.tolist() == [[30, 40]] * 3 + [[50, 20]] * 2


@pytest.mark.parametrize("bad, message", [
    ([[1, 1, 15, 2, 10, 400]], "has the coordinate 400"),
    (None, "segmentation is missing"),
])
def test_gt_mask_errors_name_the_annotation(tmp_path: Path, bad: object, message: str) -> None:
    anns = [_ann(1, 1, [[1, 1, 15, 2, 10, 20]]), _ann(7, 2, bad)]
    if bad is None:
        del anns[1]["segmentation"]
    data = json.loads(_write_gt(tmp_path, anns).read_text())
    ev_segm = Evaluator(CocoDataset.from_dict(data, file="gt.json", validate=False), "segm")  # as an unchecked caller's
    with pytest.raises(DataError, match="annotation id 7") as err:
        ev_segm._gt_masks(np.arange(0))
    assert message in str(err.value).replace(": segmentation", " segmentation").replace("'", "")


def test_real_coco_polygons_equal_pycocotools(coco_mini: Path) -> None:
    gt_cache.clear()
    path = next((coco_mini / "annotations").glob("*.json"))
    ev = Evaluator(str(path), "segm")
    fast = gt_masks.pack_gt_masks(ev.table, ev.gt.annotations, ev.image_sizes, ev.gt.source)
    slow = gt_masks._pack_per_image(ev.table, ev.gt.annotations, ev.image_sizes, ev.gt.source)
    assert len(fast) > 100
    assert np.array_equal(fast.chars, slow.chars) and np.array_equal(fast.offsets, slow.offsets)


@needs_native
def test_gt_table_columns_equal_the_python_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cocoseg.eval import tables
    from cocoseg.eval.params import EvalParams

    anns = [_ann(1, 2, [[1, 1, 15, 2, 10, 40]]), _ann(2, 1, [[0, 0, 39, 0, 39, 29]]), _ann(3, 1, [[2, 2, 9, 2, 9, 9]])]
    anns[0]["bbox"], anns[0]["iscrowd"] = [1.5, 2, 3.25, 4], 1
    del anns[1]["area"]  # completed from the segmentation
    del anns[2]["bbox"]
    data = json.loads(_write_gt(tmp_path, anns).read_text())
    gt = CocoDataset.from_dict(data, file="gt.json", validate=False)
    params = EvalParams.create("segm").resolved(gt.image_ids, [1])
    fast = tables.build_gt_table(gt, params)
    monkeypatch.setattr(tables, "NATIVE", None)
    slow = tables.build_gt_table(gt, params)
    for name in ("img", "cat", "ann_index", "boxes_xywh", "areas", "iscrowd", "ignore", "image_starts"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert fast.iscrowd.tolist() == [False, False, True] and fast.areas[0] > 0
