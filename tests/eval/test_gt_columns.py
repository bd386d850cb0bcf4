"""A GT file given by path is evaluated from its scanned columns (cocoseg.io.gt_scan) with exactly the
numbers, GT masks and errors of the same file loaded as a CocoDataset; its records load only on demand."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as cm

from cocoseg.eval import evaluate, gt_cache
from cocoseg.eval.evaluator import Evaluator
from cocoseg.io.dataset import CocoDataset
from cocoseg.io.gt_scan import GtColumns
from cocoseg.native import NATIVE

from .test_native import _random_case

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the GT scanner is part of the compiled core")


def _with_crowd_rles(gt: dict) -> dict:
    """Some crowd annotations as RLEs (uncompressed, as COCO's, and compressed), images out of id order."""
    for k, a in enumerate(gt["annotations"]):
        if k % 5 == 0:
            rle = cm.frPyObjects(a["segmentation"], 48, 64)[0]
            a["iscrowd"] = 1
            a["segmentation"] = {"size": [48, 64], "counts": rle["counts"].decode()} if k % 10 else \
                {"size": [48, 64], "counts": _uncompressed(cm.decode(rle))}
    gt["images"] = gt["images"][::-1]
    return gt


def _uncompressed(mask: np.ndarray) -> list[int]:
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.r_[0, changes, len(flat)]
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_path_and_dataset_evaluations_are_identical(tmp_path: Path, iou_type: str, seed: int) -> None:
    gt, res = _random_case(np.random.default_rng(seed), iou_type)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(_with_crowd_rles(gt)))
    gt = json.loads(path.read_text())  # plain JSON values, as the file holds them
    gt_cache.clear()
    ev = Evaluator(path, iou_type, image_ids=sorted(im["id"] for im in gt["images"])[1:])
    assert isinstance(ev._source, GtColumns) and ev._gt is None  # read as columns, no records
    ev.add_results(res)
    by_path = ev.compute()
    by_dataset = evaluate(CocoDataset.from_dict(gt), res, iou_type,
                          image_ids=sorted(im["id"] for im in gt["images"])[1:])
    assert np.array_equal(by_path.precision, by_dataset.precision)
    assert np.array_equal(by_path.recall, by_dataset.recall)
    assert by_path.stats.tolist() == by_dataset.stats.tolist()
    if iou_type == "segm":
        columns = ev._gt_masks(np.arange(len(ev.table)))
        full = Evaluator(CocoDataset.from_dict(gt), "segm", image_ids=ev.params.image_ids)._pack_gt_masks()
        assert columns.chars.tobytes() == full.chars.tobytes() and np.array_equal(columns.offsets, full.offsets)
    assert ev.gt.to_dict() == CocoDataset.from_dict(gt).to_dict()  # loaded on first access
    gt_cache.clear()


def test_a_second_evaluation_of_the_file_reuses_its_columns(tmp_path: Path) -> None:
    gt, res = _random_case(np.random.default_rng(3), "bbox")
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    gt_cache.clear()
    first = Evaluator(path, "bbox")
    second = Evaluator(path, "bbox")
    assert second._source is first._source and second.table is first.table
    gt_cache.clear()


def test_a_file_validation_rejects_gives_the_loaders_error(tmp_path: Path) -> None:
    gt, res = _random_case(np.random.default_rng(4), "bbox")
    gt["annotations"][0]["bbox"] = [0, 0, 500, 5]  # far beyond the 64x48 image
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    from cocoseg.errors import DataError

    with pytest.raises(DataError, match=r"bbox"):
        evaluate(path, res, "bbox")
