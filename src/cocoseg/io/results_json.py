"""Results JSON straight into columns: a compiled scanner for the common layout, no Python dicts.

`json.load` of 500k result dicts takes seconds and ~1 GB; this scanner reads the bytes once and
fills image_id, category_id, score, bbox and RLE (size, counts) columns. It validates the JSON
grammar of everything it reads or skips. Anything outside the common layout (keypoints, polygon
or uncompressed-RLE results, non-integer ids, nulls, exotic escapes, invalid JSON) makes it give
up, and the caller falls back to the standard parser, which also produces the precise error
messages. The scanner is C (`cocoseg._native`, csrc/scan.c), or numba without it
(`io._results_scan_numba`); both give exactly the numbers of `json.loads`. A leaf: the loadRes
rules are applied by `cocoseg.io.results`.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocoseg.masks.packed_rle import PackedRles
from cocoseg.native import NATIVE


def _outputs(buf: np.ndarray) -> tuple:
    """Arrays the scanner fills: ids, values (score, x, y, w, h), flags, seg_size, cnt_off, cnt_buf."""
    cap = int(np.count_nonzero(buf == 123)) + 1  # '{' bounds the number of records
    return (np.empty((cap, 2), np.int64), np.empty((cap, 5), np.float64), np.zeros(cap, np.uint8),
            np.empty((cap, 2), np.int64), np.zeros(cap + 1, np.int64), np.empty(len(buf), np.uint8))


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw


@dataclass
class ScannedColumns:
    """The raw columns of a scanned results file (nothing completed: `io.results` applies loadRes).

    ids (N, 2) [image_id, category_id]; values (N, 5) [score, x, y, w, h]; flags (N,) `ScanFlag`
    bits; seg_size (N, 2) [h, w]; RLE counts i are cnt_buf[cnt_off[i]:cnt_off[i + 1]].
    """

    ids: np.ndarray
    values: np.ndarray
    flags: np.ndarray
    seg_size: np.ndarray
    cnt_off: np.ndarray
    cnt_buf: np.ndarray

    @property
    def rows(self) -> int:
        """Records scanned."""
        return len(self.flags)

    def rles(self, copy: bool = False) -> PackedRles:
        """The scanned RLEs packed (rows without one are empty strings); `copy` trims the buffer."""
        chars = self.cnt_buf[:self.cnt_off[-1]]
        return PackedRles(chars.copy() if copy else chars, self.cnt_off, self.seg_size)


def scan_results_file(path: Path) -> ScannedColumns | None:
    """The columns of a results file, or None when it needs the standard parser (or cannot be read)."""
    try:
        raw = _read_bytes(Path(path))
    except (OSError, EOFError):
        return None  # the standard reader reports it
    return scan_columns(raw)


def scan_columns(raw: bytes) -> ScannedColumns | None:
    """Columns from the bytes of a results JSON, or None when the layout needs the standard parser."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    out = _outputs(buf)
    if NATIVE is not None:
        n = NATIVE.scan_results(buf, *out)
    else:
        from cocoseg.io._results_scan_numba import scan

        n = scan(buf, out)
    if n < 0:
        return None
    ids, values, flags, seg_size, cnt_off, cnt_buf = out
    return ScannedColumns(ids[:n], values[:n], flags[:n], seg_size[:n], cnt_off[:n + 1], cnt_buf)
