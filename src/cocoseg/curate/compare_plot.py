"""The A/B deltas as a PNG: per-slice AP deltas and the largest per-class AP deltas, with their intervals."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _panel(ax: Any, labels: list[str], deltas: list[Any], title: str) -> None:
    y = np.arange(len(labels))[::-1]
    values = np.array([d.delta for d in deltas])
    err = np.array([[d.delta - d.low, d.high - d.delta] for d in deltas]).T.reshape(2, -1)
    colors = ["#2a9d8f" if d.significant and d.delta > 0 else "#e76f51" if d.significant else "#9e9e9e" for d in deltas]
    ax.barh(y, values, xerr=err, color=colors, capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("B - A")
    ax.set_title(title)


def write_delta_plot(report: Any, path: str | Path, metric: str = "ap", top: int = 20) -> Path:
    """Write the plot (matplotlib, Agg) atomically; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cocoseg.io.jsonio import atomic_write

    slices = [(n, d[metric]) for n, d in report.slices.items() if metric in d and np.isfinite(d[metric].delta)]
    classes = sorted(((n, d) for n, d in report.per_class.items() if np.isfinite(d.delta)), key=lambda kv: -abs(kv[1].delta))
    classes = classes[:top]
    rows = max(len(slices), len(classes), 1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.0 + 0.32 * rows), squeeze=False)
    pct = round(report.confidence * 100)
    _panel(axes[0, 0], [n for n, _ in slices], [d for _, d in slices], f"{metric} by slice ({pct} % CI)")
    _panel(axes[0, 1], [n for n, _ in classes], [d for _, d in classes], f"AP by class, largest {len(classes)} changes")
    fig.suptitle(f"{report.iou_type}: B - A, {report.resamples} bootstrap resamples over images, seed {report.seed}")
    fig.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda f: fig.savefig(f, format="png", dpi=100), mode="wb")
    plt.close(fig)
    return target
