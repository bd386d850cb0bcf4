"""Compiled loops of the evaluation (numba, cached): box IoU per cell, greedy matching, accumulation.

Each loop follows pycocotools' operation order exactly (same comparisons, same floating-point
expressions), so the results are bit-identical, not merely close.
"""
from __future__ import annotations

import numba as nb
import numpy as np

_EPS = np.spacing(1.0)  # pycocotools: pr = tp / (fp + tp + np.spacing(1))
_IOU_CAP = 1.0 - 1e-10  # pycocotools: iou = min([t, 1 - 1e-10])


@nb.njit(cache=True, nogil=True)
def bbox_iou_cells(dt_boxes, gt_boxes, gt_crowd, cell_dt, cell_gt, offsets):  # pragma: no cover - compiled
    """Per cell c, the IoU matrix (D_c, G_c) row-major at offsets[c] (maskApi.c `bbIou`, same arithmetic)."""
    out = np.zeros(offsets[-1], dtype=np.float64)
    for c in range(len(cell_dt)):
        d0, d1 = cell_dt[c, 0], cell_dt[c, 1]
        g0, g1 = cell_gt[c, 0], cell_gt[c, 1]
        ng = g1 - g0
        base = offsets[c]
        for g in range(ng):
            gx, gy, gw, gh = gt_boxes[g0 + g, 0], gt_boxes[g0 + g, 1], gt_boxes[g0 + g, 2], gt_boxes[g0 + g, 3]
            ga = gw * gh
            crowd = gt_crowd[g0 + g]
            for d in range(d1 - d0):
                dx, dy, dw, dh = dt_boxes[d0 + d, 0], dt_boxes[d0 + d, 1], dt_boxes[d0 + d, 2], dt_boxes[d0 + d, 3]
                da = dw * dh
                w = min(dw + dx, gw + gx) - max(dx, gx)
                if w <= 0:
                    continue
                h = min(dh + dy, gh + gy) - max(dy, gy)
                if h <= 0:
                    continue
                inter = w * h
                union = da if crowd else da + ga - inter
                out[base + d * ng + g] = inter / union
    return out


@nb.njit(cache=True, nogil=True)
def match_cells(iou, iou_base, iou_stride, cell_dt, cell_gt, gt_area, gt_ignore, gt_crowd, dt_area,
                area_rng, thresholds, dt_code, gt_code, gt_ign):  # pragma: no cover - compiled
    """Greedy matching of every cell, area range and IoU threshold (COCOeval.evaluateImg).

    Writes the state's codes (the `cocoseg.eval` docstring) into the zeroed dt_code (D, A, T) and
    gt_code (G, A, T), and gt_ign (G, A) bool.
    """
    n_a, n_t = area_rng.shape[0], thresholds.shape[0]
    order = np.empty(gt_area.shape[0], dtype=np.int64)
    for c in range(len(cell_dt)):
        d0, d1 = cell_dt[c, 0], cell_dt[c, 1]
        g0, g1 = cell_gt[c, 0], cell_gt[c, 1]
        nd, ng = d1 - d0, g1 - g0
        base, stride = iou_base[c], iou_stride[c]
        for a in range(n_a):
            lo, hi = area_rng[a, 0], area_rng[a, 1]
            k = 0
            for g in range(g0, g1):  # ignored GT last, stable (argsort mergesort of _ignore)
                gt_ign[g, a] = gt_ignore[g] or gt_area[g] < lo or gt_area[g] > hi
                if not gt_ign[g, a]:
                    order[k] = g
                    k += 1
            for g in range(g0, g1):
                if gt_ign[g, a]:
                    order[k] = g
                    k += 1
            if nd > 0 and ng > 0:
                for t in range(n_t):
                    cap = min(thresholds[t], _IOU_CAP)
                    for d in range(nd):
                        best = cap
                        m = -1
                        for j in range(ng):
                            g = order[j]
                            if gt_code[g, a, t] != 0 and not gt_crowd[g]:
                                continue
                            if m > -1 and not gt_ign[m, a] and gt_ign[g, a]:
                                break
                            v = iou[base + d * stride + (g - g0)]
                            if v < best:
                                continue
                            best = v
                            m = g
                        if m == -1:
                            continue
                        dt_code[d0 + d, a, t] = 2 * (m - g0 + 1) + (1 if gt_ign[m, a] else 0)
                        gt_code[m, a, t] = d + 1
            for d in range(d0, d1):  # unmatched detections outside the area range are ignored
                if dt_area[d] < lo or dt_area[d] > hi:
                    for t in range(n_t):
                        if dt_code[d, a, t] == 0:
                            dt_code[d, a, t] = 1


