"""The training arguments: one typed dataclass, `key=value` overrides coerced by field type.

Defaults follow the reference YOLOv8 recipe (`docs/YOLOV8_SEG.md` §4.5). The config is built once at
the edge (CLI or `TrainConfig.from_overrides`) and never mutated afterwards: every stage below takes
the values it needs as explicit arguments.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from cocoseg.errors import CocosegError
from cocoseg.ops.thresholds import VAL_NMS

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


@dataclass(frozen=True)
class TrainConfig:
    """Every training hyperparameter, with the reference's defaults."""

    # what and where
    data: str = ""
    model: str = "yolov8n-seg"
    epochs: int = 100
    imgsz: int = 640
    batch: int = 16
    device: str = ""  # "" = auto (first CUDA device, else CPU); "cpu", "0", "cuda:1"
    workers: int = 2
    threads: int = 0  # torch CPU threads; 0 = the usable cores other processes leave idle
    project: str = "runs/segment"
    name: str = "train"
    exist_ok: bool = False
    resume: bool = False
    seed: int = 0
    deterministic: bool = True
    fraction: float = 1.0  # fraction of the train split used
    cache_labels: bool = True
    cache_images: bool = False  # keep decoded, resized images in RAM (skipped if over half the free memory)
    # schedule and optimizer
    patience: int = 100
    optimizer: str = "auto"  # SGD, AdamW, Adam, auto
    lr0: float = 0.01
    lrf: float = 0.01
    momentum: float = 0.937
    weight_decay: float = 0.0005
    warmup_epochs: float = 3.0
    warmup_momentum: float = 0.8
    warmup_bias_lr: float = 0.1
    nbs: int = 64
    cos_lr: bool = False
    max_norm: float = 10.0  # gradient clipping (L2 norm of all gradients)
    ema: bool = True
    amp: bool = True  # used on CUDA only
    # loss gains
    box: float = 7.5
    cls: float = 0.5
    dfl: float = 1.5
    # augmentation (probabilities and ranges)
    hsv_h: float = 0.015
    hsv_s: float = 0.7
    hsv_v: float = 0.4
    degrees: float = 0.0
    translate: float = 0.1
    scale: float = 0.5
    shear: float = 0.0
    perspective: float = 0.0
    flipud: float = 0.0
    fliplr: float = 0.5
    mosaic: float = 1.0
    mixup: float = 0.0
    copy_paste: float = 0.0
    close_mosaic: int = 10
    # True: all of an image's instances share ONE index map, so where two overlap the pixel belongs only
    # to the smaller one (the larger one's target has a hole there); False: one full mask per instance
    overlap_mask: bool = True
    mask_ratio: int = 4
    # validation and saving
    val: bool = True
    val_period: int = 1  # validate every N epochs (the last epoch always)
    conf: float = VAL_NMS.conf
    iou: float = VAL_NMS.iou
    max_det: int = VAL_NMS.max_det
    save_period: int = -1  # also save epochN.pt every N epochs when > 0
    plots: bool = True
    pretrained: bool = True  # for fine-tuning from a .pt: load matching weights
    time: float = 0.0  # hours; stop after this much training time when > 0
    max_iters: int = 0  # stop each epoch after this many iterations when > 0 (smoke tests)

    @classmethod
    def keys(cls) -> list[str]:
        """The names users may set."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
        """A config from `{key: value}` (strings are coerced by field type); unknown keys are rejected."""
        base = base or cls()
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in hints:
                raise CocosegError(f"unknown training argument '{key}'{_suggest(key, cls.keys())}")
            values[key] = coerce(key, raw, hints[key])
        cfg = dataclasses.replace(base, **values)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Reject values that cannot work, naming the argument."""
        positive = {"epochs": self.epochs, "imgsz": self.imgsz, "batch": self.batch, "nbs": self.nbs,
                    "mask_ratio": self.mask_ratio}
        for key, value in positive.items():
            if value <= 0:
                raise CocosegError(f"{key} must be positive, got {value}")
        if self.imgsz % 32:
            raise CocosegError(f"imgsz must be a multiple of 32 (the largest stride), got {self.imgsz}")
        if self.optimizer.lower() not in {"sgd", "adamw", "adam", "auto"}:
            raise CocosegError(f"optimizer must be SGD, AdamW, Adam or auto, got {self.optimizer!r}")
        if not 0 < self.fraction <= 1:
            raise CocosegError(f"fraction must be in (0, 1], got {self.fraction}")
        for key in ("mosaic", "mixup", "copy_paste", "flipud", "fliplr"):
            if not 0 <= getattr(self, key) <= 1:
                raise CocosegError(f"{key} is a probability in [0, 1], got {getattr(self, key)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for args.yaml and checkpoints."""
        return {k: getattr(self, k) for k in self.keys()}


def coerce(key: str, raw: Any, kind: Any) -> Any:
    """`raw` converted to the field's type; a CocosegError naming the key when it does not parse."""
    if not isinstance(raw, str):
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if kind is bool and not isinstance(raw, bool):
            raise CocosegError(f"{key} expects True or False, got {raw!r}")
        return raw
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
    except ValueError:
        name = {bool: "True or False", int: "an integer", float: "a number"}[kind]
        raise CocosegError(f"{key} expects {name}, got {raw!r}") from None
    return "" if text.lower() in {"none", "null"} else text


def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
