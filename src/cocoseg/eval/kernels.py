"""The evaluation's compiled loops: the C core (`cocoseg._native`) on several threads, else numba.

Both run pycocotools' operation order (bit-identical numbers; tests compare the two). The C
loops release the GIL, so a call is split into ranges of cells (or categories) of about equal
work, one per thread; each range writes its own rows of the outputs. On the C path the detections
are grouped into cells in C (`group_detections`, `cells`), box IoU is computed per cell inside the
matching (`match_boxes`: no IoU array for the batch, the results' boxes read in place) and
accumulation sorts each category itself (`accumulate_state`); the numpy/numba fallback keeps the
array formulation. Both write and read the state's compact match codes (`cocoseg.eval` docstring).
"""
from __future__ import annotations

import mmap
import threading
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
    bounds = np.r_[0, cuts, n]
    bounds = bounds[np.r_[True, bounds[1:] > bounds[:-1]]]  # np.unique would import numpy.ma (~20 ms)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _run(ranges: list[tuple[int, int]], call: Callable[[int, int], None]) -> None:
    """call(a, b) for every range, the first in this thread and the others in threads of their own
    (plain threads: concurrent.futures would add logging and its pool to the import)."""
    errors: list[BaseException] = []

    def guarded(a: int, b: int) -> None:
        try:
            call(a, b)
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(e)

    workers = [threading.Thread(target=guarded, args=r) for r in ranges[1:]]
    for w in workers:
        w.start()
    guarded(*ranges[0])
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


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
                   offsets: np.ndarray, dt_rows: np.ndarray | None = None) -> np.ndarray:
    """Per cell c, the mask IoU matrix (D_c, G_c) at offsets[c] (maskApi.c `rleIou`); dt, gt: PackedRles.

    Detection row r of the cells is `dt`'s row dt_rows[r] (all rows in order when None): the C core reads
    those counts where they are, so the results' counts are not gathered into a score-ordered copy, and
    decodes a detection only when its mask box (`dt.boxes()`, computed once) overlaps a GT's.
    """
    if NATIVE is None:
        from cocoseg.eval._rle_kernels import segm_iou_cells as numba_cells

        dt = dt if dt_rows is None else dt.take(dt_rows)
        return numba_cells(dt.chars, dt.offsets, dt.sizes, gt.chars, gt.offsets, gt.sizes,
                           _c(gt_crowd, np.bool_), cell_dt, cell_gt, offsets)
    rows = np.zeros(0, np.int64) if dt_rows is None else _c(dt_rows, np.int64)
    out = np.zeros(int(offsets[-1]))
    args = (dt.chars, dt.offsets, dt.sizes, dt.boxes(), rows, gt.chars, gt.offsets, gt.sizes,
            _c(gt_crowd, np.bool_).view(np.uint8), _c(cell_dt, np.int64), _c(cell_gt, np.int64), _c(offsets, np.int64), out)
    n_dt, n_gt = cell_dt[:, 1] - cell_dt[:, 0], cell_gt[:, 1] - cell_gt[:, 0]
    work = np.diff(offsets) * 256 + (n_gt > 0) * (n_dt + n_gt) * 64  # a pair's merge, a mask's decoding
    _run(_split(work), lambda a, b: NATIVE.segm_iou_cells(*args, a, b))
    return out


def code_dtype(most: int) -> type:
    """The narrowest unsigned dtype that holds codes up to `most` (the state's match codes)."""
    return np.uint8 if most <= 0xFF else np.uint16 if most <= 0xFFFF else np.uint32


def match_outputs(n_a: int, n_t: int, cell_dt: np.ndarray, cell_gt: np.ndarray) -> tuple[np.ndarray, ...]:
    """Zeroed dt codes (D, A, T), gt codes (G, A, T) and gt_ignore (G, A) of the cells' rows (the state's
    layout, `cocoseg.eval` docstring): codes as narrow as the largest cell allows."""
    nd, ng = cell_dt[:, 1] - cell_dt[:, 0], cell_gt[:, 1] - cell_gt[:, 0]
    most_d, most_g = (int(nd.max()), int(ng.max())) if len(nd) else (0, 0)
    n_dt, n_gt = (int(cell_dt[-1, 1]), int(cell_gt[-1, 1])) if len(nd) else (0, 0)
    return (_zeros((n_dt, n_a, n_t), code_dtype(2 * most_g + 1)), _zeros((n_gt, n_a, n_t), code_dtype(most_d)),
            _zeros((n_gt, n_a), np.bool_))


