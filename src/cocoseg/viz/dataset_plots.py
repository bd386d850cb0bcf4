"""Dataset distributions (numpy, JSON-ready) and their PNG plots (matplotlib, imported when drawing).

The viewer's dataset page and `cocoseg stats FILE --plots DIR` show the same numbers: instances
per class (crowd regions apart), box areas (w*h) and mask areas (the `area` field COCOeval uses)
on log-spaced bins with COCO's size boundaries 32^2 and 96^2, objects per image, box aspect
ratios (log2 w/h) and the crowd regions.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cocoseg.io import CocoDataset

SMALL_MAX, MEDIUM_MAX = 32.0**2, 96.0**2
AREA_BINS = 40
PLOTS = ("classes", "box_areas", "mask_areas", "objects_per_image", "aspect_ratios", "crowd")


def _area_histogram(areas: np.ndarray) -> dict[str, Any]:
    positive = areas[areas > 0]
    top = max(float(positive.max()) if len(positive) else 1.0, MEDIUM_MAX * 4)
    edges = np.logspace(0, np.log10(top), AREA_BINS + 1)
    counts, _ = np.histogram(np.clip(positive, 1, top), bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "zero": int(len(areas) - len(positive)),
            "sizes": {"small": int((areas < SMALL_MAX).sum()), "medium": int(((areas >= SMALL_MAX) & (areas < MEDIUM_MAX)).sum()),
                      "large": int((areas >= MEDIUM_MAX).sum())},
            "boundaries": [SMALL_MAX, MEDIUM_MAX]}


def dataset_distributions(ds: CocoDataset) -> dict[str, Any]:
    """The distributions of a dataset (see the module docstring), JSON-ready."""
    anns = ds.annotations
    n = len(anns)
    boxes = np.asarray([a.get("bbox") or (0, 0, 0, 0) for a in anns], dtype=np.float64).reshape(n, 4)
    crowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), dtype=bool, count=n)
    cats = np.fromiter((a["category_id"] for a in anns), dtype=np.int64, count=n)
    mask_area = np.fromiter((float(a.get("area", 0.0)) for a in anns), dtype=np.float64, count=n)
    ids = sorted(c["id"] for c in ds.categories)
    names = {c["id"]: str(c.get("name", c["id"])) for c in ds.categories}
    slot = np.searchsorted(ids, cats)
    per_class = np.bincount(slot[~crowd], minlength=len(ids))[: len(ids)]
    per_class_crowd = np.bincount(slot[crowd], minlength=len(ids))[: len(ids)]
    per_image = np.array([len(ds.index.by_image.get(i, ())) for i in ds.image_ids], dtype=np.int64)
    regular = boxes[~crowd]
    w, h = regular[:, 2], regular[:, 3]
    ok = (w > 0) & (h > 0)
    ratio = np.log2(w[ok] / h[ok])
    ratio_counts, ratio_edges = np.histogram(np.clip(ratio, -4, 4), bins=32, range=(-4, 4))
    crowd_images = {anns[i]["image_id"] for i in np.flatnonzero(crowd).tolist()}
    return {
        "classes": {"ids": ids, "names": [names[i] for i in ids], "counts": per_class.tolist(),
                    "crowd": per_class_crowd.tolist()},
        "box_area": _area_histogram(regular[:, 2] * regular[:, 3]),
        "mask_area": _area_histogram(mask_area[~crowd]),
        "objects_per_image": {"values": np.arange(per_image.max() + 1 if len(per_image) else 1).tolist(),
                              "counts": np.bincount(per_image, minlength=1).tolist()},
        "aspect_ratio": {"edges": ratio_edges.tolist(), "counts": ratio_counts.tolist(), "unit": "log2(w/h)"},
        "crowd": {"regions": int(crowd.sum()), "images": len(crowd_images),
                  "area": float(mask_area[crowd].sum()), "per_class": per_class_crowd.tolist()},
    }


def write_dataset_plots(ds: CocoDataset, out_dir: str | Path, dpi: int = 110) -> list[Path]:
    """One PNG per distribution in `out_dir` (created); each written to a temp file and renamed."""
    from cocoseg.io import atomic_write

    dist = dataset_distributions(ds)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PLOTS:
        fig = _new_figure((max(6.4, 0.12 * len(dist["classes"]["ids"])) if name in ("classes", "crowd") else 6.4, 3.6))
        ax = fig.add_subplot(1, 1, 1)
        _DRAW[name](ax, dist)
        ax.grid(alpha=0.3)
        path = out / f"{name}.png"
        atomic_write(path, lambda fh, fig=fig: fig.savefig(fh, format="png", dpi=dpi), mode="wb")
        written.append(path)
    return written


def _new_figure(size: tuple[float, float]) -> Any:
    """A matplotlib Figure on an Agg canvas (no pyplot: no global state, no display)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        from cocoseg.errors import CocosegError

        raise CocosegError("plots need matplotlib: pip install matplotlib (or 'cocoseg[train]')") from None
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _bars(ax: Any, labels: list[str], counts: list[int], title: str, color: str = "#3b7dd8") -> None:
    ax.bar(range(len(counts)), counts, color=color)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=90, fontsize=6)
    ax.set_title(title, fontsize=10)


def _area(ax: Any, hist: dict[str, Any], title: str) -> None:
    edges = np.asarray(hist["edges"])
    ax.bar(edges[:-1], hist["counts"], width=np.diff(edges), align="edge", color="#3b7dd8")
    ax.set_xscale("log")
    for bound in hist["boundaries"]:
        ax.axvline(bound, color="#d33", linestyle="--", linewidth=1)
    s = hist["sizes"]
    ax.set_title(f"{title}: small {s['small']}, medium {s['medium']}, large {s['large']} (lines: 32², 96²)", fontsize=9)
    ax.set_xlabel("area (px²)")


def _aspect(ax: Any, dist: dict[str, Any]) -> None:
    edges = np.asarray(dist["aspect_ratio"]["edges"])
    ax.bar(edges[:-1], dist["aspect_ratio"]["counts"], width=np.diff(edges), align="edge", color="#3b7dd8")
    ax.set_title("box aspect ratio, log2(w/h) (clipped to ±4)", fontsize=10)


def _objects(ax: Any, dist: dict[str, Any]) -> None:
    ax.bar(dist["objects_per_image"]["values"], dist["objects_per_image"]["counts"], color="#3b7dd8")
    ax.set_title("annotations per image", fontsize=10)


def _crowd(ax: Any, dist: dict[str, Any]) -> None:
    c = dist["crowd"]
    _bars(ax, dist["classes"]["names"], c["per_class"], f"crowd regions per class ({c['regions']} in {c['images']} images)",
          "#d8833b")


_DRAW = {
    "classes": lambda ax, d: _bars(ax, d["classes"]["names"], d["classes"]["counts"], "instances per class (crowd apart)"),
    "box_areas": lambda ax, d: _area(ax, d["box_area"], "box area"),
    "mask_areas": lambda ax, d: _area(ax, d["mask_area"], "mask area"),
    "objects_per_image": _objects,
    "aspect_ratios": _aspect,
    "crowd": _crowd,
}
