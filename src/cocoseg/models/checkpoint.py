"""The cocoseg checkpoint file: the one writer and the one reader.

Everything stored is loadable with `torch.load(weights_only=True)`: tensors, dicts, lists, tuples,
strings, numbers, booleans and None. A checkpoint never contains pickled modules or classes.

Layout: {"format": "cocoseg-checkpoint", "format_version": 1, "cocoseg_version": str,
         "model": {"config": {...}, "names": {label: name}, "state_dict": {...}}, **extra}

`read_checkpoint_file` answers None for a file that is not a cocoseg checkpoint (a reference YOLOv8
`.pt` holds pickled modules): `load_model` then takes its foreign-file branch, the restricted
reference import. It lives in `models` (not `engine`) because `load_model` reads checkpoints too.
"""
from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import torch

from cocoseg import __version__
from cocoseg.errors import CocosegError
from cocoseg.io import atomic_write

CHECKPOINT_FORMAT = "cocoseg-checkpoint"
CHECKPOINT_VERSION = 1
RESERVED_KEYS = frozenset({"format", "format_version", "cocoseg_version", "tensor_digest"})

PathLike = Union[str, Path]


def check_plain(value: Any, where: str) -> None:
    """Raise if `value` holds anything `torch.load(weights_only=True)` would refuse."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor, torch.dtype, torch.device)):
        return
    if isinstance(value, torch.Size):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            check_plain(key, f"{where} key")
            check_plain(item, f"{where}[{key!r}]")
        return
    raise CocosegError(
        f"checkpoint: {where} is a {type(value).__module__}.{type(value).__qualname__}; only tensors, plain "
        "containers, numbers and strings are stored (convert it, e.g. dataclasses.asdict or .tolist())"
    )


def write_checkpoint_file(path: PathLike, record: Mapping[str, Any], where: str = "extra") -> Path:
    """Write `record` (a "model" entry plus anything plain) stamped with format and version, atomically."""
    clash = sorted(RESERVED_KEYS & set(record))
    if clash:
        raise CocosegError(f"checkpoint: {where} keys {clash} are reserved")
    check_plain({k: v for k, v in record.items() if k != "model"}, where)
    ckpt = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "cocoseg_version": __version__,
            **record}
    ckpt["tensor_digest"] = tensor_digest(ckpt)
    return atomic_write(path, lambda fh: torch.save(ckpt, fh), mode="wb")


def read_checkpoint_file(path: PathLike) -> dict[str, Any] | None:
    """A cocoseg checkpoint dict via `torch.load(weights_only=True)` (tensors on the CPU), or None if the
    file is not one; CocosegError when it is missing, unreadable or from a newer cocoseg."""
    if not Path(path).is_file():
        raise CocosegError(f"checkpoint {path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # pickled modules (a reference checkpoint) or other objects
        return None
    except (RuntimeError, EOFError, OSError) as exc:  # bad tensor offsets/strides: "resize storage"
        raise CocosegError(f"{path}: cannot read checkpoint: {_one_line(exc)}") from exc
    except Exception as exc:  # noqa: BLE001 - a file that is no pickle at all ("hello": KeyError in the unpickler)
        raise CocosegError(f"{path}: not a checkpoint (torch.load: {type(exc).__name__} {_one_line(exc)})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        return None
    _check_layout(ckpt, path)
    if ckpt.get("format_version", 0) > CHECKPOINT_VERSION:
        raise CocosegError(f"{path}: checkpoint format {ckpt['format_version']} is newer than this cocoseg reads")
    want = ckpt.pop("tensor_digest", None)  # absent in checkpoints written before digests
    if want is not None and want != tensor_digest(ckpt):
        raise CocosegError(f"{path}: checkpoint is corrupted (its tensors do not match the digest written with "
                           "them); use another copy, e.g. best.pt or an epochN.pt")
    return ckpt


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _check_layout(ckpt: dict, path: PathLike) -> None:
    """CocosegError naming the field when a cocoseg checkpoint lacks the layout of the module docstring."""
    version = ckpt.get("format_version")
    problem = None
    if type(version) is not int:
        problem = f"format_version must be an integer, got {type(version).__name__} {str(version)[:20]!r}"
    elif not isinstance(ckpt.get("model"), dict):
        problem = "has no 'model' record" if "model" not in ckpt else "'model' must be a record (dict)"
    elif not isinstance(ckpt["model"].get("config"), dict) or not isinstance(ckpt["model"].get("state_dict"), dict):
        problem = "'model' needs a 'config' and a 'state_dict' record"
    else:
        bad = next((k for k, v in ckpt["model"]["state_dict"].items() if not isinstance(v, torch.Tensor)), None)
        problem = f"model.state_dict[{str(bad)[:60]!r}] is not a tensor" if bad is not None else _config_problem(
            ckpt["model"]["config"])
    if problem is not None:
        raise CocosegError(f"{path}: not a valid cocoseg checkpoint: {problem}")


def _config_problem(config: dict) -> str | None:
    """Why the model config cannot build a network (`num_classes: "eighty"`), or None."""
    from cocoseg.models.config import ModelConfig

    for key in ("num_classes", "num_masks", "num_protos"):
        value = config.get(key, 1)
        if type(value) is not int or not 1 <= value <= 100_000:
            return f"model config: {key} must be a whole number from 1 to 100000, got {str(value)[:20]!r}"
    try:
        ModelConfig.from_dict(config)
    except (CocosegError, TypeError, ValueError) as exc:
        return _one_line(exc)
    return None


def tensor_digest(record: Any) -> str:
    """sha256 over every tensor of `record` (key path, dtype, shape and bytes, in key order): what
    `read_checkpoint_file` checks, so flipped or zeroed bytes are caught rather than loaded."""
    h = hashlib.sha256()
    _digest_into(h, record, "")
    return "sha256:" + h.hexdigest()


def _digest_into(h: Any, value: Any, where: str) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"{where}|{t.dtype}|{tuple(value.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, Mapping):
        for key in sorted(value, key=repr):
            if where or key != "tensor_digest":
                _digest_into(h, value[key], f"{where}/{key!r}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _digest_into(h, item, f"{where}[{i}]")