_SMALL = 1 << 22  # numpy asks for huge pages from 4 MB on


def _zeros(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """np.zeros, on ordinary pages when large: the matching threads write the outputs first, and huge-page
    first-touch faults (2 MB zeroed each, compaction on a busy machine) made that phase vary 2-3x run to
    run; an anonymous mapping's 4 KB pages fault in steadily."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size < _SMALL:
        return np.zeros(shape, dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)  # faulted in at once
    return np.frombuffer(mmap.mmap(-1, size, flags=flags), dtype).reshape(shape)


def match_cells(iou, iou_base, iou_stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, dt_rows,
                area_rng, thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching of every cell, area range and threshold (COCOeval.evaluateImg).

    Detection row d's area is dt_area[dt_rows[d]] (the results' column, not gathered). Returns the
    state's dt_match (D, A, T) and gt_match (G, A, T) codes and gt_ignore (A, G) bool (cells hold
    every row, in order).
    """
    dt_code, gt_code, gt_ign = match_outputs(len(area_rng), len(thresholds), cell_dt, cell_gt)
    if NATIVE is None:
        from cocoseg.eval import _kernels_numba

        _kernels_numba.match_cells(iou, iou_base, iou_stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd,
                                   np.asarray(dt_area, np.float64)[dt_rows], area_rng, thresholds, dt_code, gt_code,
                                   gt_ign)
        return dt_code, gt_code, gt_ign.T
    args = (_c(iou, np.float64), _c(iou_base, np.int64), _c(iou_stride, np.int64), _c(cell_dt, np.int64),
            _c(cell_gt, np.int64), *_match_args(gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng, thresholds),
            dt_code, gt_code, gt_ign.view(np.uint8), dt_code.itemsize, gt_code.itemsize)
    nd, ng = cell_dt[:, 1] - cell_dt[:, 0], cell_gt[:, 1] - cell_gt[:, 0]
    _run(_split((nd * ng + nd + ng) * (len(area_rng) * len(thresholds))), lambda a, b: NATIVE.match_cells(*args, a, b))
    return dt_code, gt_code, gt_ign.T


def _match_args(gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng, thresholds) -> tuple[np.ndarray, ...]:
    return (_c(gt_area, np.float64), _c(gt_ignore, np.bool_).view(np.uint8), _c(gt_crowd, np.bool_).view(np.uint8),
            _c(dt_area, np.float64), _c(dt_rows, np.int64), _c(area_rng, np.float64), _c(thresholds, np.float64))


def match_boxes(dt_boxes, gt_boxes, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng,
                thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`match_cells` of box cells, each cell's IoU computed on the way (C core only: no batch IoU array);
    detection row d's box is dt_boxes[dt_rows[d]] (xywh, the results' column, not gathered)."""
    n_a, n_t = len(area_rng), len(thresholds)
    dt_code, gt_code, gt_ign = match_outputs(n_a, n_t, cell_dt, cell_gt)
    args = (_c(dt_boxes, np.float64), _c(gt_boxes, np.float64), _c(cell_dt, np.int64), _c(cell_gt, np.int64),
            *_match_args(gt_area, gt_ignore, gt_crowd, dt_area, dt_rows, area_rng, thresholds),
            dt_code, gt_code, gt_ign.view(np.uint8), dt_code.itemsize, gt_code.itemsize)
    nd, ng = cell_dt[:, 1] - cell_dt[:, 0], cell_gt[:, 1] - cell_gt[:, 0]
    _run(_split((nd * ng) * (n_a * n_t + 4) + nd + ng), lambda a, b: NATIVE.match_boxes(*args, a, b))
    return dt_code, gt_code, gt_ign.T


def cells(g_key: np.ndarray, d_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cell_dt, cell_gt) (C, 2) row ranges of the sorted union of two sorted key columns."""
    if NATIVE is None:
        union = np.union1d(g_key, d_key)
        ranges = [np.stack([np.searchsorted(k, union, "left"), np.searchsorted(k, union, "right")], 1).astype(np.int64)
                  for k in (d_key, g_key)]
        return ranges[0], ranges[1]
    cell_gt, cell_dt = np.empty((len(g_key) + len(d_key), 2), np.int64), np.empty((len(g_key) + len(d_key), 2), np.int64)
    n = NATIVE.cells(_c(g_key, np.int64), _c(d_key, np.int64), cell_gt, cell_dt)
    return cell_dt[:n], cell_gt[:n]


def group_detections(image_ids, category_ids, scores, eval_images, eval_categories, image_mask, use_cats: bool,
                     max_det: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """C core of `tables.select_detections`: (index, img, cat, rank) of the detections kept, in cell order."""
    n = len(scores)
    out = [_zeros((n,), np.int64) for _ in range(4)]
    kept = NATIVE.group_detections(_c(image_ids, np.int64), _c(category_ids, np.int64), _c(scores, np.float64),
                                   _c(eval_images, np.int64), _c(eval_categories, np.int64), _c(image_mask, np.uint8),
                                   *out, int(use_cats), int(max_det), threads())
    return tuple(o[:kept] for o in out)


def accumulate_state(dk: np.ndarray, n_k: int, image_id: np.ndarray, rank: np.ndarray, score: np.ndarray,
                     dt_match: np.ndarray, npig: np.ndarray, max_dets: np.ndarray,
                     rec_thr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCOeval.accumulate of state rows: precision and scores [T, R, K, A, M], recall [T, K, A, M], -1 where
    a category has no GT. dk: each row's category position; dt_match: the state's (D, A, T) codes."""
    n_a, n_t = dt_match.shape[1], dt_match.shape[2]
    n_m, n_r = len(max_dets), len(rec_thr)
    if NATIVE is None:
        # pycocotools: mergesort of -score over the concatenation in image-id order, each image's
        # detections in their cell order: i.e. ordered by (-score, image id, rank) within a category.
        order = np.lexsort((rank, image_id, -score, dk))
        seg_starts = np.searchsorted(dk[order], np.arange(n_k + 1))
        from cocoseg.eval import _kernels_numba

        flat = _kernels_numba.accumulate_sorted(dt_match[order], rank[order], score[order], seg_starts, npig,
                                                max_dets, rec_thr)
        shape = (n_k, n_a, n_m, n_t)  # (K*A*M*T, R) rows -> COCOeval's layout
        return (np.ascontiguousarray(flat[0].reshape(*shape, -1).transpose(3, 4, 0, 1, 2)),
                np.ascontiguousarray(flat[1].reshape(shape).transpose(3, 0, 1, 2)),
                np.ascontiguousarray(flat[2].reshape(*shape, -1).transpose(3, 4, 0, 1, 2)))
    if len(image_id) > 1 and not bool(np.all(image_id[1:] >= image_id[:-1])):  # the C core reads rows in state order
        order = np.argsort(image_id, kind="stable")
        dk, rank, score, dt_match = dk[order], rank[order], score[order], dt_match[order]
    seg_starts = np.zeros(n_k + 1, np.int64)
    counted = dk if not len(dk) or int(dk.min()) >= 0 else dk[dk >= 0]  # no copy of dk when every row has a category
    np.cumsum(np.bincount(counted, minlength=n_k)[:n_k], out=seg_starts[1:])
    precision, score_out = np.full((n_t, n_r, n_k, n_a, n_m), -1.0), np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
    recall = np.full((n_t, n_k, n_a, n_m), -1.0)
    codes = np.ascontiguousarray(dt_match)
    args = (_c(dk, np.int64), seg_starts, _c(rank, np.int64), _c(score, np.float64),
            codes, _c(npig, np.int64), _c(max_dets, np.int64), _c(rec_thr, np.float64), precision, recall, score_out,
            n_a, n_t, n_k, codes.itemsize)
    work = np.diff(seg_starts) * (n_m * n_a * n_t + 16) + n_a * n_m * n_t * n_r
    _run(_split(work), lambda a, b: NATIVE.accumulate_groups(*args, a, b))
    return precision, recall, score_out
