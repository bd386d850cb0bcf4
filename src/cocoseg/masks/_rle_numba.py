"""Packed-RLE loops in numba: the fallback of `cocoseg._native` (csrc/rle.c), the same arithmetic.

maskApi.c exactly: `rleFrString` (decoding, including its `m > 2` delta rule), `rleArea`, and
`rleToBbox` as in pycocotools 2.0.11 (a run crossing a column boundary makes the box span the
full height); `rle_stats` does area, box and the validator's rule in one pass, as csrc/rle.c does.
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


@nb.njit(cache=True, nogil=True, inline="always")
def _grow_box(start, cc, h, inv_h, xs, ys, xe, ye):  # pragma: no cover - compiled
    """The box (xs, ys, xe, ye) grown by the foreground run of pixels [start, cc): `rleToBbox`'s step."""
    x_start, y_start = _divmod(start, h, inv_h)
    x_end, y_end = _divmod((cc - 1) & 0xFFFFFFFF, h, inv_h)
    xs, xe = min(xs, x_start), max(xe, x_end)
    if x_start < x_end:
        return xs, np.int64(0), xe, h - 1
    return xs, min(ys, y_start), xe, max(ye, y_end)


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
        xs, ys, xe, ye = _grow_box(start, cc, h, inv_h, xs, ys, xe, ye)
    return float(xs), float(ys), float((xe - xs + 1) & mask), float((ye - ys + 1) & mask)


MAX_SIDE = 2**31 - 1  # cocoseg.io.validate_records.MAX_SIDE (masks may not import io)


@nb.njit(cache=True, nogil=True)
def rle_measure(chars, start, end, h, w, box):  # pragma: no cover - compiled
    """One pass over chars[start:end] (maskApi `rleFrString`, runs not stored): returns (area, valid) and
    fills box (4,) with `rleToBbox`; valid: the validator's rule holds (exact arithmetic: characters
    '0'..'o', no value cut off or over 12 groups, runs >= 0 summing to h*w, sides in 0..MAX_SIDE)."""
    mask = 0xFFFFFFFF
    ok = 0 <= h <= MAX_SIDE and 0 <= w <= MAX_SIDE
    hw = h * w if ok else 0
    total, exact1, exact2, m, p, cc = 0, 0, 0, 0, start, 0
    xs, ys, xe, ye = np.int64(w), np.int64(h), np.int64(0), np.int64(0)
    prev1, prev2, a = np.int64(0), np.int64(0), np.int64(0)
    inv_h = 1.0 / h if h > 0 else 0.0
    while p < end:
        x = np.int64(0)
        k = 0
        more = True
        while more and p < end:
            c = (np.int64(chars[p]) - 48) & 0xFF
            if chars[p] < 48 or chars[p] > 111:
                ok = False
            if k < 12:
                x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10) != 0 and k < 13:
                x |= np.int64(-1) << (5 * k)
        if more or k > 12:
            ok = False
        exact = x + (exact2 if m > 2 else 0)
        run = (x + (prev2 if m > 2 else 0)) & mask
        if ok:
            total += exact
            if exact < 0 or exact > hw or total > hw:
                ok = False
        exact2, exact1 = exact1, exact
        prev2, prev1 = prev1, run
        first = cc
        cc = (cc + run) & mask
        if m % 2 == 1 and run != 0 and h != 0:
            xs, ys, xe, ye = _grow_box(first, cc, h, inv_h, xs, ys, xe, ye)
        if m % 2 == 1:
            a = (a + run) & mask
        m += 1
    if m < 2 or h == 0:
        box[0], box[1], box[2], box[3] = 0.0, 0.0, 0.0, 0.0
    else:
        box[0], box[1] = float(xs), float(ys)
        box[2], box[3] = float((xe - xs + 1) & mask), float((ye - ys + 1) & mask)
    return float(a), ok and total == hw


@nb.njit(cache=True, nogil=True)
def rle_stats(chars, offsets, sizes):  # pragma: no cover - compiled
    """(areas (N,), boxes (N, 4), valid (N,) bool) of packed RLEs: `rle_measure` of each."""
    n = len(sizes)
    areas = np.zeros(n)
    boxes = np.zeros((n, 4))
    valid = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        areas[i], valid[i] = rle_measure(chars, offsets[i], offsets[i + 1], sizes[i, 0], sizes[i, 1], boxes[i])
    return areas, boxes, valid


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
