"""Results JSON straight into columns: a compiled scanner for the common layout, no Python dicts.

`json.load` of 500k result dicts takes seconds and ~1 GB; this scanner reads the bytes once and
fills image_id, category_id, score, bbox and RLE (size, counts) columns. It validates the JSON
grammar of everything it reads or skips. Anything outside the common layout (keypoints, polygon
or uncompressed-RLE results, non-integer ids, nulls, exotic escapes, invalid JSON) makes it give
up, and the caller falls back to the standard parser, which also produces the precise error
messages. The scanner is C (`cocoseg._native`, csrc/scan.c, on several threads for large files), or
numba without it (`io._results_scan_numba`); both give exactly the numbers of `json.loads`. A large
plain file is read by the C core through a 4 MB window, its RLE counts copied out as they are read,
so the file's bytes are never held whole; otherwise a file is read by one `readinto` and its counts
are unescaped over its own bytes (held once). A leaf: the loadRes rules are applied by `cocoseg.io.results`.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocoseg.masks.packed_rle import PackedRles
from cocoseg.masks.threads import threads as masks_threads
from cocoseg.native import NATIVE


def _outputs(buf: np.ndarray, counts_in_place: bool = False) -> tuple:
    """Arrays the scanner fills: image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf.

    Rows are bounded by the '{' in buf; untouched capacity costs no memory (pages never written). With
    `counts_in_place` the RLE counts are unescaped over buf itself (held once, no second buffer).
    """
    return _columns(_count_byte(buf, 123) + 1) + (buf if counts_in_place else np.empty(len(buf), np.uint8),)


def _columns(cap: int) -> tuple:
    """The row columns for up to `cap` records (pages are only taken where rows are written)."""
    return (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.float64), np.empty((cap, 4), np.float64),
            np.empty(cap, np.uint8), np.empty((cap, 2), np.int64), np.zeros(cap + 1, np.int64))


def _count_byte(buf: np.ndarray, byte: int) -> int:
    if NATIVE is not None:
        return NATIVE.count_byte(buf, byte)
    step = 1 << 24  # bounded temporaries
    return sum(int(np.count_nonzero(buf[k:k + step] == byte)) for k in range(0, len(buf), step))


def _read_buffer(path: Path) -> np.ndarray:
    """The file's bytes in one writable array, read by one `readinto` (gzip decompressed, BOM dropped)."""
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        buf = np.empty(size, np.uint8)
        view, got = memoryview(buf), 0
        while got < size:
            k = fh.readinto(view[got:])
            if not k:
                buf = buf[:got]
                break
            got += k
    if buf[:2].tobytes() == b"\x1f\x8b":
        buf = np.frombuffer(bytearray(gzip.decompress(buf)), np.uint8)
    return buf[3:] if buf[:3].tobytes() == b"\xef\xbb\xbf" else buf


@dataclass
class ScannedColumns:
    """The raw columns of a scanned results file (nothing completed: `io.results` applies loadRes).

    image_ids, category_ids, scores (N,); boxes (N, 4) [x, y, w, h]; flags (N,) `ScanFlag` bits;
    seg_size (N, 2) [h, w]; RLE counts i are cnt_buf[cnt_off[i]:cnt_off[i + 1]].
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    flags: np.ndarray
    seg_size: np.ndarray
    cnt_off: np.ndarray
    cnt_buf: np.ndarray

    @property
    def rows(self) -> int:
        """Records scanned."""
        return len(self.flags)

    def rles(self) -> PackedRles:
        """The scanned RLEs packed, over the scanner's buffer (rows without one are empty strings)."""
        return PackedRles(self.cnt_buf[:self.cnt_off[-1]], self.cnt_off, self.seg_size)


def scan_results_file(path: Path) -> ScannedColumns | None:
    """The columns of a results file, or None when it needs the standard parser (or cannot be read)."""
    try:
        cols = _scan_file(Path(path)) if NATIVE is not None else _NOT_SCANNED
        if cols is _NOT_SCANNED:
            cols = _scan(_read_buffer(Path(path)), counts_in_place=True)
        if cols is _REDO:  # a parallel scan wrote counts over the bytes, then found a chunk start wrong
            cols = _scan(_read_buffer(Path(path)), counts_in_place=True, threads=1)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None  # the standard reader reports it
    return cols  # on None the caller parses the file anew


_WINDOW_BYTES = 1 << 22  # a large plain file is read through a window this long (grown for a longer record)
_MIN_RECORD_BYTES = 48  # the shortest record the columns take: {"image_id":0,"category_id":0,"score":0,"bbox":[]}


def _scan_file(path: Path) -> ScannedColumns | object:
    """The columns of a large plain file read through a window (its bytes are never held whole: the
    counts go to their own buffer as they are read), or _NOT_SCANNED: read it whole instead (gzip, a
    small file, or anything the windowed scan does not take: the whole-file scan then decides)."""
    with open(path, "rb", buffering=0) as fh:
        fd = fh.fileno()
        size = os.fstat(fd).st_size
        head = os.pread(fd, 3, 0)
        if size < 2 * _WINDOW_BYTES or head[:2] == b"\x1f\x8b":
            return _NOT_SCANNED
        at = 3 if head == b"\xef\xbb\xbf" else 0
        out = _columns((size - at) // _MIN_RECORD_BYTES + 2) + (np.empty(size - at, np.uint8),)
        n = NATIVE.scan_results_fd(fd, at, size, *out, masks_threads(), _WINDOW_BYTES)
    return _scanned(out, n) if n >= 0 else _NOT_SCANNED


def scan_columns(raw: bytes) -> ScannedColumns | None:
    """Columns from the bytes of a results JSON, or None when the layout needs the standard parser."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    cols = _scan(buf, counts_in_place=False)
    return _scan(buf, counts_in_place=False, threads=1) if cols is _REDO else cols


_REDO = object()
_NOT_SCANNED = object()
_PARALLEL_BYTES = 1 << 23  # below this a file is scanned by one thread


def _scan(buf: np.ndarray, counts_in_place: bool, threads: int | None = None) -> ScannedColumns | object | None:
    """The columns, None when the layout needs the full parser, or _REDO (scan again with threads=1)."""
    out = _outputs(buf, counts_in_place)
    if NATIVE is not None:
        if threads is None:
            threads = masks_threads() if len(buf) >= _PARALLEL_BYTES else 1
        n = NATIVE.scan_results(buf, *out, threads)
    else:
        from cocoseg.io._results_scan_numba import scan

        n = scan(buf, out)
    if n == -2:
        return _REDO
    if n < 0:
        return None
    if counts_in_place:
        del buf
    return _scanned(out, n)


def _scanned(out: tuple, n: int) -> ScannedColumns:
    """The first n rows of the scanner's arrays; the counts buffer cut to its counts."""
    image_ids, category_ids, scores, boxes, flags, seg_size, cnt_off, cnt_buf = out
    del out
    return ScannedColumns(image_ids[:n], category_ids[:n], scores[:n], boxes[:n], flags[:n], seg_size[:n],
                          cnt_off[:n + 1], _shrunk(cnt_buf, int(cnt_off[n])))


def _shrunk(buf: np.ndarray, size: int) -> np.ndarray:
    """buf cut to its first `size` bytes, the rest given back to the system where it owns its memory."""
    try:
        buf.resize(size, refcheck=False)  # realloc: the counts stay where they are, no copy
    except ValueError:  # a view (a file with a BOM) or a buffer numpy does not own
        return buf[:size]
    return buf
