"""Draw instances on an image with numpy and OpenCV: translucent masks, boxes, labels, keypoints."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

# 20 distinct BGR colours, indexed by instance (or by class label with color_by="class")
PALETTE = np.array([
    (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72),
    (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0), (168, 153, 44), (255, 194, 0),
    (147, 69, 52), (255, 115, 100), (236, 24, 0), (255, 56, 132), (133, 0, 82), (255, 56, 203),
    (200, 149, 255), (199, 55, 255),
], dtype=np.uint8)
# COCO person keypoints skeleton (1-based indices, as in the COCO annotation file)
COCO_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9), (8, 10),
    (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)


def color_of(index: int) -> tuple[int, int, int]:
    """The BGR colour of an instance index (or a class label)."""
    b, g, r = PALETTE[int(index) % len(PALETTE)]
    return int(b), int(g), int(r)


def label_font(lw: int) -> tuple[float, int]:
    """(font scale, thickness) of label text for a line width; at least ~11 px tall, readable on any tile."""
    return max(lw / 3, 0.5), max(lw - 1, 1)


def place_labels(corners: Sequence[tuple[int, int]], sizes: Sequence[tuple[int, int]],
                 shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of label boxes (w, h) for boxes' top-left `corners`: above the box when there
    is room, else inside; kept within the image (H, W); moved down past labels already placed so
    that no two overlap."""
    height, width = shape
    placed: list[tuple[int, int, int, int]] = []
    out = []
    for (x, y), (w, h) in zip(corners, sizes):
        x = min(max(x, 0), max(width - w, 0))
        y = y - h if y - h >= 0 else max(y, 0)
        for _ in range(len(placed) + 1):
            hit = [p for p in placed if x < p[0] + p[2] and p[0] < x + w and y < p[1] + p[3] and p[1] < y + h]
            if not hit:
                break
            y = max(p[1] + p[3] for p in hit)
        y = min(y, max(height - h, 0))
        placed.append((x, y, w, h))
        out.append((x, y))
    return out


def draw_instances(
    image: np.ndarray,
    boxes_xyxy: np.ndarray | None,
    masks: Any,
    classes: np.ndarray | Sequence[int],
    scores: np.ndarray | Sequence[float] | None,
    names: Mapping[int, str] | Sequence[str] | None,
    keypoints: np.ndarray | None = None,
    *,
    alpha: float = 0.45,
    line_width: int | None = None,
    labels: bool = True,
    color_by: str = "instance",
) -> np.ndarray:
    """A copy of `image` (H, W, 3) uint8 BGR with the instances drawn, highest score on top.

    Args:
        boxes_xyxy: (N, 4) pixel boxes, or None.
        masks: None, an (N, H, W) bool array, or any sequence whose items are (H, W) bitmaps
            (e.g. `cocoseg.predictions.image_predictions.InstanceMasks`, which also offers box-local crops).
        classes: (N,) class labels (named in the label); scores: (N,) or None; names: label -> name.
        color_by: "instance" (each instance its own colour, so neighbours of one class stay apart) or "class".
        keypoints: (N, K, 3) x, y, visibility; COCO's skeleton is drawn when K == 17.
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    order = np.argsort(np.asarray(scores, dtype=np.float64)) if scores is not None else np.arange(len(classes))
    lw = line_width or max(1, round(sum(out.shape[:2]) / 2 * 0.003))
    colors = [color_of(c if color_by == "class" else i) for i, c in enumerate(classes.tolist())]
    if masks is not None and len(classes):
        _blend_masks(out, masks, colors, order, alpha)
    pending = []
    for i in order:
        if boxes_xyxy is not None:
            x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(boxes_xyxy[i], dtype=np.float64))
            cv2.rectangle(out, (x1, y1), (x2, y2), colors[i], lw, cv2.LINE_AA)
            if labels:
                pending.append((i, (x1, y1)))
        if keypoints is not None:
            _keypoints(out, np.asarray(keypoints[i], dtype=np.float64), colors[i], lw)
    _draw_labels(out, [(_text(classes[i], scores, i, names), colors[i], corner) for i, corner in pending[::-1]], lw)
    return out


def _draw_labels(out: np.ndarray, items: list[tuple[str, tuple[int, int, int], tuple[int, int]]], lw: int) -> None:
    """Label boxes (text, colour, box corner), highest score first, placed so none stacks on another."""
    font_scale, thickness = label_font(lw)
    sizes, bases = [], []
    for text, _, _ in items:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        sizes.append((tw + 2, th + base + 2))
        bases.append(base)
    spots = place_labels([corner for _, _, corner in items], sizes, out.shape[:2])
    for (text, color, _), (x, y), (w, h), base in zip(items, spots, sizes, bases):
        cv2.rectangle(out, (x, y), (x + w, y + h), color, -1, cv2.LINE_AA)
        brightness = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
        ink = (0, 0, 0) if brightness > 150 else (255, 255, 255)
        cv2.putText(out, text, (x + 1, y + h - base - 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, ink, thickness,
                    cv2.LINE_AA)


def _text(label: int, scores: Any, i: int, names: Mapping[int, str] | Sequence[str] | None) -> str:
    if names is None:
        name = str(label)
    elif isinstance(names, Mapping):
        name = str(names.get(int(label), label))
    else:
        name = str(names[int(label)]) if 0 <= int(label) < len(names) else str(label)
    return f"{name} {float(scores[i]):.2f}" if scores is not None else name


def _blend_masks(out: np.ndarray, masks: Any, colors: list[tuple[int, int, int]], order: np.ndarray,
                 alpha: float) -> None:
    """Alpha-blend mask colours in place; each instance touches only its own bounding region."""
    crops = getattr(masks, "crops", None)
    for i in order:
        if crops is not None:
            x0, y0, m = crops[i]
        else:
            full = np.asarray(masks[i], dtype=bool)
            rows, cols = np.any(full, 1), np.any(full, 0)
            if not rows.any():
                continue
            y0, y1 = np.flatnonzero(rows)[[0, -1]]
            x0, x1 = np.flatnonzero(cols)[[0, -1]]
            m = full[y0 : y1 + 1, x0 : x1 + 1]
        region = out[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]]
        m = m[: region.shape[0], : region.shape[1]]
        color = np.array(colors[i], dtype=np.float32)
        region[m] = (region[m] * (1 - alpha) + color * alpha).astype(np.uint8)


def _keypoints(out: np.ndarray, kpts: np.ndarray, color: tuple[int, int, int], lw: int) -> None:
    visible = kpts[:, 2] > 0 if kpts.shape[1] > 2 else np.ones(len(kpts), dtype=bool)
    if len(kpts) == 17:
        for a, b in COCO_SKELETON:
            if visible[a - 1] and visible[b - 1]:
                p, q = kpts[a - 1, :2], kpts[b - 1, :2]
                cv2.line(out, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), color, lw, cv2.LINE_AA)
    for (x, y), v in zip(kpts[:, :2], visible):
        if v:
            cv2.circle(out, (int(x), int(y)), lw + 2, color, -1, cv2.LINE_AA)
