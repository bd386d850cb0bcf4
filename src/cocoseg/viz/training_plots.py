"""Training plots: the curves of results.csv (matplotlib) and training batches drawn with their labels."""
from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np


def plot_results(csv_path: str | Path, out_path: str | Path) -> Path | None:
    """One panel per column of results.csv against the epoch; None when there is nothing to plot."""
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in rows[0] if c not in ("epoch", "time")]
    epochs = [float(r["epoch"]) for r in rows]
    ncols = 4
    nrows = math.ceil(len(columns) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, col in zip(axes.flat, columns):
        ax.plot(epochs, [float(r[col] or "nan") for r in rows], marker=".", linewidth=1.5)
        ax.set_title(col, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    fig.tight_layout()
    out = Path(out_path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _colour(label: int) -> tuple[int, int, int]:
    hue = (label * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_training_image(image_rgb: np.ndarray, boxes_xyxy: np.ndarray, labels: np.ndarray,
                        masks: np.ndarray | None, names: Mapping[int, str]) -> np.ndarray:
    """One training image (H, W, 3 RGB uint8) with masks blended, boxes and class names; BGR out.

    `masks` is either an overlap index map (h, w) (pixel = 1 + instance) or (N, h, w) binaries, at
    any resolution (resized to the image).
    """
    canvas = np.ascontiguousarray(image_rgb[:, :, ::-1]).copy()
    h, w = canvas.shape[:2]
    if masks is not None and len(labels):
        per = masks if masks.ndim == 3 else np.stack([masks == i + 1 for i in range(len(labels))])
        per = cv2.resize(per.astype(np.uint8).transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_NEAREST)
        per = per.reshape(h, w, -1).transpose(2, 0, 1).astype(bool)
        for m, label in zip(per, labels.tolist()):
            canvas[m] = (0.5 * canvas[m] + 0.5 * np.array(_colour(label))).astype(np.uint8)
    for box, label in zip(boxes_xyxy.tolist(), labels.tolist()):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        colour = _colour(label)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 1)
        cv2.putText(canvas, names.get(label, str(label)), (x1, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    colour, 1, cv2.LINE_AA)
    return canvas


def plot_training_batch(batch: Mapping[str, Any], names: Mapping[int, str], out_path: str | Path,
                        max_images: int = 16) -> Path:
    """A grid of the batch's images with their labels, written as JPEG."""
    imgs = batch["img"].cpu().numpy().transpose(0, 2, 3, 1)[:max_images]
    idx = batch["batch_idx"].cpu().numpy()
    masks = batch.get("masks")
    overlap = masks is not None and masks.ndim == 3 and len(masks) == len(batch["img"])
    tiles = []
    for i, img in enumerate(imgs):
        sel = idx == i
        m = None
        if masks is not None:
            m = masks[i].cpu().numpy() if overlap else masks[torch_index(sel)].cpu().numpy()
        tiles.append(draw_training_image(img, batch["boxes_xyxy"][sel].cpu().numpy(),
                                         batch["labels"][sel].cpu().numpy(), m, names))
    cols = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    th, tw = tiles[0].shape[:2]
    grid = np.full((rows * th, cols * tw, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = tile
    out = Path(out_path)
    ok, buf = cv2.imencode(".jpg", grid, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if ok:
        out.write_bytes(buf.tobytes())
    return out


def torch_index(mask: np.ndarray) -> Any:
    """A numpy boolean mask as indices usable on a torch tensor."""
    return np.flatnonzero(mask).tolist()
