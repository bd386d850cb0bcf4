"""Image files inside the images folder only, and grid thumbnails drawn on demand and cached on disk.

A file is served only when its resolved path (symlinks followed) lies inside the resolved images
folder; absolute names and `..` that leave it are refused. Thumbnails (longer side 256 px) show
the GT masks in per-instance colours; with results, the detections kept at the score cut as
boxes, green when a true positive and red when a false positive at the chosen IoU, and the GT
nothing matched outlined in orange. JPEG, written to the cache atomically (temp file + rename).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cocoseg import masks
from cocoseg.viz import draw_instances

THUMB_SIDE = 256
TP_BGR, FP_BGR, FN_BGR, IGNORED_BGR = (60, 200, 60), (40, 40, 235), (0, 150, 255), (170, 170, 170)
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def safe_path(root: Path, name: str) -> Path | None:
    """`root / name` when it is a file inside `root` after resolving symlinks; None otherwise."""
    if not name or os.path.isabs(name) or "\x00" in name:
        return None
    base = root.resolve()
    try:
        target = (base / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def read_scaled(path: Path, width: int, height: int, side: int) -> np.ndarray | None:
    """The image decoded at a reduced size (JPEG DCT scaling) no smaller than needed for `side`."""
    flag = cv2.IMREAD_COLOR
    for factor, reduced in _REDUCED:
        if max(width, height) / factor >= side:
            flag = reduced
            break
    return cv2.imread(str(path), flag)


def instance_bitmaps(segmentations: list[Any], height: int, width: int, scale: float, out_hw: tuple[int, int]) -> np.ndarray:
    """(N, h, w) bool masks of COCO segmentations (image size height x width) drawn at `scale`."""
    h, w = out_hw
    out = np.zeros((len(segmentations), h, w), dtype=bool)
    polys = [(i, [[v * scale for v in part] for part in s]) for i, s in enumerate(segmentations) if isinstance(s, list)]
    if polys:
        drawn = masks.rasterize_polygons([p for _, p in polys], h, w)
        out[[i for i, _ in polys]] = drawn.astype(bool)
    for i, s in enumerate(segmentations):
        if isinstance(s, dict):
            full = masks.decode(masks.segmentation_to_rle(s, height, width))
            out[i] = cv2.resize(full, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return out


def render_thumbnail(image: np.ndarray, width: int, height: int, gt: list[dict], boxes: list[tuple[Any, tuple]],
                     missed: list[bool]) -> np.ndarray:
    """A thumbnail of `image` (already decoded, any size) with GT masks and outcome-coloured boxes.

    boxes: (xywh, BGR colour) of the detections to draw; missed: per GT, outlined in orange.
    """
    scale = min(1.0, THUMB_SIDE / max(width, height, 1))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    thumb = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    segs = [a.get("segmentation") for a in gt]
    keep = [i for i, s in enumerate(segs) if s]
    if keep:
        bitmaps = instance_bitmaps([segs[i] for i in keep], height, width, scale, (h, w))
        thumb = draw_instances(thumb, None, bitmaps, np.asarray(keep), None, None, alpha=0.5, labels=False)
    for ann, miss in zip(gt, missed):
        if miss:
            _box(thumb, ann["bbox"], scale, FN_BGR)
    for xywh, colour in boxes:
        _box(thumb, xywh, scale, colour)
    return thumb


def _box(image: np.ndarray, xywh: Any, scale: float, colour: tuple) -> None:
    x, y, bw, bh = (float(v) * scale for v in xywh)
    cv2.rectangle(image, (round(x), round(y)), (round(x + bw), round(y + bh)), colour, 1, cv2.LINE_AA)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
