"""PNG plots of an evaluation: PR curves, F1/precision/recall against confidence, confusion matrix.

matplotlib (the `train` extra) is imported when a plot is drawn, through its object API and the
Agg canvas, so no global backend or pyplot state is touched. Every axis is labelled and every
curve and matrix row is named by category name (never by array index).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cocoseg.errors import CocosegError
from cocoseg.eval.analysis.confusion import ConfusionMatrix
from cocoseg.eval.analysis.curves import F1Curve, PRCurves, pr_curves
from cocoseg.io.jsonio import atomic_write

_LEGEND_MAX = 20  # categories named in a curve legend; beyond, only the mean is
_MATRIX_PIXELS = 2400  # cap on the confusion matrix image's height (80 categories stay legible)


def _figure_class() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise CocosegError("plots need matplotlib: pip install 'cocoseg[train]'") from None
    return Figure, FigureCanvasAgg


def _new_figure(size: tuple[float, float]) -> Any:
    figure_cls, canvas_cls = _figure_class()
    fig = figure_cls(figsize=size, layout="constrained")
    canvas_cls(fig)
    return fig


def _save(fig: Any, path: Path, dpi: int) -> Path:
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight"), mode="wb")


def _legend_beside(ax: Any, **kwargs: Any) -> Any:
    """The legend to the right of the axes, where it cannot cover a curve."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", **kwargs)


def _unit_axes(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)


def plot_pr_curves(pr: PRCurves, path: Path, iou_threshold: float = 0.5, dpi: int = 150) -> Path:
    """PR curve of every category at one IoU threshold, and their mean (AP in the legend)."""
    fig = _new_figure((7.5, 6))
    ax = fig.add_subplot()
    t = pr.threshold_index(iou_threshold)
    ap = pr.ap()[t]
    named = np.count_nonzero(~np.isnan(ap)) <= _LEGEND_MAX
    for k, name in enumerate(pr.names):
        if not np.isnan(ap[k]):
            ax.plot(pr.recall, pr.precision[t, k], lw=1, alpha=0.8 if named else 0.35,
                    color=None if named else "grey", label=f"{name} {ap[k]:.3f}" if named else None)
    mean_ap = np.nanmean(ap) if np.isfinite(ap).any() else float("nan")
    ax.plot(pr.recall, pr.mean_curve(iou_threshold), lw=3, color="tab:blue", label=f"all categories {mean_ap:.3f}")
    _unit_axes(ax, "Recall", "Precision",
               f"Precision-recall, IoU {pr.iou_thresholds[t]:.2f} (area {pr.area}, maxDets {pr.max_dets})")
    _legend_beside(ax, title=f"AP{round(pr.iou_thresholds[t] * 100)}")
    return _save(fig, path, dpi)


def plot_pr_by_iou(pr: PRCurves, path: Path, dpi: int = 150) -> Path:
    """The mean PR curve at every IoU threshold (AP in the legend)."""
    fig = _new_figure((7.5, 6))
    ax = fig.add_subplot()
    colors = _colormap("viridis")(np.linspace(0, 0.9, len(pr.iou_thresholds)))
    ap = pr.ap()
    for t, thr in enumerate(pr.iou_thresholds.tolist()):
        mean_ap = np.nanmean(ap[t]) if np.isfinite(ap[t]).any() else float("nan")
        ax.plot(pr.recall, pr.mean_curve(thr), lw=2, color=colors[t], label=f"IoU {thr:.2f}: {mean_ap:.3f}")
    _unit_axes(ax, "Recall", "Precision (mean over categories)",
               f"Precision-recall by IoU threshold (area {pr.area}, maxDets {pr.max_dets})")
    _legend_beside(ax, title="AP")
    return _save(fig, path, dpi)


