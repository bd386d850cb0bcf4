"""cocoseg: COCO-style instance segmentation end to end.

The dataset, mask, format and evaluation layers need only numpy and pycocotools; the model and
training layers (`load_model`) need the `train` extra (torch).
"""
from __future__ import annotations

from typing import Any

from cocoseg.errors import CocosegError, DataError, Problem
from cocoseg.io import CategoryMap, CocoDataset, load_coco

__version__ = "0.1.0"

__all__ = [
    "CategoryMap", "CocoDataset", "CocosegError", "DataError", "Problem", "__version__", "evaluate",
    "load_coco", "load_model",
]


def __getattr__(name: str) -> Any:
    # Lazy so that `import cocoseg` stays numpy-only: evaluation loads numba, models load torch.
    if name == "evaluate":
        from cocoseg.eval import evaluate

        return evaluate
    if name == "load_model":
        from cocoseg.models import load_model

        return load_model
    raise AttributeError(f"module 'cocoseg' has no attribute {name!r}")
