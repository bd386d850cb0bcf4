"""Training data: labels from any COCO source, seeded augmentations, masks, collate.

Names are loaded on first use (PEP 562): `cocoseg.data.augment_config` (TrainConfig's augmentation
settings, which every CLI parser builds) must not pull torch into `cocoseg eval` or `--help`.
"""
from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "AugmentConfig": "augment_config", "SegmentationDataset": "dataset", "collate": "dataset",
    "ImageLabels": "labels", "LabelStore": "labels", "cached_labels": "labels", "parse_coco": "labels",
    "Sample": "sample",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'cocoseg.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cocoseg.data.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
