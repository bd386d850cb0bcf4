"""Results JSON straight into columns: a compiled scanner for the common layout, no Python dicts.

`json.load` of 500k result dicts takes seconds and ~1 GB; this scanner reads the bytes once and
fills image_id, category_id, score, bbox and RLE (size, counts) columns. It validates the JSON
grammar of everything it reads or skips. Anything outside the common layout (keypoints, polygon
or uncompressed-RLE results, non-integer ids, nulls, exotic escapes, invalid JSON) makes it give
up, and the caller falls back to the standard parser, which also produces the precise error
messages. Numbers are exact: short ones by the exact fast path (integer mantissa < 2**53 and a
power of ten <= 1e22, one correctly rounded operation), the others by numpy's correctly rounded
string conversion.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

_KEYS = [b"image_id", b"category_id", b"score", b"bbox", b"segmentation", b"keypoints", b"size", b"counts"]
_KEY_BYTES = np.frombuffer(b"".join(_KEYS), dtype=np.uint8)
_KEY_OFFSETS = np.cumsum([0] + [len(k) for k in _KEYS]).astype(np.int64)
_POW10 = np.array([10.0**i for i in range(23)])
_MAX_TOKEN = 32
_MAX_DEPTH = 64


@nb.njit(cache=True)
def _ws(buf, i):  # pragma: no cover - compiled
    n = len(buf)
    while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
        i += 1
    return i


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


@nb.njit(cache=True)
def _string_end(buf, i):  # pragma: no cover - compiled
    """buf[i] is the opening quote; index after the closing quote, -1 when invalid."""
    n = len(buf)
    i += 1
    while i < n:
        c = buf[i]
        if c == 34:
            return i + 1
        if c < 32:
            return -1
        if c == 92:
            if i + 1 >= n:
                return -1
            e = buf[i + 1]
            if e == 117:  # \uXXXX
                if i + 5 >= n:
                    return -1
                for j in range(i + 2, i + 6):
                    h = buf[j]
                    if not ((48 <= h <= 57) or (65 <= h <= 70) or (97 <= h <= 102)):
                        return -1
                i += 6
                continue
            if e not in (34, 92, 47, 98, 102, 110, 114, 116):
                return -1
            i += 2
            continue
        i += 1
    return -1


@nb.njit(cache=True)
def _number(buf, i):  # pragma: no cover - compiled
    """Parse a JSON number at i: (end, value, is_integer, exact); end -1 when invalid.

    exact False means the value must be converted from its text (too many digits).
    """
    n = len(buf)
    start = i
    neg = False
    if i < n and buf[i] == 45:
        neg = True
        i += 1
    if i >= n or not (48 <= buf[i] <= 57):
        return -1, 0.0, False, False
    mant = 0
    digits = 0
    exp10 = 0
    if buf[i] == 48:
        i += 1
        if i < n and 48 <= buf[i] <= 57:
            return -1, 0.0, False, False
    else:
        while i < n and 48 <= buf[i] <= 57:
            if digits < 19:
                mant = mant * 10 + (buf[i] - 48)
                digits += 1
            else:
                exp10 += 1
                digits += 1
            i += 1
    is_int = True
    if i < n and buf[i] == 46:
        is_int = False
        i += 1
        if i >= n or not (48 <= buf[i] <= 57):
            return -1, 0.0, False, False
        while i < n and 48 <= buf[i] <= 57:
            if digits < 19:
                if mant > 0 or buf[i] != 48:
                    digits += 1
                mant = mant * 10 + (buf[i] - 48)
                exp10 -= 1
            else:
                digits += 1
            i += 1
    if i < n and (buf[i] == 101 or buf[i] == 69):
        is_int = False
        i += 1
        eneg = False
        if i < n and (buf[i] == 43 or buf[i] == 45):
            eneg = buf[i] == 45
            i += 1
        if i >= n or not (48 <= buf[i] <= 57):
            return -1, 0.0, False, False
        e = 0
        while i < n and 48 <= buf[i] <= 57:
            if e < 100000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        exp10 += -e if eneg else e
    if i - start > _MAX_TOKEN:
        return -1, 0.0, False, False
    exact = digits <= 18 and mant < 9007199254740992 and -22 <= exp10 <= 22
    if not exact:
        return i, 0.0, is_int, False
    value = float(mant) * _POW10[exp10] if exp10 >= 0 else float(mant) / _POW10[-exp10]
    return i, -value if neg else value, is_int, True


_TRUE, _FALSE, _NULL = (np.frombuffer(w, dtype=np.uint8) for w in (b"true", b"false", b"null"))


@nb.njit(cache=True)
def _literal_end(buf, i):  # pragma: no cover - compiled
    word = _TRUE if buf[i] == 116 else (_FALSE if buf[i] == 102 else _NULL)
    if i + len(word) > len(buf):
        return -1
    for j in range(len(word)):
        if buf[i + j] != word[j]:
            return -1
    return i + len(word)


@nb.njit(cache=True)
def _skip_value(buf, i):  # pragma: no cover - compiled
    """Index after the JSON value starting at i (validated), -1 when invalid."""
    n = len(buf)
    stack = np.zeros(_MAX_DEPTH, dtype=np.uint8)  # 1 = array, 2 = object
    depth = 0
    while True:
        i = _ws(buf, i)
        if i >= n:
            return -1
        c = buf[i]
        if c == 123 or c == 91:  # { or [
            if depth >= _MAX_DEPTH:
                return -1
            stack[depth] = 2 if c == 123 else 1
            depth += 1
            i = _ws(buf, i + 1)
            if i < n and ((c == 123 and buf[i] == 125) or (c == 91 and buf[i] == 93)):
                depth -= 1
                i += 1
            elif c == 123:
                if i >= n or buf[i] != 34:
                    return -1
                i = _string_end(buf, i)
                if i < 0:
                    return -1
                i = _ws(buf, i)
                if i >= n or buf[i] != 58:
                    return -1
                i += 1
                continue
            else:
                continue
        elif c == 34:
            i = _string_end(buf, i)
            if i < 0:
                return -1
        elif c == 116 or c == 102 or c == 110:  # true false null
            i = _literal_end(buf, i)
            if i < 0:
                return -1
        else:
            i, _, _, _ = _number(buf, i)
            if i < 0:
                return -1
        # after a value: close containers or move to the next element
        while True:
            if depth == 0:
                return i
            i = _ws(buf, i)
            if i >= n:
                return -1
            c = buf[i]
            if c == 44:  # ,
                i += 1
                if stack[depth - 1] == 2:
                    i = _ws(buf, i)
                    if i >= n or buf[i] != 34:
                        return -1
                    i = _string_end(buf, i)
                    if i < 0:
                        return -1
                    i = _ws(buf, i)
                    if i >= n or buf[i] != 58:
                        return -1
                    i += 1
                break
            if (c == 93 and stack[depth - 1] == 1) or (c == 125 and stack[depth - 1] == 2):
                depth -= 1
                i += 1
                continue
            return -1


# record flags
_HAS_IMAGE, _HAS_CAT, _HAS_SCORE, _HAS_BOX, _EMPTY_BOX, _HAS_SEGM = 1, 2, 4, 8, 16, 32
_FAIL = -1


@nb.njit(cache=True)
def _key(buf, i):  # pragma: no cover - compiled
    """(code, index after the ':') for the object key at i; code -1 unknown, -2 invalid."""
    if i >= len(buf) or buf[i] != 34:
        return -2, i
    e = _string_end(buf, i)
    if e < 0:
        return -2, i
    for j in range(i + 1, e - 1):
        if buf[j] == 92:  # an escaped key: leave it to the full parser
            return -2, i
    code = _key_code(buf, i + 1, e - 1)
    j = _ws(buf, e)
    if j >= len(buf) or buf[j] != 58:
        return -2, i
    return code, _ws(buf, j + 1)


@nb.njit(cache=True)
def _after_member(buf, i, close):  # pragma: no cover - compiled
    """After a member/element: (1, next) on ',', (0, next) on the closing byte, (-1, i) otherwise."""
    i = _ws(buf, i)
    if i < len(buf) and buf[i] == 44:
        return 1, _ws(buf, i + 1)
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
    i = _ws(buf, i + 1)
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
                i = _ws(buf, i + 1)
                i, v, is_int, exact = _number(buf, i)
                if i < 0 or not is_int or not exact:
                    return -1, pos
                seg_size[row, k] = int(v)
                i = _ws(buf, i)
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
            i = _skip_value(buf, i)
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
def _slot(buf, i, row, slot, values, slow_row, slow_slot, slow_tok, n_slow):  # pragma: no cover - compiled
    """Parse a number into values[row, slot] (or the slow list); (end, n_slow), end -1 when invalid."""
    j, v, _, exact = _number(buf, i)
    if j < 0:
        return -1, n_slow
    if exact:
        values[row, slot] = v
    else:
        slow_row[n_slow] = row
        slow_slot[n_slow] = slot
        slow_tok[n_slow, 0] = i
        slow_tok[n_slow, 1] = j
        n_slow += 1
    return j, n_slow


@nb.njit(cache=True)
def _int_field(buf, i):  # pragma: no cover - compiled
    j, v, is_int, exact = _number(buf, i)
    if j < 0 or not is_int or not exact:
        return -1, 0
    return j, int(v)


@nb.njit(cache=True)
def _scan(buf, ids, values, flags, seg_size, cnt_off, cnt_buf, slow_row, slow_slot, slow_tok):  # pragma: no cover
    """Scan a JSON list of result objects into the given arrays (see `_outputs`); (rows, slow numbers),
    rows -1 when the layout needs the full parser."""
    cap = len(flags)
    n_slow = 0
    pos = 0
    row = 0
    i = _ws(buf, 0)
    fail = (_FAIL, 0)
    if i >= len(buf) or buf[i] != 91:
        return fail
    i = _ws(buf, i + 1)
    if i < len(buf) and buf[i] == 93:
        i = _ws(buf, i + 1)
        return (0 if i == len(buf) else _FAIL), 0
    while True:
        if row >= cap or i >= len(buf) or buf[i] != 123:
            return fail
        i = _ws(buf, i + 1)
        if i < len(buf) and buf[i] == 125:
            return fail  # an empty object lacks the required fields: let the full parser say so
        while True:
            code, i = _key(buf, i)
            if code == -2 or code == 5:  # invalid, or keypoints (the full parser handles those)
                return fail
            if code == 0 or code == 1:
                i, v = _int_field(buf, i)
                ids[row, code] = v
                flags[row] |= _HAS_IMAGE if code == 0 else _HAS_CAT
            elif code == 2:
                i, n_slow = _slot(buf, i, row, 0, values, slow_row, slow_slot, slow_tok, n_slow)
                flags[row] |= _HAS_SCORE
            elif code == 3:
                if i >= len(buf) or buf[i] != 91:
                    return fail
                i = _ws(buf, i + 1)
                if i < len(buf) and buf[i] == 93:
                    flags[row] |= _EMPTY_BOX
                    i += 1
                else:
                    for k in range(4):
                        i, n_slow = _slot(buf, i, row, 1 + k, values, slow_row, slow_slot, slow_tok, n_slow)
                        if i < 0:
                            return fail
                        i = _ws(buf, i)
                        if i >= len(buf) or buf[i] != (44 if k < 3 else 93):
                            return fail
                        i = _ws(buf, i + 1) if k < 3 else i + 1
                    flags[row] |= _HAS_BOX
            elif code == 4:
                i, pos = _segmentation(buf, i, row, seg_size, cnt_buf, cnt_off[row])
                flags[row] |= _HAS_SEGM
            elif code == 6 or code == 7 or code == -1:
                i = _skip_value(buf, i)
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
    if _ws(buf, i) != len(buf):
        return fail
    return row, n_slow


@nb.njit(cache=True)
def _tokens(buf, spans):  # pragma: no cover - compiled
    """(n, _MAX_TOKEN) zero-padded copies of the number tokens at spans (start, end)."""
    out = np.zeros((len(spans), _MAX_TOKEN), dtype=np.uint8)
    for r in range(len(spans)):
        for k in range(spans[r, 1] - spans[r, 0]):
            out[r, k] = buf[spans[r, 0] + k]
    return out


def _outputs(buf: np.ndarray) -> tuple:
    """Arrays `_scan` fills: ids, values (score, x, y, w, h), flags, seg_size, cnt_off, cnt_buf, slow_*."""
    cap = int(np.count_nonzero(buf == 123)) + 1  # '{' bounds the number of records
    n_slots = min(5 * cap, len(buf) // 2 + 1)  # a number takes at least 2 bytes with its separator
    return (np.empty((cap, 2), np.int64), np.empty((cap, 5), np.float64), np.zeros(cap, np.uint8),
            np.empty((cap, 2), np.int64), np.zeros(cap + 1, np.int64), np.empty(len(buf), np.uint8),
            np.empty(n_slots, np.int64), np.empty(n_slots, np.int64), np.empty((n_slots, 2), np.int64))


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw


def scan_results_file(path: Path, name: str) -> Any:
    """A DetectionResults parsed straight into columns, or None to use the standard parser."""
    try:
        raw = _read_bytes(Path(path))
    except (OSError, EOFError):
        return None  # the standard reader reports it
    return scan_results_bytes(raw, name)


def scan_results_bytes(raw: bytes, name: str = "<bytes>") -> Any:
    """Columns from the bytes of a results JSON, or None when the layout needs the standard parser."""
    from cocoseg.io.results import complete_scanned

    buf = np.frombuffer(raw, dtype=np.uint8)
    out = _outputs(buf)
    n, n_slow = _scan(buf, *out)
    ids, values, flags, seg_size, cnt_off, cnt_buf, slow_row, slow_slot, slow_tok = out
    if n < 0:
        return None
    if n_slow:
        exact = _tokens(buf, slow_tok[:n_slow]).view(f"S{_MAX_TOKEN}").ravel().astype(np.float64)
        values[slow_row[:n_slow], slow_slot[:n_slow]] = exact
    return complete_scanned(n, ids[:n], values[:n], flags[:n], seg_size[:n], cnt_off[:n + 1], cnt_buf, name)
