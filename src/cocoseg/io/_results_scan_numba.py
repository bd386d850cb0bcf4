"""The results scanner in numba: the fallback of `cocoseg._native` (csrc/scan.c), the same rules.

Numbers are exact: short ones by the exact fast path (integer mantissa < 2**53 and a power of ten
<= 1e22, one correctly rounded operation), the others by numpy's correctly rounded conversion.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from cocoseg.io.json_tokens import MAX_TOKEN, number, skip_value, string_end, ws
from cocoseg.io.scan_flags import ScanFlag

_KEYS = [b"image_id", b"category_id", b"score", b"bbox", b"segmentation", b"keypoints", b"size", b"counts"]
_KEY_BYTES = np.frombuffer(b"".join(_KEYS), dtype=np.uint8)
_KEY_OFFSETS = np.cumsum([0] + [len(k) for k in _KEYS]).astype(np.int64)


@nb.njit(cache=True)
def _key_code(buf, s, e):  # pragma: no cover - compiled
    for k in range(len(_KEY_OFFSETS) - 1):
        k0, k1 = _KEY_OFFSETS[k], _KEY_OFFSETS[k + 1]
        if k1 - k0 == e - s:
            same = True
            for j in range(e - s):
                if buf[s + j] != _KEY_BYTES[k0 + j]:
                    same = False
                    break
            if same:
                return k
    return -1



# module-level copies: numba freezes plain globals into the compiled code
_HAS_IMAGE, _HAS_CAT, _HAS_SCORE = ScanFlag.IMAGE_ID, ScanFlag.CATEGORY_ID, ScanFlag.SCORE
_HAS_BOX, _EMPTY_BOX, _HAS_SEGM = ScanFlag.BBOX, ScanFlag.EMPTY_BBOX, ScanFlag.SEGMENTATION
_FAIL = -1


@nb.njit(cache=True)
def _key(buf, i):  # pragma: no cover - compiled
    """(code, index after the ':') for the object key at i; code -1 unknown, -2 invalid."""
    if i >= len(buf) or buf[i] != 34:
        return -2, i
    e = string_end(buf, i)
    if e < 0:
        return -2, i
    for j in range(i + 1, e - 1):
        if buf[j] == 92:  # an escaped key: leave it to the full parser
            return -2, i
    code = _key_code(buf, i + 1, e - 1)
    j = ws(buf, e)
    if j >= len(buf) or buf[j] != 58:
        return -2, i
    return code, ws(buf, j + 1)


@nb.njit(cache=True)
def _after_member(buf, i, close):  # pragma: no cover - compiled
    """After a member/element: (1, next) on ',', (0, next) on the closing byte, (-1, i) otherwise."""
    i = ws(buf, i)
    if i < len(buf) and buf[i] == 44:
        return 1, ws(buf, i + 1)
    if i < len(buf) and buf[i] == close:
        return 0, i + 1
    return -1, i


@nb.njit(cache=True)
def _counts(buf, i, out, pos):  # pragma: no cover - compiled
    """Copy the string at i into out[pos:], unescaping \\ and \\/; (end, new pos), end -1 when unsupported."""
    n = len(buf)
    if i >= n or buf[i] != 34:
        return -1, pos
    i += 1
    while i < n:
        c = buf[i]
        if c == 34:
            return i + 1, pos
        if c < 32:
            return -1, pos
        if c == 92:
            if i + 1 < n and (buf[i + 1] == 92 or buf[i + 1] == 47):
                c = buf[i + 1]
                i += 1
            else:
                return -1, pos
        out[pos] = c
        pos += 1
        i += 1
    return -1, pos


@nb.njit(cache=True)
def _segmentation(buf, i, row, seg_size, cnt_buf, pos):  # pragma: no cover - compiled
    """Parse {"size": [h, w], "counts": "..."}: (end, new pos), end -1 when unsupported."""
    if i >= len(buf) or buf[i] != 123:
        return -1, pos
    i = ws(buf, i + 1)
    found = 0
    start = pos
    while True:
        code, i = _key(buf, i)
        if code == -2:
            return -1, pos
        if code == 6:  # size
            if buf[i] != 91:
                return -1, pos
            for k in range(2):
                i = ws(buf, i + 1)
                i, v, is_int, exact = number(buf, i)
                if i < 0 or not is_int or not exact:
                    return -1, pos
                seg_size[row, k] = int(v)
                i = ws(buf, i)
                if i >= len(buf) or buf[i] != (44 if k == 0 else 93):
                    return -1, pos
            i += 1
            found |= 1
        elif code == 7:  # counts
            pos = start
            i, pos = _counts(buf, i, cnt_buf, pos)
            if i < 0:
                return -1, pos
            found |= 2
        else:
            i = skip_value(buf, i)
            if i < 0:
                return -1, pos
        more, i = _after_member(buf, i, 125)
        if more < 0:
            return -1, pos
        if more == 0:
            break
    if found != 3:
        return -1, pos
    return i, pos


@nb.njit(cache=True)
def _slot(buf, i, dst, which, at, slow_which, slow_at, slow_tok, n_slow):  # pragma: no cover - compiled
    """Parse a number into dst[at] (or the slow list, as column `which`); (end, n_slow), end -1 when invalid."""
    j, v, _, exact = number(buf, i)
    if j < 0:
        return -1, n_slow
    if exact:
        dst[at] = v
    else:
        slow_which[n_slow] = which
        slow_at[n_slow] = at
        for k in range(j - i):  # copied now: counts written in place may later cover these bytes
            slow_tok[n_slow, k] = buf[i + k]
        n_slow += 1
    return j, n_slow


@nb.njit(cache=True)
def _int_field(buf, i):  # pragma: no cover - compiled
    j, v, is_int, exact = number(buf, i)
    if j < 0 or not is_int or not exact:
        return -1, 0
    return j, int(v)


@nb.njit(cache=True)
def _scan(buf, image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf,
          slow_which, slow_at, slow_tok):  # pragma: no cover
    """Scan a JSON list of result objects into the given arrays (see `_outputs`); (rows, slow numbers),
    rows -1 when the layout needs the full parser. cnt_buf may be buf (counts unescaped in place)."""
    cap = len(flags)
    n_slow = 0
    pos = 0
    row = 0
    i = ws(buf, 0)
    fail = (_FAIL, 0)
    if i >= len(buf) or buf[i] != 91:
        return fail
    i = ws(buf, i + 1)
    if i < len(buf) and buf[i] == 93:
        i = ws(buf, i + 1)
        return (0 if i == len(buf) else _FAIL), 0
    while True:
        if row >= cap or i >= len(buf) or buf[i] != 123:
            return fail
        i = ws(buf, i + 1)
        if i < len(buf) and buf[i] == 125:
            return fail  # an empty object lacks the required fields: let the full parser say so
        flags[row] = 0
        while True:
            code, i = _key(buf, i)
            if code == -2 or code == 5:  # invalid, or keypoints (the full parser handles those)
                return fail
            if code == 0 or code == 1:
                i, v = _int_field(buf, i)
                if code == 0:
                    image_ids[row] = v
                else:
                    category_ids[row] = v
                flags[row] |= _HAS_IMAGE if code == 0 else _HAS_CAT
            elif code == 2:
                i, n_slow = _slot(buf, i, scores, 0, row, slow_which, slow_at, slow_tok, n_slow)
                flags[row] |= _HAS_SCORE
            elif code == 3:
                if i >= len(buf) or buf[i] != 91:
                    return fail
                i = ws(buf, i + 1)
                if i < len(buf) and buf[i] == 93:
                    flags[row] |= _EMPTY_BOX
                    i += 1
                else:
                    for k in range(4):
                        i, n_slow = _slot(buf, i, boxes, 1, 4 * row + k, slow_which, slow_at, slow_tok, n_slow)
                        if i < 0:
                            return fail
                        i = ws(buf, i)
                        if i >= len(buf) or buf[i] != (44 if k < 3 else 93):
                            return fail
                        i = ws(buf, i + 1) if k < 3 else i + 1
                    flags[row] |= _HAS_BOX
            elif code == 4:
                i, pos = _segmentation(buf, i, row, seg_size, cnt_buf, cnt_off[row])
                flags[row] |= _HAS_SEGM
            elif code == 6 or code == 7 or code == -1:
                i = skip_value(buf, i)
            if i < 0:
                return fail
            more, i = _after_member(buf, i, 125)
            if more < 0:
                return fail
            if more == 0:
                break
        cnt_off[row + 1] = pos if flags[row] & _HAS_SEGM else cnt_off[row]
        row += 1
        more, i = _after_member(buf, i, 93)
        if more < 0:
            return fail
        if more == 0:
            break
    if ws(buf, i) != len(buf):
        return fail
    return row, n_slow


def scan(buf: np.ndarray, out: tuple) -> int:
    """Fill the `_outputs` arrays from buf; the rows, or -1 when the layout needs the full parser."""
    image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf = out
    n_slots = min(5 * len(flags), len(buf) // 2 + 1)  # a number takes at least 2 bytes with its separator
    slow_which, slow_at = np.empty(n_slots, np.int64), np.empty(n_slots, np.int64)
    slow_tok = np.zeros((n_slots, MAX_TOKEN), np.uint8)
    flat_boxes = boxes.reshape(-1)
    n, n_slow = _scan(buf, image_ids, category_ids, scores, flat_boxes, flags, seg_size, cnt_off, cnt_buf,
                      slow_which, slow_at, slow_tok)
    if n >= 0 and n_slow:
        exact = slow_tok[:n_slow].view(f"S{MAX_TOKEN}").ravel().astype(np.float64)
        which, at = slow_which[:n_slow], slow_at[:n_slow]
        scores[at[which == 0]] = exact[which == 0]
        flat_boxes[at[which == 1]] = exact[which == 1]
    return n
