"""cocoseg checkpoints: the model (config, names, state dict) plus whatever the trainer adds, saved atomically.

Everything stored is loadable with `torch.load(weights_only=True)`: tensors, dicts, lists, tuples,
strings, numbers, booleans and None. A checkpoint never contains pickled modules or classes.

Layout: {"format": "cocoseg-checkpoint", "format_version": 1, "cocoseg_version": str,
         "model": {"config": {...}, "names": {label: name}, "state_dict": {...}}, **extra}
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from cocoseg import __version__
from cocoseg.errors import CocosegError
from cocoseg.io import atomic_write
from cocoseg.models import SegmentationModel, load_model, model_state
from cocoseg.models.hub import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, read_checkpoint_file

RESERVED_KEYS = frozenset({"format", "format_version", "cocoseg_version", "model"})

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "load_model", "save_checkpoint"]


def _check_plain(value: Any, where: str) -> None:
    """Raise if `value` holds anything `torch.load(weights_only=True)` would refuse."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor, torch.dtype, torch.device)):
        return
    if isinstance(value, torch.Size):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            _check_plain(key, f"{where} key")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise CocosegError(
        f"checkpoint: {where} is a {type(value).__module__}.{type(value).__qualname__}; only tensors, plain "
        "containers, numbers and strings are stored (convert it, e.g. dataclasses.asdict or .tolist())"
    )


def save_checkpoint(path: str | Path, model: SegmentationModel, *, extra: Mapping[str, Any] | None = None) -> Path:
    """Write `model` (+ `extra`: train args, optimizer state, EMA, epoch, RNG state...) to `path` atomically.

    `extra` keys must not be one of the reserved keys; values must be weights_only-loadable.
    """
    extra = dict(extra or {})
    clash = sorted(RESERVED_KEYS & set(extra))
    if clash:
        raise CocosegError(f"checkpoint: extra keys {clash} are reserved")
    _check_plain(extra, "extra")
    ckpt = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "cocoseg_version": __version__,
            "model": model_state(model), **extra}
    return atomic_write(path, lambda fh: torch.save(ckpt, fh), mode="wb")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict of a cocoseg `.pt` (with `torch.load(weights_only=True)`, tensors on the CPU).

    A reference checkpoint is not a cocoseg checkpoint: use `load_model` for those.
    """
    path = Path(path)
    if not path.is_file():
        raise CocosegError(f"checkpoint {path}: no such file")
    ckpt = read_checkpoint_file(path)
    if ckpt is None:
        raise CocosegError(
            f"{path}: not a cocoseg checkpoint (a reference YOLOv8 .pt can be imported with load_model)"
        )
    return ckpt
