"""A dataset YAML's splits as training labels (cached) and, for validation, the COCO ground truth.

The YAML may point at COCO JSON, YOLO-seg label folders or cocoseg's synthetic data: the format bridge
(`cocoseg.convert.load_split`) turns each into a `CocoDataset` plus an image folder. Training labels
are cached (see `cocoseg.data.labels`) keyed on the split's label files, so a second start does not
parse them again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cocoseg.data.labels import ImageLabels, cached_labels, parse_coco
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset


@dataclass
class SplitData:
    """One split: its COCO ground truth (None when read from the cache) and its training labels."""

    gt: CocoDataset | None
    labels: list[ImageLabels]
    names: dict[int, str]


def load_split_labels(data_yaml: str | Path, split: str, cache: bool = True, need_gt: bool = False,
                      cache_dir: Path | None = None) -> SplitData:
    """Labels of `split` ('train', 'val', ...) of the dataset YAML; GT too when `need_gt`."""
    data_yaml = Path(data_yaml)
    names = _names(data_yaml)
    if cache and not need_gt:
        sources = [data_yaml, *split_sources(data_yaml, split)]
        holder: dict[str, Any] = {}

        def build() -> list[ImageLabels]:
            coco, root = _load(data_yaml, split)
            holder["gt"] = coco
            return parse_coco(coco, root)

        labels = cached_labels(sources, build, cache_dir)
        return SplitData(holder.get("gt"), labels, names)
    coco, root = _load(data_yaml, split)
    return SplitData(coco, parse_coco(coco, root), names)


def _load(data_yaml: Path, split: str) -> tuple[CocoDataset, Path]:
    try:
        from cocoseg.convert import load_data_yaml, load_split
    except ImportError:  # format bridge not installed yet: COCO-JSON splits only
        return _load_coco_split(data_yaml, split)
    cfg = load_data_yaml(data_yaml)
    coco, root = load_split(cfg, split)
    return coco, Path(root)


def _load_coco_split(data_yaml: Path, split: str) -> tuple[CocoDataset, Path]:
    data = _read_yaml(data_yaml)
    root = Path(str(data.get("path") or "."))
    root = root if root.is_absolute() else (data_yaml.parent / root)
    entry = data.get(split)
    if not isinstance(entry, dict) or "annotations" not in entry:
        raise CocosegError(f"{data_yaml}: {split}: only {{images, annotations}} COCO splits are readable here")
    return CocoDataset.load(root / str(entry["annotations"])), root / str(entry.get("images", "."))


def _read_yaml(data_yaml: Path) -> dict:
    try:
        data = yaml.safe_load(data_yaml.read_text())
    except FileNotFoundError:
        raise CocosegError(f"{data_yaml}: no such dataset YAML") from None
    except yaml.YAMLError as exc:
        raise CocosegError(f"{data_yaml}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CocosegError(f"{data_yaml}: expected a mapping with train, val and names")
    return data


def _names(data_yaml: Path) -> dict[int, str]:
    names = _read_yaml(data_yaml).get("names")
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    if isinstance(names, list):
        return dict(enumerate(map(str, names)))
    raise CocosegError(f"{data_yaml}: names: expected a list or an index -> name mapping")


def split_sources(data_yaml: Path, split: str) -> list[Path]:
    """The files whose change invalidates a split's label cache (annotation JSON, label folders, lists)."""
    data = _read_yaml(data_yaml)
    root = Path(str(data.get("path") or "."))
    root = root if root.is_absolute() else (data_yaml.parent / root)
    entry = data.get(split)
    if entry is None:
        raise CocosegError(f"{data_yaml}: no '{split}' split")
    if isinstance(entry, dict):
        return [root / str(entry["annotations"])] if "annotations" in entry else [root / str(v) for v in entry.values()]
    out = []
    for item in entry if isinstance(entry, list) else [entry]:
        path = root / str(item)
        out.append(path)
        parts = list(path.parts)
        if "images" in parts:  # YOLO layout: .../images/x -> .../labels/x
            i = len(parts) - 1 - parts[::-1].index("images")
            out.append(Path(*parts[:i], "labels", *parts[i + 1:]))
    return out
