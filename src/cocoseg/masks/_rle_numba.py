"""Packed-RLE loops in numba: the fallback of `cocoseg._native` (csrc/rle.c), the same arithmetic.

maskApi.c exactly: `rleFrString` (decoding, including its `m > 2` delta rule), `rleArea`, and
`rleToBbox` as in pycocotools 2.0.11 (a run crossing a column boundary makes the box span the
full height).
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def decode_into(chars, start, end, out):  # pragma: no cover - compiled
    """maskApi `rleFrString` of chars[start:end] into out (uint32); returns the number of runs."""
    m = 0
    p = start
    while p < end:
        x = 0
        k = 0
        more = True
        while more:
            if p >= end:
                break
            c = (np.int64(chars[p]) - 48) & 0xFF
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10) != 0:
                x |= -1 << (5 * k)
        if m > 2:
            x += np.int64(out[m - 2])
        out[m] = np.uint32(x & 0xFFFFFFFF)
        m += 1
    return m


@nb.njit(cache=True, nogil=True)
def _divmod(t, h, inv_h):  # pragma: no cover - compiled
    """(t // h, t % h) for 0 <= t < 2**32 without a division: the float quotient is off by at most one."""
    q = np.int64(t * inv_h)
    r = t - q * h
    if r < 0:
        q -= 1
        r += h
    elif r >= h:
        q += 1
        r -= h
    return q, r


@nb.njit(cache=True, nogil=True)
def box_of_counts(cnts, m, h, w):  # pragma: no cover - compiled
    """maskApi `rleToBbox` of pycocotools 2.0.11 for one decoded RLE: (x, y, w, h) as float64.

    Each non-empty foreground run spans its first to last pixel; a run crossing a column makes
    the box full height. uint32 arithmetic as in C (a mask without foreground wraps around).
    """
    m = (m // 2) * 2
    if m == 0 or h == 0:
        return 0.0, 0.0, 0.0, 0.0
    mask = 0xFFFFFFFF
    inv_h = 1.0 / h
    xs, ys, xe, ye = np.int64(w), np.int64(h), np.int64(0), np.int64(0)
    cc = np.int64(0)
    for j in range(m):
        start = cc
        run = np.int64(cnts[j])
        cc = (cc + run) & mask
        if j % 2 == 0 or run == 0:
            continue
        x_start, y_start = _divmod(start, h, inv_h)
        x_end, y_end = _divmod((cc - 1) & mask, h, inv_h)
        xs = min(xs, x_start)
        xe = max(xe, x_end)
        if x_start < x_end:
            ys = 0
            ye = h - 1
        else:
            ys = min(ys, y_start)
            ye = max(ye, y_end)
    return float(xs), float(ys), float((xe - xs + 1) & mask), float((ye - ys + 1) & mask)


@nb.njit(cache=True, nogil=True)
def _counts_buffer(offsets):  # pragma: no cover - compiled
    """A uint32 buffer of decoded runs large enough for the longest packed RLE (one run per character)."""
    longest = 0
    for i in range(len(offsets) - 1):
        longest = max(longest, offsets[i + 1] - offsets[i])
    return np.empty(longest + 1, dtype=np.uint32)


@nb.njit(cache=True, nogil=True)
def areas_boxes(chars, offsets, sizes):  # pragma: no cover - compiled
    """(areas (N,), boxes (N, 4)) of packed RLEs."""
    n = len(sizes)
    areas = np.zeros(n)
    boxes = np.zeros((n, 4))
    cnts = _counts_buffer(offsets)
    for i in range(n):
        m = decode_into(chars, offsets[i], offsets[i + 1], cnts)
        a = np.uint32(0)
        for j in range(1, m, 2):
            a += cnts[j]
        areas[i] = a
        x, y, bw, bh = box_of_counts(cnts, m, sizes[i, 0], sizes[i, 1])
        boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3] = x, y, bw, bh
    return areas, boxes


@nb.njit(cache=True, nogil=True)
def gather(chars, offsets, rows):  # pragma: no cover - compiled
    lengths = offsets[rows + 1] - offsets[rows]
    out_off = np.zeros(len(rows) + 1, dtype=np.int64)
    for i in range(len(rows)):
        out_off[i + 1] = out_off[i] + lengths[i]
    out = np.empty(out_off[-1], dtype=np.uint8)
    for i in range(len(rows)):
        s = offsets[rows[i]]
        for k in range(lengths[i]):
            out[out_off[i] + k] = chars[s + k]
    return out, out_off


@nb.njit(cache=True, nogil=True)
def rle_totals(chars, offsets):  # pragma: no cover - compiled
    """The sum of each packed RLE's decoded runs (int64)."""
    n = len(offsets) - 1
    totals = np.zeros(n, dtype=np.int64)
    cnts = _counts_buffer(offsets)
    for i in range(n):
        m = decode_into(chars, offsets[i], offsets[i + 1], cnts)
        t = 0
        for j in range(m):
            t += np.int64(cnts[j])
        totals[i] = t
    return totals
