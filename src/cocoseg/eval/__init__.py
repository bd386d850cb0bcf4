"""COCO evaluation with pycocotools' numbers to the last bit, fast, incremental and mergeable.

Use
---
    result = evaluate("instances_val2017.json", "detections.json", "segm")
    print(result.summary())            # pycocotools' 12 lines (10 for keypoints)
    result.ap, result.ap50, result.ar100, result.stats, result.precision  # [T, R, K, A, M]
    result.per_class                   # [{category_id, name, ap, ap50, ap75, ap_small, ..., ar100, num_gt, num_dt}]

    ev = Evaluator(gt, "bbox")         # training validation, sharded evaluation
    ev.add(image_id, boxes_xyxy=..., scores=..., category_ids=...)   # arrays, no JSON round trip
    state = ev.state()                 # picklable per-image results
    main = Evaluator(gt, "bbox"); main.update_from(state_a); main.update_from(state_b)
    main.compute()                     # == one process over all images, bit for bit
    ev.compute(Evaluator.merge([state_a, state_b]))   # the same, the evaluator left as it is

`analyze` (see `cocoseg.eval.analysis.analyze`) builds PR/F1 curves, the confusion matrix, TIDE errors and
slices on top of an evaluation.

Semantics (pycocotools' COCOeval, checked array by array against it)
------------------------------------------------------------------
IoU thresholds 0.50:0.05:0.95 and recall thresholds 0:0.01:1 by linspace; per (image, category)
detections stable-sorted by score and cut to max_dets[-1] before IoUs; GT ignored when crowd (the
file's `ignore` key is overwritten), when outside the area range by its `area` field, or (keypoints)
without visible keypoints; greedy matching per threshold (regular GT first, crowd GT reusable,
IoU with crowd = intersection / detection area); unmatched detections outside the area range
ignored; precision interpolated from the right and sampled with searchsorted; -1 for categories
without GT, left out of the means. Results are loaded with `loadRes` rules
(`cocoseg.io.results`). OKS sigmas come from the category's `sigmas` field when present, else
COCO's 17 defaults (`keypoint_sigmas=` overrides both). The precision/recall/scores arrays and the
stats equal pycocotools 2.0.11's exactly (the tests allow 1e-12 and see 0).

Where cocoseg departs from pycocotools (only where pycocotools is ill-defined)
-----------------------------------------------------------------------------
- Matches are kept as row positions, not annotation ids: pycocotools reads GT id 0 as
  "unmatched" and so counts the detection matching it as a false positive; here it is a match.
- Keypoints with use_cats=False pool the categories (pycocotools matches nothing there: its
  computeOks looks the GT up under category -1).
- The summary honours custom max_dets and area ranges: AP lines use max_dets[-1], there is one
  AR line per max_dets value and one AP/AR line per area range after the first. pycocotools
  hard-codes maxDets=100 (20) for the headline AP and reads maxDets[2] (cocoapi #558);
  `pycocotools_compat=True` reproduces that choice exactly. Defaults give identical lines.
- Inputs pycocotools crashes on are accepted: an empty result list (every GT missed), polygon
  or uncompressed-RLE mask results, GT without `iscrowd` (0), without `area` (the box's w*h) or
  without `num_keypoints` (counted from the visibilities).

Per-image results (`EvalState`, `EvalResult.state`) for analysis and merging
---------------------------------------------------------------------------
A = area ranges, T = IoU thresholds (params order), D detection rows, G GT rows. A cell is an
(image, category) pair [an image with pooled categories].
- image_ids (I,): images covered, ascending.
- Detection rows, those kept after the per-cell cut to max_dets[-1], ordered by (image id,
  category, rank) [(image id, rank) with pooled categories]: dt_image_id, dt_category_id,
  dt_score, dt_rank (position in its cell after the stable score sort; rank < m is the
  max_dets=m subset), dt_index (position in the evaluator's input: the result's index in the
  results file, or the running count of add(); boxes, areas and masks are there).
- GT rows, ordered by (image id, category, file order): gt_image_id, gt_category_id,
  gt_ann_index (position in gt.annotations), gt_area, gt_iscrowd; gt_ignore (A, G) bool.
- The matches, one small code per (row, area range, threshold), cell-local so that they need no
  renumbering when states are merged or images resampled:
  dt_match (D, A, T): 0 false positive; 1 ignored, unmatched (outside the area range);
  2 * (j + 1) + i matched the j-th GT row of its cell, i = 1 when that GT is ignored (crowd,
  outside the area range): then the detection is ignored too. True positive: even and >= 2.
  gt_match (G, A, T): 0 unmatched; r + 1 matched by the cell's detection of rank r (the last
  one for crowd GT).
  Codes are uint8 while every cell has at most 127 GT and 255 detections (uint16, then uint32,
  beyond): 40 bytes a detection with COCO's parameters, where (A, T) int32 rows plus a bool
  ignore flag took 200. One row's codes are adjacent (the C core reads them so).
- Decoded on demand (never built by the evaluation itself): dt_gt (A, T, D) int32, the GT row
  each detection matched or -1; dt_ignore (A, T, D) bool, neither true nor false positive
  (TP = dt_gt >= 0 & ~dt_ignore, FP = dt_gt < 0 & ~dt_ignore); gt_dt (A, T, G) int32, the
  detection row matching each GT or -1. `dt_gt_at(a)`, `dt_ignore_at(a)`, `gt_dt_at(a)` give one
  area range's (T, N) slice at a quarter of the cost.
`EvalState.merge` concatenates states of disjoint image sets (stable in image-id order);
accumulation sorts by (category, -score, image id, rank), which is pycocotools' mergesort of its
image-ordered concatenation, so the numbers never depend on how images were sharded.
"""
from typing import Any

from cocoseg.eval.evaluator import Evaluator, compute, evaluate
from cocoseg.eval.params import EvalParams
from cocoseg.eval.result import EvalResult
from cocoseg.eval.state import EvalState

__all__ = ["EvalParams", "EvalResult", "EvalState", "Evaluator", "analyze", "compute", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "analyze":  # imported on first use: the analysis layer is not needed to evaluate
        from cocoseg.eval.analysis.analyze import analyze

        return analyze
    raise AttributeError(f"module 'cocoseg.eval' has no attribute {name!r}")
