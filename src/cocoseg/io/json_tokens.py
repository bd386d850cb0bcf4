"""JSON tokens for compiled scanners: whitespace, strings, numbers (exact), literals, skipping values.

Every function takes the document as a uint8 array and a position, and returns the position
after what it read (-1 when the text is not valid JSON there), so callers can validate as they go.
"""
from __future__ import annotations

import numba as nb
import numpy as np

POW10 = np.array([10.0**i for i in range(23)])
MAX_TOKEN = 32  # longest number token accepted (longer ones: the caller falls back)
MAX_DEPTH = 64
_TRUE, _FALSE, _NULL = (np.frombuffer(w, dtype=np.uint8) for w in (b"true", b"false", b"null"))


@nb.njit(cache=True)
def ws(buf, i):  # pragma: no cover - compiled
    n = len(buf)
    while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
        i += 1
    return i


@nb.njit(cache=True)
def string_end(buf, i):  # pragma: no cover - compiled
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
def number(buf, i):  # pragma: no cover - compiled
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
    if i - start > MAX_TOKEN:
        return -1, 0.0, False, False
    exact = digits <= 18 and mant < 9007199254740992 and -22 <= exp10 <= 22
    if not exact:
        return i, 0.0, is_int, False
    value = float(mant) * POW10[exp10] if exp10 >= 0 else float(mant) / POW10[-exp10]
    return i, -value if neg else value, is_int, True


@nb.njit(cache=True)
def literal_end(buf, i):  # pragma: no cover - compiled
    word = _TRUE if buf[i] == 116 else (_FALSE if buf[i] == 102 else _NULL)
    if i + len(word) > len(buf):
        return -1
    for j in range(len(word)):
        if buf[i + j] != word[j]:
            return -1
    return i + len(word)


@nb.njit(cache=True)
def key_end(buf, i):  # pragma: no cover - compiled
    """Index after an object key and its colon (`"key" :`) starting at buf[i], or -1."""
    n = len(buf)
    if i >= n or buf[i] != 34:
        return -1
    i = string_end(buf, i)
    if i < 0:
        return -1
    i = ws(buf, i)
    if i >= n or buf[i] != 58:
        return -1
    return i + 1


@nb.njit(cache=True)
def skip_value(buf, i):  # pragma: no cover - compiled
    """Index after the JSON value starting at i (validated), -1 when invalid."""
    n = len(buf)
    stack = np.zeros(MAX_DEPTH, dtype=np.uint8)  # 1 = array, 2 = object
    depth = 0
    while True:
        i = ws(buf, i)
        if i >= n:
            return -1
        c = buf[i]
        if c == 123 or c == 91:  # { or [
            if depth >= MAX_DEPTH:
                return -1
            stack[depth] = 2 if c == 123 else 1
            depth += 1
            i = ws(buf, i + 1)
            if i < n and ((c == 123 and buf[i] == 125) or (c == 91 and buf[i] == 93)):
                depth -= 1
                i += 1
            elif c == 123:
                i = key_end(buf, i)
                if i < 0:
                    return -1
                continue
            else:
                continue
        elif c == 34:
            i = string_end(buf, i)
            if i < 0:
                return -1
        elif c == 116 or c == 102 or c == 110:  # true false null
            i = literal_end(buf, i)
            if i < 0:
                return -1
        else:
            i, _, _, _ = number(buf, i)
            if i < 0:
                return -1
        # after a value: close containers or move to the next element
        while True:
            if depth == 0:
                return i
            i = ws(buf, i)
            if i >= n:
                return -1
            c = buf[i]
            if c == 44:  # ,
                i += 1
                if stack[depth - 1] == 2:
                    i = key_end(buf, ws(buf, i))
                    if i < 0:
                        return -1
                break
            if (c == 93 and stack[depth - 1] == 1) or (c == 125 and stack[depth - 1] == 2):
                depth -= 1
                i += 1
                continue
            return -1
