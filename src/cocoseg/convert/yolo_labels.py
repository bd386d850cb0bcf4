"""YOLO label lines: `class x1 y1 x2 y2 ...` (polygon) or `class cx cy w h` (box), normalized to [0, 1].

Writing rounds to 6 decimals without moving any vertex across pycocotools' rasterization grid:
`rleFrPoly` snaps vertices to int(5 * x + .5), so a coordinate such as 303.1 (exactly on a
half step) flips to the neighbouring grid point if rounding nudges it down by 0.0001 px. Each
normalized value is moved by one unit of the last decimal where needed so that value * width
snaps to the same grid point as the original: denormalized (as `value * width`), the polygon
rasterizes to the identical mask.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocoseg.errors import Problem

DECIMALS = 6
_UNIT = 10.0 ** -DECIMALS


@dataclass(frozen=True)
class LabelLine:
    """One parsed label line: 1-based line number, class index, 'box' or 'polygon', normalized values."""

    line_no: int
    label: int
    kind: str
    values: np.ndarray  # box: (4,) cx cy w h; polygon: (N, 2) x y


def _grid(v: np.ndarray) -> np.ndarray:
    return np.floor(5.0 * v + 0.5)


def quantize(coords: np.ndarray, scale: float) -> list[str]:
    """Absolute coordinates -> normalized decimal strings whose `float(s) * scale` keeps each
    coordinate on its pycocotools grid point (see the module docstring)."""
    x = np.asarray(coords, dtype=np.float64).reshape(-1)
    if len(x) == 0:
        return []
    q = np.round(x / scale, DECIMALS)
    text = [f"{v:.{DECIMALS}f}" for v in q.tolist()]
    target = _grid(x)
    for _ in range(3):
        back = np.array(text, dtype=np.float64) * scale
        bad = np.nonzero(_grid(back) != target)[0]
        if len(bad) == 0:
            break
        for k in bad.tolist():
            step = _UNIT if x[k] > back[k] else -_UNIT
            text[k] = f"{float(text[k]) + step:.{DECIMALS}f}"
    return text


def polygon_line(label: int, ring: np.ndarray, width: int, height: int) -> str:
    """`label x1 y1 ...` for a ring (N, 2) in absolute pixels."""
    ring = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
    xs, ys = quantize(ring[:, 0], width), quantize(ring[:, 1], height)
    return " ".join([str(label)] + [v for pair in zip(xs, ys) for v in pair])


def box_line(label: int, bbox_xywh: list[float], width: int, height: int) -> str:
    """`label cx cy w h` for a COCO box in absolute pixels."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    vals = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
    return " ".join([str(label)] + [f"{v:.{DECIMALS}f}" for v in vals])


def line_hash(line: str) -> str:
    """A short fingerprint of a written line (the sidecar uses it to tell edited lines apart)."""
    return hashlib.sha1(line.strip().encode("utf-8")).hexdigest()[:12]


def parse_label_text(text: str, file: str, num_classes: int | None) -> tuple[list[LabelLine], list[Problem], list[str]]:
    """Parse a label file's text: (lines, problems with file and line number, raw line texts)."""
    out: list[LabelLine] = []
    problems: list[Problem] = []
    raws: list[str] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        where = f"line {no}"
        try:
            nums = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_number(t))
            problems.append(Problem(file, where, "", f"'{bad}' is not a number"))
            continue
        problem = _check_line(nums, num_classes)
        if problem:
            problems.append(Problem(file, where, "", problem))
            continue
        label, vals = int(nums[0]), np.asarray(nums[1:], dtype=np.float64)
        kind = "box" if len(vals) == 4 else "polygon"
        out.append(LabelLine(no, label, kind, vals if kind == "box" else vals.reshape(-1, 2)))
        raws.append(raw)
    return out, problems, raws


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_line(nums: list[float], num_classes: int | None) -> str:
    cls, coords = nums[0], nums[1:]
    if not cls.is_integer() or cls < 0:
        return f"class '{cls:g}' is not a non-negative integer"
    if num_classes is not None and cls >= num_classes:
        return f"class {int(cls)} is out of range: the dataset has {num_classes} classes (0-{num_classes - 1})"
    if not all(math.isfinite(v) for v in coords):
        return "has a NaN or infinite coordinate"
    if len(coords) == 4:
        return ""
    if len(coords) < 6 or len(coords) % 2:
        return (f"has {len(coords)} coordinates: expected 4 (box: cx cy w h) or an even number of at "
                f"least 6 (polygon: x y pairs)")
    return ""


def read_label_file(path: Path, num_classes: int | None) -> tuple[list[LabelLine], list[Problem], list[str]]:
    """Parse a label file; a missing file is an image without objects."""
    if not path.exists():
        return [], [], []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(str(path), "", "", f"cannot read the label file: {exc}")], []
    return parse_label_text(text, str(path), num_classes)
