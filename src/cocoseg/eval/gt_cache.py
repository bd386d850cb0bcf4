"""The GT side of an evaluation, kept for the next one: a second evaluation of the same GT in one
process (every epoch's validation, a sweep over thresholds) neither re-parses nor re-indexes it.

- a GT given as a path: the last file read is kept while its size and mtime are unchanged (its
  evaluation columns, and the CocoDataset once something asks for the records), with the GT table
  and GT masks of each image/category selection evaluated on it;
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
from cocoseg.io.gt_scan import GtColumns, scan_gt_file

_last_file: dict | None = None  # {"key": (path, size, mtime), "dataset": CocoDataset, "columns": GtColumns | None}
_per_dataset: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _file_entry(path: str | os.PathLike) -> dict | None:
    """The kept entry of this file (a new, empty one when another file or version was kept), or None
    when the file cannot be looked at (the loader reports it)."""
    global _last_file
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p), st.st_size, st.st_mtime_ns)
    if _last_file is None or _last_file["key"] != key:
        _last_file = {"key": key}  # the previous file's records go before the new one is parsed
    return _last_file


def load_gt(path: str | os.PathLike) -> CocoDataset:
    """CocoDataset.load(path), reused while the file is unchanged."""
    entry = _file_entry(path)
    if entry is None:
        return CocoDataset.load(path)
    if "dataset" not in entry:
        entry["dataset"] = CocoDataset.load(path)
    return entry["dataset"]


def load_columns(path: str | os.PathLike) -> GtColumns | None:
    """scan_gt_file(path) (the evaluation columns, None when the file needs the full loader), reused
    while the file is unchanged."""
    entry = _file_entry(path)
    if entry is None:
        return None
    if "columns" not in entry:
        entry["columns"] = scan_gt_file(path)
    return entry["columns"]


def _entry(gt: CocoDataset | GtColumns, params: EvalParams) -> dict:
    stamp = (id(gt.images), len(gt.images), id(gt.annotations), len(gt.annotations), id(gt.categories),
             len(gt.categories)) if isinstance(gt, CocoDataset) else ()  # columns are never edited
    held = _per_dataset.get(gt)
    if held is None or held["stamp"] != stamp:
        held = {"stamp": stamp, "by_params": {}}
        _per_dataset[gt] = held
    key = (params.iou_type == "keypoints", params.image_ids, params.category_ids, params.keypoint_sigmas)
    return held["by_params"].setdefault(key, {})


def _kept(gt: CocoDataset | GtColumns) -> bool:
    return _last_file is not None and (_last_file.get("dataset") is gt or _last_file.get("columns") is gt)


def gt_table(gt: CocoDataset | GtColumns, params: EvalParams) -> GtTable:
    """build_gt_table(gt, params), reused for the same dataset and image/category selection."""
    if not _kept(gt):
        return build_gt_table(gt, params)
    entry = _entry(gt, params)
    if "table" not in entry:
        entry["table"] = build_gt_table(gt, params)
    return entry["table"]


def gt_masks(gt: CocoDataset | GtColumns, params: EvalParams, build: Callable[[], Any]) -> Any:
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
