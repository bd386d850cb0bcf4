"""pycocotools.mask: its layouts and types exactly (RLE counts as bytes, (H, W, N) Fortran bitmaps).

The codec is pycocotools' own C code (`pycocotools._mask`, a runtime dependency), so every RLE,
area and box is pycocotools' to the bit. One departure: `area` of 256 or more RLEs works
(pycocotools 2.0.11 raises OverflowError there under NumPy 2).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import _mask

__all__ = ["area", "decode", "encode", "frPyObjects", "iou", "merge", "toBbox"]

_AREA_CHUNK = 255  # pycocotools' area() builds a uint8-sized array for 256 or more RLEs

iou = _mask.iou
merge = _mask.merge
frPyObjects = _mask.frPyObjects


def encode(bimask: np.ndarray) -> Any:
    """(H, W, N) Fortran uint8 -> list of N RLEs; (H, W) -> one RLE (pycocotools.mask.encode)."""
    if len(bimask.shape) == 3:
        return _mask.encode(bimask)
    if len(bimask.shape) == 2:
        h, w = bimask.shape
        return _mask.encode(bimask.reshape((h, w, 1), order="F"))[0]
    return None  # pycocotools returns nothing for other ranks


def decode(rleObjs: Any) -> np.ndarray:  # noqa: N803 - pycocotools' argument name
    """List of RLEs -> (H, W, N) uint8 Fortran; one RLE -> (H, W)."""
    if type(rleObjs) is list:
        return _mask.decode(rleObjs)
    return _mask.decode([rleObjs])[:, :, 0]


def area(rleObjs: Any) -> Any:  # noqa: N803
    """List of RLEs -> (N,) uint32 areas; one RLE -> a uint32 scalar."""
    if type(rleObjs) is not list:
        return _mask.area([rleObjs])[0]
    if len(rleObjs) <= _AREA_CHUNK:
        return _mask.area(rleObjs)
    return np.concatenate([_mask.area(rleObjs[i:i + _AREA_CHUNK]) for i in range(0, len(rleObjs), _AREA_CHUNK)])


def toBbox(rleObjs: Any) -> np.ndarray:  # noqa: N802, N803
    """List of RLEs -> (N, 4) float64 [x, y, w, h]; one RLE -> (4,)."""
    if type(rleObjs) is list:
        return _mask.toBbox(rleObjs)
    return _mask.toBbox([rleObjs])[0]
