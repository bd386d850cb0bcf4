"""What `evaluate()` and `Evaluator` accept, normalised: the GT, the results and the IoU type's spelling.

GT: a COCO JSON path, a CocoDataset, a COCO dict, or a COCO API object (pycocotools' `COCO`,
`cocoseg.compat.COCO`, anything with a `dataset` dict and `createIndex`). Results: a results JSON
path, a list of result dicts, an (N, 7) array, a mapping of columns, DetectionResults, or a
results COCO object (`loadRes`' output). `iouType=` is pycocotools' spelling of `iou_type=`.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cocoseg.errors import CocosegError
from cocoseg.io.dataset import CocoDataset


def _is_coco_api(obj: Any) -> bool:
    return isinstance(getattr(obj, "dataset", None), dict) and callable(getattr(obj, "createIndex", None))


def as_dataset(gt: Any) -> CocoDataset:
    """The GT as a CocoDataset (files are loaded and validated; dicts and COCO objects are validated, not copied)."""
    if isinstance(gt, CocoDataset):
        return gt
    if isinstance(gt, (str, Path)):
        return CocoDataset.load(gt)
    if isinstance(gt, dict):
        return CocoDataset.from_dict(gt, file="<COCO dict>", _owned=True)
    if _is_coco_api(gt):
        return CocoDataset.from_dict(gt.dataset, file=f"<{type(gt).__module__}.{type(gt).__name__}>", _owned=True)
    hint = " (the results go second: evaluate(gt, results))" if isinstance(gt, (list, tuple)) else ""
    raise CocosegError("gt must be a COCO JSON path, a CocoDataset, a COCO dict or a pycocotools COCO, "
                       f"got {type(gt).__name__}{hint}")


def as_results(results: Any) -> Any:
    """Results in a form `cocoseg.io.results.load_results` reads (a results COCO becomes its records)."""
    if _is_coco_api(results):
        return list(results.dataset.get("annotations", []))
    if results is None:
        raise CocosegError("results are missing: give a results JSON path, a list of result dicts or arrays")
    return results


def iou_type_of(iou_type: str | None, iouType: str | None) -> str:  # noqa: N803 - pycocotools' spelling
    """The IoU type given as `iou_type` or pycocotools' `iouType` (both: they must agree)."""
    if iouType is None:
        return "bbox" if iou_type is None else iou_type
    if iou_type is not None and iou_type != iouType:
        raise CocosegError(f"iou_type={iou_type!r} and iouType={iouType!r} disagree; give one of them")
    return iouType


def warn_category_sigmas(category_ids: Iterable[int]) -> None:
    """One warning that categories' own `sigmas` fields set the OKS (pycocotools always uses its kpt_oks_sigmas)."""
    ids = sorted(category_ids)
    if ids:
        warnings.warn(f"keypoint OKS uses the `sigmas` field of categor{'y' if len(ids) == 1 else 'ies'} "
                      f"{', '.join(map(str, ids))} instead of COCO's 17 sigmas (pycocotools ignores that field, so "
                      "AP differs from its); pass keypoint_sigmas= to choose explicitly", UserWarning, stacklevel=4)
