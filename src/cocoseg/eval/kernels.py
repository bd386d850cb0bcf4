"""The evaluation's compiled loops: the C core (`cocoseg._native`) on several threads, else numba.

Both run pycocotools' operation order (bit-identical numbers; tests compare the two). The C
loops release the GIL, so a call is split into ranges of cells (or categories) of about equal
work, one per thread; each range writes its own rows of the outputs.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from cocoseg.masks.threads import threads  # the one thread-count rule (the RLE and scan loops use it too)
from cocoseg.native import NATIVE

_MIN_WORK = 200_000  # below this much work per call, one thread (the pool costs ~0.1 ms a task)


def _split(work: np.ndarray) -> list[tuple[int, int]]:
    """Ranges [a, b) of items with about equal total `work`, one per thread."""
    n = len(work)
    total = float(work.sum()) if n else 0.0
    k = min(threads(), n) if total >= _MIN_WORK else 1
    if k <= 1:
        return [(0, n)]
    cum = np.cumsum(work, dtype=np.float64)
    cuts = np.searchsorted(cum, total * np.arange(1, k) / k)
    bounds = np.unique(np.r_[0, cuts, n])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _run(ranges: list[tuple[int, int]], call: Callable[[int, int], None]) -> None:
    if len(ranges) == 1:
        call(*ranges[0])
        return
    with ThreadPoolExecutor(len(ranges)) as pool:
        for f in [pool.submit(call, a, b) for a, b in ranges]:
            f.result()


def _c(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def bbox_iou_cells(dt_boxes: np.ndarray, gt_boxes: np.ndarray, gt_crowd: np.ndarray, cell_dt: np.ndarray,
                   cell_gt: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per cell c, the box IoU matrix (D_c, G_c) row-major at offsets[c] (maskApi.c `bbIou`)."""
    if NATIVE is None:
        from cocoseg.eval import _kernels_numba

        return _kernels_numba.bbox_iou_cells(dt_boxes, gt_boxes, gt_crowd, cell_dt, cell_gt, offsets)
    out = np.zeros(int(offsets[-1]))
    args = (_c(dt_boxes, np.float64), _c(gt_boxes, np.float64), _c(gt_crowd, np.bool_).view(np.uint8),
            _c(cell_dt, np.int64), _c(cell_gt, np.int64), _c(offsets, np.int64), out)
    _run(_split(np.diff(offsets)), lambda a, b: NATIVE.bbox_iou_cells(*args, a, b))
    return out


def segm_iou_cells(dt, gt, gt_crowd: np.ndarray, cell_dt: np.ndarray, cell_gt: np.ndarray,
                   offsets: np.ndarray) -> np.ndarray:
    """Per cell c, the mask IoU matrix (D_c, G_c) at offsets[c] (maskApi.c `rleIou`); dt, gt: PackedRles."""
    if NATIVE is None:
        from cocoseg.eval._rle_kernels import segm_iou_cells as numba_cells

        return numba_cells(dt.chars, dt.offsets, dt.sizes, gt.chars, gt.offsets, gt.sizes,
                           _c(gt_crowd, np.bool_), cell_dt, cell_gt, offsets)
    out = np.zeros(int(offsets[-1]))
    args = (dt.chars, dt.offsets, dt.sizes, gt.chars, gt.offsets, gt.sizes, _c(gt_crowd, np.bool_).view(np.uint8),
            _c(cell_dt, np.int64), _c(cell_gt, np.int64), _c(offsets, np.int64), out)
    work = np.diff(offsets) * 8 + (dt.offsets[cell_dt[:, 1]] - dt.offsets[cell_dt[:, 0]])
    _run(_split(work), lambda a, b: NATIVE.segm_iou_cells(*args, a, b))
    return out