@nb.njit(cache=True, nogil=True)
def accumulate_sorted(codes, rank, scores, seg_starts, npig, max_dets, rec_thr):  # pragma: no cover - compiled
    """COCOeval.accumulate: precision and scores (K*A*M*T, R), recall (K*A*M*T,), -1 where no GT.

    Rows are pre-sorted by (category, -score, image, rank) — the mergesort of pycocotools'
    image-ordered concatenation — and category k owns rows seg_starts[k]:seg_starts[k + 1].
    codes (D, A, T): the state's match codes (0 false positive, odd ignored, else true positive);
    rank, scores (D,).

    pycocotools computes rc and pr at every detection, takes pr's running maximum from the right
    and samples it at searchsorted(rc, recThrs, 'left'). rc only grows at true positives and pr
    at other positions never exceeds pr at the preceding true positive, so the same values come
    from the true-positive positions alone: the same divisions, evaluated fewer times.
    (Flat outputs: 5-D indexing here triples the compile time.)
    """
    n_a, n_t = codes.shape[1], codes.shape[2]
    n_k, n_m, n_r = npig.shape[0], max_dets.shape[0], rec_thr.shape[0]
    # outputs as (K, A, M, T, R) blocks: one contiguous row of R per (k, a, m, t)
    precision = np.full((n_k * n_a * n_m * n_t, n_r), -1.0)
    score_out = np.full((n_k * n_a * n_m * n_t, n_r), -1.0)
    recall = np.full(n_k * n_a * n_m * n_t, -1.0)
    idx = np.empty(len(rank), dtype=np.int64)
    tp_pos = np.empty(len(rank), dtype=np.int64)
    tp_rc = np.empty(len(rank))
    tp_pr = np.empty(len(rank))
    for k in range(n_k):
        for m in range(n_m):
            n = 0
            for i in range(seg_starts[k], seg_starts[k + 1]):
                if rank[i] < max_dets[m]:
                    idx[n] = i
                    n += 1
            for a in range(n_a):
                total = npig[k, a]
                if total == 0:
                    continue
                for t in range(n_t):
                    row = ((k * n_a + a) * n_m + m) * n_t + t
                    tp = 0.0
                    fp = 0.0
                    n_tp = 0
                    for j in range(n):
                        c = codes[idx[j], a, t]
                        if c == 0:
                            fp += 1.0
                        elif c % 2 == 0:
                            tp += 1.0
                            tp_pos[n_tp] = j
                            tp_rc[n_tp] = tp / total
                            tp_pr[n_tp] = tp / (fp + tp + _EPS)
                            n_tp += 1
                    recall[row] = tp / total if n else 0.0
                    for e in range(n_tp - 2, -1, -1):
                        if tp_pr[e + 1] > tp_pr[e]:
                            tp_pr[e] = tp_pr[e + 1]
                    rc0 = (1.0 / total) if n_tp and tp_pos[0] == 0 else 0.0
                    e = 0
                    q = 0
                    while q < n_r:
                        thr = rec_thr[q]
                        if n and rc0 >= thr:  # searchsorted gives position 0
                            precision[row, q] = tp_pr[0] if n_tp else 0.0
                            score_out[row, q] = scores[idx[0]]
                        else:
                            while e < n_tp and tp_rc[e] < thr:
                                e += 1
                            if e >= n_tp:  # past the last detection: pycocotools leaves 0
                                break
                            precision[row, q] = tp_pr[e]
                            score_out[row, q] = scores[idx[tp_pos[e]]]
                        q += 1
                    for q2 in range(q, n_r):
                        precision[row, q2] = 0.0
                        score_out[row, q2] = 0.0
    return precision, recall, score_out
