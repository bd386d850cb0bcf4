"""The GT side of an evaluation, kept for the next one: a second evaluation of the same GT in one
process (every epoch's validation, a sweep over thresholds) neither re-parses nor re-indexes it.

- a GT given as a path: the last file loaded is kept while its size and mtime are unchanged, with
  the GT table and GT masks of each image/category selection evaluated on it;
- a CocoDataset passed in is the caller's (it may be edited between evaluations): nothing is
  kept for it beyond the Evaluator's own life.
`clear()` drops everything (the kept file holds its records' memory).
"""
from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cocoseg.eval.params import EvalParams
from cocoseg.eval.tables import GtTable, build_gt_table
from cocoseg.io.dataset import CocoDataset

_last_file: tuple[tuple, CocoDataset] | None = None
_per_dataset: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def load_gt(path: str | os.PathLike) -> CocoDataset:
    """CocoDataset.load(path), reused while the file is unchanged."""
    global _last_file
    p = Path(path).resolve()
    try:
        st = p.stat()
        key: tuple = (str(p), st.st_size, st.st_mtime_ns)
    except OSError:
        return CocoDataset.load(path)  # the loader reports it
    if _last_file is not None and _last_file[0] == key:
        return _last_file[1]
    _last_file = None  # let the previous one go before the new one is parsed
    gt = CocoDataset.load(path)
    _last_file = (key, gt)
    return gt


def _entry(gt: CocoDataset, params: EvalParams) -> dict:
    stamp = (id(gt.images), len(gt.images), id(gt.annotations), len(gt.annotations), id(gt.categories),
             len(gt.categories))
    held = _per_dataset.get(gt)
    if held is None or held["stamp"] != stamp:
        held = {"stamp": stamp, "by_params": {}}
        _per_dataset[gt] = held
    key = (params.iou_type == "keypoints", params.image_ids, params.category_ids, params.keypoint_sigmas)
    return held["by_params"].setdefault(key, {})


def _kept(gt: CocoDataset) -> bool:
    return _last_file is not None and _last_file[1] is gt


def gt_table(gt: CocoDataset, params: EvalParams) -> GtTable:
    """build_gt_table(gt, params), reused for the same dataset and image/category selection."""
    if not _kept(gt):
        return build_gt_table(gt, params)
    entry = _entry(gt, params)
    if "table" not in entry:
        entry["table"] = build_gt_table(gt, params)
    return entry["table"]


def gt_masks(gt: CocoDataset, params: EvalParams, build: Callable[[], Any]) -> Any:
    """The packed GT masks of the table rows (`build()` on first use), reused like the table."""
    if not _kept(gt):
        return build()
    entry = _entry(gt, params)
    if "masks" not in entry:
        entry["masks"] = build()
    return entry["masks"]


def clear() -> None:
    """Forget the kept file and every dataset's tables and masks."""
    global _last_file
    _last_file = None
    _per_dataset.clear()


# At exit the kept GT (millions of GC-tracked lists at scale) would otherwise live through the
# collector's shutdown passes, which traverse it each time (0.06 s of a 1 s val2017 evaluation):
# let it go first, so it is freed by reference counting once the caller's last reference goes.
atexit.register(clear)
