"""Mask IoU of every evaluation cell on packed RLEs (maskApi.c `rleIou`, compiled, same arithmetic).

Each RLE is decoded once per cell; a pair is only merged when the boxes of the two masks overlap
(as `rleIou` prefilters with `bbIou` on `rleToBbox` boxes); masks of different sizes give -1 there.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from cocoseg.masks._rle_numba import box_of_counts, decode_into


@nb.njit(cache=True, nogil=True)
def _decode_rows(chars, offsets, sizes, r0, r1, cnts, starts, lengths, boxes, areas):  # pragma: no cover
    pos = 0
    for r in range(r0, r1):
        j = r - r0
        m = decode_into(chars, offsets[r], offsets[r + 1], cnts[pos:])
        starts[j] = pos
        lengths[j] = m
        x, y, w, h = box_of_counts(cnts[pos:], m, sizes[r, 0], sizes[r, 1])
        boxes[j, 0], boxes[j, 1], boxes[j, 2], boxes[j, 3] = x, y, w, h
        a = np.int64(0)
        for k in range(1, m, 2):
            a += np.int64(cnts[pos + k])
        areas[j] = a & 0xFFFFFFFF
        pos += m


@nb.njit(cache=True, nogil=True)
def _pair_iou(ca_cnts, a0, ka, cb_cnts, b0, kb, crowd, area_dt):  # pragma: no cover - compiled
    """One `rleIou` merge (uint32 run arithmetic as in C)."""
    ca = np.int64(ca_cnts[a0])
    cb = np.int64(cb_cnts[b0])
    va = False
    vb = False
    a = 1
    b = 1
    inter = np.int64(0)
    union = np.int64(0)
    ct = 1
    while ct > 0:
        c = min(ca, cb)
        if va or vb:
            union += c
            if va and vb:
                inter += c
        ct = 0
        ca -= c
        if ca == 0 and a < ka:
            ca = np.int64(ca_cnts[a0 + a])
            a += 1
            va = not va
        ct += ca
        cb -= c
        if cb == 0 and b < kb:
            cb = np.int64(cb_cnts[b0 + b])
            b += 1
            vb = not vb
        ct += cb
    inter &= 0xFFFFFFFF
    union &= 0xFFFFFFFF
    if inter == 0:
        union = 1
    elif crowd:
        union = area_dt
    return float(inter) / float(union)


@nb.njit(cache=True, nogil=True)
def segm_iou_cells(dt_chars, dt_off, dt_size, gt_chars, gt_off, gt_size, gt_crowd, cell_dt, cell_gt, offsets):  # pragma: no cover
    """Per cell c, the mask IoU matrix (D_c, G_c) row-major at offsets[c]."""
    out = np.zeros(offsets[-1])
    longest_d = 0
    longest_g = 0
    most_d = 0
    most_g = 0
    for c in range(len(cell_dt)):
        chars_d = dt_off[cell_dt[c, 1]] - dt_off[cell_dt[c, 0]]
        chars_g = gt_off[cell_gt[c, 1]] - gt_off[cell_gt[c, 0]]
        longest_d = max(longest_d, chars_d)
        longest_g = max(longest_g, chars_g)
        most_d = max(most_d, cell_dt[c, 1] - cell_dt[c, 0])
        most_g = max(most_g, cell_gt[c, 1] - cell_gt[c, 0])
    cd = np.empty(longest_d + 1, dtype=np.uint32)
    cg = np.empty(longest_g + 1, dtype=np.uint32)
    sd, ld, ad = np.empty(most_d, np.int64), np.empty(most_d, np.int64), np.empty(most_d, np.int64)
    sg, lg, ag = np.empty(most_g, np.int64), np.empty(most_g, np.int64), np.empty(most_g, np.int64)
    bd, bg = np.empty((most_d, 4)), np.empty((most_g, 4))
    for c in range(len(cell_dt)):
        d0, d1, g0, g1 = cell_dt[c, 0], cell_dt[c, 1], cell_gt[c, 0], cell_gt[c, 1]
        nd, ng = d1 - d0, g1 - g0
        if nd == 0 or ng == 0:
            continue
        _decode_rows(dt_chars, dt_off, dt_size, d0, d1, cd, sd, ld, bd, ad)
        _decode_rows(gt_chars, gt_off, gt_size, g0, g1, cg, sg, lg, bg, ag)
        base = offsets[c]
        for g in range(ng):
            gx, gy, gw, gh = bg[g, 0], bg[g, 1], bg[g, 2], bg[g, 3]
            for d in range(nd):
                dx, dy, dw, dh = bd[d, 0], bd[d, 1], bd[d, 2], bd[d, 3]
                w = min(dw + dx, gw + gx) - max(dx, gx)
                h = min(dh + dy, gh + gy) - max(dy, gy)
                if w <= 0 or h <= 0:
                    continue  # bbIou gives 0: rleIou skips the pair
                if dt_size[d0 + d, 0] != gt_size[g0 + g, 0] or dt_size[d0 + d, 1] != gt_size[g0 + g, 1]:
                    out[base + d * ng + g] = -1.0
                    continue
                out[base + d * ng + g] = _pair_iou(cd, sd[d], ld[d], cg, sg[g], lg[g], gt_crowd[g0 + g], ad[d])
    return out
