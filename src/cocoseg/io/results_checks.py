"""Checks of mask results before evaluation: the validator's RLE rule (`rle_problems`) applied to each result,
and polygon results held to their image (pycocotools rasterizes the whole coordinate range)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from cocoseg.errors import DataError, Problem
from cocoseg.io.file_kinds import other_results_kind
from cocoseg.io.validate_records import MAX_SIDE, rle_problems
from cocoseg.masks.packed_rle import PackedRles
from cocoseg.masks.polygons import far_coordinate, far_message

_MAX_PROBLEMS = 50


def _suspects(rles: PackedRles) -> np.ndarray:
    """Indices of RLEs that break the rule, found by the compiled one-pass check (`PackedRles.stats`,
    ~0.1 us an RLE); the exact per-string rule, `rle_problems`, then runs on these only for its
    messages (it costs ~60 us an RLE)."""
    return np.flatnonzero(~rles.stats()[2])


def no_kind_message(first: dict) -> str:
    """Why the first result gives no kind: captioning results are named (issue 16.10), else what loadRes needs."""
    return other_results_kind([first]) or ("has no bbox, segmentation or keypoints; the first result decides the "
                                           "kind of all results (pycocotools loadRes)")


def rle_record_problem(size: Any, counts: Any) -> str | None:
    """Why an RLE record cannot even be packed (a side beyond MAX_SIDE, non-ASCII counts), or None."""
    if not all(0 <= v <= MAX_SIDE for v in size):
        return f"RLE 'size' must be [height, width] (two integers from 0 to {MAX_SIDE})"
    if isinstance(counts, str) and not counts.isascii():
        return "RLE 'counts' holds a non-ASCII character; compressed RLE strings hold '0' to 'o'"
    return None


def refuse_bad_uncompressed_rle(rle: dict) -> None:
    """ValueError (the reader names the result) when an uncompressed RLE {"size", "counts": [runs]} breaks
    the validator's rule (`rle_problems`): runs non-negative integers summing to height * width."""
    problems: list[str] = []
    rle_problems(rle, None, lambda field, message, severity="error": problems.append(
        f"{field.partition('.')[2] or field} {message}") if severity == "error" else None)
    if problems:
        raise ValueError(problems[0])


def check_packed_rles(rles: PackedRles, file: str) -> None:
    """DataError naming each result whose RLE breaks the validator's rule (runs summing to h*w, sane size)."""
    problems: list[Problem] = []
    sizes = rles.sizes
    for i in _suspects(rles).tolist():
        h, w = int(sizes[i, 0]), int(sizes[i, 1])
        rle = {"size": [h, w], "counts": rles[i]["counts"]}

        def add(field: str, message: str, severity: str = "error", i: int = i) -> None:
            if severity == "error":
                problems.append(Problem(file, f"result {i}", field, message))
        rle_problems(rle, None, add)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise DataError(problems)


def check_rle_sizes(rles: PackedRles, image_ids: np.ndarray, image_sizes: dict[int, tuple[int, int]],
                    file: str) -> None:
    """DataError for the first results whose RLE size is not [height, width] of their image."""
    if not len(rles) or not image_sizes:
        return
    known = np.fromiter(image_sizes.keys(), np.int64, len(image_sizes))
    order = np.argsort(known)
    known = known[order]
    hw = np.array(list(image_sizes.values()), np.int64).reshape(-1, 2)[order]
    pos = np.minimum(np.searchsorted(known, image_ids), len(known) - 1)
    bad = np.flatnonzero((known[pos] == image_ids) & (hw[pos] != rles.sizes).any(axis=1))
    problems = []
    for i in bad[:_MAX_PROBLEMS].tolist():
        (h, w), iid, want = rles.sizes[i].tolist(), int(image_ids[i]), hw[pos[i]].tolist()
        problems.append(Problem(file, f"result {i}", "segmentation.size",
                                f"is [{h}, {w}] but image {iid} has height {want[0]} and width {want[1]}"))
    if problems:
        raise DataError(problems)


def polygon_problem(polygons: Any, height: int, width: int) -> str | None:
    """Why a list of polygons cannot be rasterized at (height, width), or None when it can."""
    for k, poly in enumerate(polygons):
        if not isinstance(poly, (list, tuple)):
            return f"part {k} must be a list of numbers [x1, y1, x2, y2, ...]"
        if len(poly) < 6 or len(poly) % 2:
            return (f"part {k} has {len(poly)} coordinates; a polygon needs an even number, at least 6 "
                    "(3 points); a 4-number list is not a box here")
        try:
            arr = np.asarray(poly, dtype=np.float64)
        except (TypeError, ValueError):
            return f"part {k} must hold numbers only"
        if arr.ndim != 1 or not np.isfinite(arr).all():
            return f"part {k} must hold finite numbers"
        far = far_coordinate(arr, width, height)
        if far is not None:
            return f"part {k} {far_message(far, width, height)}"
    return None


def finite_score(value: float) -> bool:
    """NaN and +-Infinity are not scores."""
    return math.isfinite(value)


def check_scores(scores: np.ndarray, file: str) -> None:
    """DataError naming the first score that is NaN or infinite (every reader's path ends here)."""
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        i = int(bad[0])
        raise DataError([Problem(file, f"result {i}", "score", f"must be a finite number, got {scores[i]}")])