def match_cells(iou, iou_base, iou_stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, area_rng,
                thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching of every cell, area range and threshold (COCOeval.evaluateImg).

    Returns dt_gt (A, T, D) int32 matched GT row or -1, dt_ignore (A, T, D) bool,
    gt_dt (A, T, G) int32 matching detection row or -1, gt_ignore (A, G) bool.
    """
    if NATIVE is None:
        from cocoseg.eval import _kernels_numba

        return _kernels_numba.match_cells(iou, iou_base, iou_stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd,
                                          dt_area, area_rng, thresholds)
    n_a, n_t, n_dt, n_gt = len(area_rng), len(thresholds), len(dt_area), len(gt_area)
    dt_gt = np.empty((n_a, n_t, n_dt), np.int32)  # -1 written by the C loop, per thread
    dt_ign = np.zeros((n_a, n_t, n_dt), np.bool_)
    gt_dt = np.empty((n_a, n_t, n_gt), np.int32)
    gt_ign = np.zeros((n_a, n_gt), np.bool_)
    args = (_c(iou, np.float64), _c(iou_base, np.int64), _c(iou_stride, np.int64), _c(cell_dt, np.int64),
            _c(cell_gt, np.int64), _c(gt_area, np.float64), _c(gt_ignore, np.bool_).view(np.uint8),
            _c(gt_crowd, np.bool_).view(np.uint8), _c(dt_area, np.float64), _c(area_rng, np.float64),
            _c(thresholds, np.float64), dt_gt, dt_ign.view(np.uint8), gt_dt, gt_ign.view(np.uint8))
    nd, ng = cell_dt[:, 1] - cell_dt[:, 0], cell_gt[:, 1] - cell_gt[:, 0]
    _run(_split((nd * ng + nd + ng) * (n_a * n_t)), lambda a, b: NATIVE.match_cells(*args, a, b))
    return dt_gt, dt_ign, gt_dt, gt_ign


def accumulate_sorted(codes, rank, scores, seg_starts, npig, max_dets,
                      rec_thr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCOeval.accumulate on rows sorted by (category, -score, image, rank): precision and
    scores (K*A*M*T, R), recall (K*A*M*T,), -1 where a category has no GT (see `_kernels_numba`)."""
    if NATIVE is None:
        from cocoseg.eval import _kernels_numba

        return _kernels_numba.accumulate_sorted(codes, rank, scores, seg_starts, npig, max_dets, rec_thr)
    n_a, n_t = codes.shape[1], codes.shape[2]
    n_k, n_m, n_r = npig.shape[0], len(max_dets), len(rec_thr)
    rows = n_k * n_a * n_m * n_t
    precision, score_out, recall = np.full((rows, n_r), -1.0), np.full((rows, n_r), -1.0), np.full(rows, -1.0)
    args = (_c(codes, np.uint8), _c(rank, np.int64), _c(scores, np.float64), _c(seg_starts, np.int64),
            _c(npig, np.int64), _c(max_dets, np.int64), _c(rec_thr, np.float64), precision, recall, score_out, n_a, n_t)
    work = np.diff(seg_starts) * (n_m * n_a * n_t) + n_a * n_m * n_t * n_r
    _run(_split(work), lambda a, b: NATIVE.accumulate_sorted(*args, a, b))
    return precision, recall, score_out


def match_codes(dt_gt: np.ndarray, dt_ignore: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(D, A, T) uint8 in `order`: 0 ignored, 1 true positive, 2 false positive (from (A, T, D) matches)."""
    n_a, n_t, n_dt = dt_gt.shape
    if NATIVE is None:
        codes = np.where(dt_ignore, np.uint8(0), np.where(dt_gt >= 0, np.uint8(1), np.uint8(2)))
        return np.ascontiguousarray(codes.transpose(2, 0, 1)[order])
    out = np.empty((len(order), n_a, n_t), np.uint8)
    args = (_c(dt_gt, np.int32), _c(dt_ignore, np.bool_).view(np.uint8), _c(order, np.int64), out, n_a * n_t)
    _run(_split(np.full(len(order), n_a * n_t)), lambda a, b: NATIVE.match_codes(*args, a, b))
    return out