def _colormap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def plot_confidence_curve(f1: F1Curve, path: Path, metric: str = "f1", dpi: int = 150) -> Path:
    """F1 (or precision, recall) against confidence per category and averaged; the best-F1 threshold marked."""
    values = {"f1": f1.f1, "precision": f1.precision, "recall": f1.recall}[metric]
    label = {"f1": "F1", "precision": "Precision", "recall": "Recall"}[metric]
    fig = _new_figure((7.5, 6))
    ax = fig.add_subplot()
    rows = [k for k in range(len(f1.names)) if not np.isnan(f1.recall[k]).all()]
    named = len(rows) <= _LEGEND_MAX
    for k in rows:
        ax.plot(f1.confidence, values[k], lw=1, alpha=0.8 if named else 0.35, color=None if named else "grey",
                label=f1.names[k] if named else None)
    mean = _nanmean_rows(values[rows]) if rows else np.full(len(f1.confidence), np.nan)
    best = f"best F1 {f1.best_f1:.3f} at {f1.best_confidence:.3f}" if np.isfinite(f1.best_f1) else "no detections"
    ax.plot(f1.confidence, mean, lw=3, color="tab:blue", label=f"all categories ({best})")
    if np.isfinite(f1.best_confidence):
        ax.axvline(f1.best_confidence, color="tab:red", ls="--", lw=1)
    _unit_axes(ax, "Confidence threshold", label, f"{label} against confidence, IoU {f1.iou_threshold:.2f}")
    _legend_beside(ax)
    return _save(fig, path, dpi)


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Column means over the non-NaN rows (NaN where every row is NaN), without a warning."""
    counts = np.count_nonzero(~np.isnan(values), axis=0)
    sums = np.nansum(values, axis=0)
    return np.divide(sums, counts, out=np.full(values.shape[1], np.nan), where=counts > 0)


def plot_confusion(cm: ConfusionMatrix, path: Path, dpi: int = 150) -> Path:
    """The confusion matrix: colour = share of the true category (row), text = the count of each cell."""
    n = len(cm.labels)
    side = max(6.0, 0.2 * n + 3)
    fig = _new_figure((side + 1.5, side))
    ax = fig.add_subplot()
    shares = cm.normalized()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true category (row)")
    ax.set_xticks(range(n), cm.labels, rotation=90, fontsize="small" if n <= 40 else "xx-small")
    ax.set_yticks(range(n), cm.labels, fontsize="small" if n <= 40 else "xx-small")
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(f"Confusion matrix, IoU {cm.iou_threshold:.2f}, confidence >= {cm.confidence:.3g}")
    cell_points = side * 72 * 0.75 / max(n, 1)  # the axes take about three quarters of the figure
    fontsize = max(2.5, min(8.0, cell_points / 3))
    for i, j in zip(*np.nonzero(cm.matrix)):  # every non-zero cell gets its count, however many classes
        ax.text(j, i, str(cm.matrix[i, j]), ha="center", va="center", fontsize=fontsize,
                color="white" if shares[i, j] > 0.5 else "black")
    return _save(fig, path, min(dpi, int(_MATRIX_PIXELS / side)))


def write_plots(
    result: Any,
    out_dir: str | Path,
    *,
    names: Mapping[int, str] | None = None,
    f1: F1Curve | None = None,
    confusion: ConfusionMatrix | None = None,
    iou_threshold: float = 0.5,
    dpi: int = 150,
) -> list[Path]:
    """Write the PNG plots into `out_dir` and return their paths.

    `result` is an `Analysis` (everything is drawn) or an `EvalResult` (PR curves, plus the F1
    and confusion plots when `f1` / `confusion` are given). Files: pr_curve.png (per category at
    `iou_threshold`), pr_curve_by_iou.png, f1_curve.png, precision_curve.png, recall_curve.png,
    confusion_matrix.png. Category names come from `names`, else from the result's per-class table.
    """
    _figure_class()  # a clear error before anything is written
    if hasattr(result, "pr") and hasattr(result, "result"):  # an Analysis
        pr, f1, confusion = result.pr, f1 or result.f1, confusion or result.confusion
    else:
        names = names or {row["category_id"]: str(row["name"]) for row in getattr(result, "per_class", [])}
        pr = pr_curves(result, names)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_pr_curves(pr, out / "pr_curve.png", iou_threshold, dpi), plot_pr_by_iou(pr, out / "pr_curve_by_iou.png", dpi)]
    if f1 is not None:
        written += [plot_confidence_curve(f1, out / f"{m}_curve.png", m, dpi) for m in ("f1", "precision", "recall")]
    if confusion is not None:
        written.append(plot_confusion(confusion, out / "confusion_matrix.png", dpi))
    return written
