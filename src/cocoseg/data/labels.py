"""Training labels per image, parsed once from a COCO dataset and cached as a flat .npz.

Every annotation becomes an instance: its contiguous label, a crowd flag, and its polygon parts in
absolute pixels. Crowd annotations (usually RLE) are kept as ignore regions; RLE masks become their outer
contours. The cache is keyed on the label sources' paths, sizes and modification times, so a second
start skips parsing; it holds only arrays (no pickles).
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from cocoseg.data.polygon_parts import rle_to_parts
from cocoseg.io import CocoDataset
from cocoseg.masks import decode, segmentation_to_rle

CACHE_VERSION = "1"


@dataclass
class ImageLabels:
    """One image's file and instances (labels (N,), crowd (N,) bool, parts per instance)."""

    image_id: int
    file: str
    height: int
    width: int
    labels: np.ndarray
    crowd: np.ndarray
    polygons: list[list[np.ndarray]]


def parse_coco(coco: CocoDataset, image_root: str | Path) -> list[ImageLabels]:
    """ImageLabels for every image of `coco` (file paths resolved under `image_root`)."""
    cmap = coco.category_map
    out = []
    for image in coco.images:
        h, w = int(image["height"]), int(image["width"])
        labels, crowd, polys = [], [], []
        for ann in coco.anns_for_image(image["id"]):
            parts = annotation_parts(ann, h, w)
            if not parts:
                continue
            labels.append(cmap.label(ann["category_id"]))
            crowd.append(bool(ann.get("iscrowd", 0)))
            polys.append(parts)
        out.append(ImageLabels(int(image["id"]), str(Path(image_root) / image["file_name"]), h, w,
                               np.asarray(labels, np.int64), np.asarray(crowd, bool), polys))
    return out


def annotation_parts(ann: dict, height: int, width: int) -> list[np.ndarray]:
    """Polygon parts of an annotation (RLE -> outer contours; box-only -> its rectangle)."""
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg:
        return [np.asarray(p, np.float32).reshape(-1, 2) for p in seg if len(p) >= 6]
    if isinstance(seg, dict):
        return rle_to_parts(decode(segmentation_to_rle(seg, height, width)))
    if ann.get("bbox"):
        x, y, bw, bh = (float(v) for v in ann["bbox"])
        return [np.array([[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]], np.float32)]
    return []


def fingerprint(sources: Sequence[str | Path]) -> str:
    """Hash of the cache format, and each source's resolved path, size and mtime (files under dirs too)."""
    digest = hashlib.sha1(CACHE_VERSION.encode())
    for src in sources:
        path = Path(src).resolve()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            st = f.stat() if f.exists() else None
            digest.update(f"{f}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}\n".encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where label caches live: $COCOSEG_CACHE, else $XDG_CACHE_HOME/cocoseg, else ~/.cache/cocoseg."""
    if os.environ.get("COCOSEG_CACHE"):
        return Path(os.environ["COCOSEG_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cocoseg"


def cached_labels(sources: Sequence[str | Path], build: Callable[[], list[ImageLabels]],
                  directory: Path | None = None) -> list[ImageLabels]:
    """Labels from the cache when the sources are unchanged, else `build()` and store them."""
    path = (directory or cache_dir()) / f"labels-{fingerprint(sources)}.npz"
    if path.exists():
        try:
            return load_cache(path)
        except (OSError, ValueError, KeyError) as exc:
            logging.getLogger(__name__).warning("ignoring unreadable label cache %s: %s", path, exc)
    labels = build()
    try:
        save_cache(path, labels)
    except OSError as exc:  # a read-only home must not stop training
        logging.getLogger(__name__).warning("could not write label cache %s: %s", path, exc)
    return labels


def save_cache(path: Path, labels: Sequence[ImageLabels]) -> None:
    """Write labels as flat arrays (atomic: temp file then rename)."""
    inst_counts = [len(im.labels) for im in labels]
    parts = [p for im in labels for inst in im.polygons for p in inst]
    arrays = {
        "image_id": np.array([im.image_id for im in labels], np.int64),
        "files": np.array([im.file for im in labels], dtype=str),
        "hw": np.array([[im.height, im.width] for im in labels], np.int64).reshape(-1, 2),
        "inst_counts": np.array(inst_counts, np.int64),
        "labels": np.concatenate([im.labels for im in labels] or [np.zeros(0, np.int64)]).astype(np.int64),
        "crowd": np.concatenate([im.crowd for im in labels] or [np.zeros(0, bool)]).astype(bool),
        "parts_per_inst": np.array([len(inst) for im in labels for inst in im.polygons], np.int64),
        "points_per_part": np.array([len(p) for p in parts], np.int64),
        "points": np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 2), np.float32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_cache(path: Path) -> list[ImageLabels]:
    """Read labels written by `save_cache`."""
    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    parts = np.split(a["points"], np.cumsum(a["points_per_part"])[:-1]) if len(a["points_per_part"]) else []
    insts = _split_list(parts, a["parts_per_inst"])
    out, start = [], 0
    for i, n in enumerate(a["inst_counts"].tolist()):
        h, w = a["hw"][i].tolist()
        out.append(ImageLabels(int(a["image_id"][i]), str(a["files"][i]), h, w, a["labels"][start:start + n].copy(),
                               a["crowd"][start:start + n].copy(), insts[start:start + n]))
        start += n
    return out


def _split_list(items: list, counts: np.ndarray) -> list[list]:
    out, start = [], 0
    for n in counts.tolist():
        out.append(items[start:start + n])
        start += n
    return out
