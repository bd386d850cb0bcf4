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
    from matplotlib.ticker import MaxNLocator

    columns = [c for c in rows[0] if c not in ("epoch", "time")]
    epochs = [float(r["epoch"]) for r in rows]
    ncols = 4
    nrows = math.ceil(len(columns) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, col in zip(axes.flat, columns):
        points = [(e, float(r[col])) for e, r in zip(epochs, rows) if r[col] not in ("", None, "nan")]
        if points:  # validation may have run on some epochs only: join those, so one value is a visible marker
            ax.plot(*zip(*points), marker="o", markersize=4, linewidth=1.5)
        ax.set_title(col, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    fig.tight_layout()
    out = Path(out_path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def draw_training_image(image_rgb: np.ndarray, boxes_xyxy: np.ndarray, labels: np.ndarray,
                        masks: np.ndarray | None, names: Mapping[int, str]) -> np.ndarray:
    """One training image (H, W, 3 RGB uint8) with masks, boxes and class names drawn as predictions are
    (`viz.draw.draw_instances`: a colour per instance, readable labels); BGR out.

    `masks` is either an overlap index map (h, w) (pixel = 1 + instance) or (N, h, w) binaries, at
    any resolution (resized to the image).
    """
    from cocoseg.viz.draw import draw_instances

    canvas = np.ascontiguousarray(image_rgb[:, :, ::-1])
    h, w = canvas.shape[:2]
    per = None
    if masks is not None and len(labels):
        per = masks if masks.ndim == 3 else np.stack([masks == i + 1 for i in range(len(labels))])
        per = cv2.resize(per.astype(np.uint8).transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_NEAREST)
        per = per.reshape(h, w, -1).transpose(2, 0, 1).astype(bool)
    return draw_instances(canvas, np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4), per, labels, None,
                          dict(names), alpha=0.5)


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
