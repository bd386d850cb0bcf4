"""A dataset YAML's splits as training labels (cached) and, for validation, the COCO ground truth.

The YAML may point at COCO JSON, YOLO-seg label folders, VOC, or cocoseg's synthetic data: the format
bridge (`cocoseg.datasets`, `cocoseg.convert`) obtains missing data (`synth:`/`download:` entries) and turns every split
into a `CocoDataset` plus an image folder. Training labels are cached (see `cocoseg.data.labels`)
keyed on the split's label files, so a second start does not parse or convert them again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocoseg.data.labels import Labels, LabelStore, cached_labels, parse_coco
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset


@dataclass
class SplitData:
    """One split: its COCO ground truth (None when read from the cache) and its training labels."""

    gt: CocoDataset | None
    labels: LabelStore
    names: dict[int, str]


def load_split_labels(data: str | Path, split: str, cache: bool = True, need_gt: bool = False,
                      cache_dir: Path | None = None) -> SplitData:
    """Labels of `split` ('train', 'val', ...) of a dataset YAML; the GT too when `need_gt`."""
    from cocoseg.convert import load_split
    from cocoseg.datasets import ensure_dataset, load_data_yaml

    cfg = ensure_dataset(load_data_yaml(data))
    if split not in cfg.splits:
        raise CocosegError(f"{data}: no '{split}' split (has: {', '.join(cfg.splits) or 'none'})")
    names = dict(cfg.names)
    if cache and not need_gt:
        holder: dict[str, Any] = {}

        def build() -> Labels:
            coco, root = load_split(cfg, split)
            holder["gt"] = coco
            return parse_coco(coco, root)

        sources = ([cfg.yaml_file] if cfg.yaml_file else []) + split_sources(cfg.splits[split])
        labels = cached_labels(sources, build, cache_dir)
        return SplitData(holder.get("gt"), labels, names)
    coco, root = load_split(cfg, split)
    return SplitData(coco, parse_coco(coco, root), names)


def split_sources(source: Any) -> list[Path]:
    """The files whose change invalidates a split's label cache: the COCO JSON, the VOC annotation
    folder and list, or the YOLO image folders/lists with their label folders."""
    if source.format == "coco" and getattr(source, "parts", ()):
        return [Path(p.annotations) for p in source.parts]
    if source.format == "coco" and source.annotations is not None:
        return [Path(source.annotations)]
    out = [Path(p) for p in source.images]
    if source.annotations is not None:
        out.append(Path(source.annotations))
    if getattr(source, "image_set", None) is not None:
        out.append(Path(source.image_set))
    for path in source.images:
        parts = list(Path(path).parts)
        if "images" in parts:  # YOLO layout: .../images/x -> .../labels/x
            i = len(parts) - 1 - parts[::-1].index("images")
            out.append(Path(*parts[:i], "labels", *parts[i + 1:]))
    return out
