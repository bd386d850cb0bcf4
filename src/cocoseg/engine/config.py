"""The training arguments: small typed sections composed into `TrainConfig`; flat `key=value` overrides.

Users (CLI, YAML, args.yaml, checkpoints' train_args) see one flat namespace of keys (`lr0=0.01`,
`mosaic=0.5`); `TrainConfig` routes each key to its section (run, optim, loss, augment, validation) and
reads them back flat (`cfg.lr0` is `cfg.optim.lr0`). The augmentation section is the data layer's
`AugmentConfig` itself, so the dataset and the trainer share one definition of those fields.

Defaults follow the reference YOLOv8 recipe (`docs/YOLOV8_SEG.md` §4.5). The config is built once at
the edge (CLI or `TrainConfig.from_overrides`) and never mutated afterwards: every stage below takes
the values it needs as explicit arguments.
"""
from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from cocoseg.data.augment_config import AugmentConfig
from cocoseg.errors import CocosegError
from cocoseg.thresholds import VAL_NMS
from cocoseg.values import FALSE_WORDS, TRUE_WORDS, closest_key


@dataclass(frozen=True)
class RunConfig:
    """What to train, where, for how long, and how the run is kept."""

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
    check_images: str = "warn"  # before training, decode every image: warn (skip bad ones), error, off
    patience: int = 100
    close_mosaic: int = 10
    save_period: int = -1  # also save epochN.pt every N epochs when > 0
    plots: bool = True
    pretrained: bool = True  # for fine-tuning from a .pt: load matching weights
    time: float = 0.0  # hours; stop after this much training time when > 0
    max_iters: int = 0  # stop each epoch after this many iterations when > 0 (smoke tests)


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer, learning-rate schedule, warmup, clipping, EMA and mixed precision."""

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


@dataclass(frozen=True)
class LossConfig:
    """Loss gains and the mask target layout."""

    box: float = 7.5
    cls: float = 0.5
    dfl: float = 1.5
    # True: all of an image's instances share ONE index map, so where two overlap the pixel belongs only
    # to the smaller one (the larger one's target has a hole there); False: one full mask per instance
    overlap_mask: bool = True
    mask_ratio: int = 4


@dataclass(frozen=True)
class ValidationConfig:
    """Per-epoch validation: whether, how often, and the post-processing it uses (`ops.thresholds.VAL_NMS`)."""

    val: bool = True
    val_period: int = 1  # validate every N epochs (the last epoch always)
    conf: float = VAL_NMS.conf
    iou: float = VAL_NMS.iou
    max_det: int = VAL_NMS.max_det


SECTIONS: dict[str, type] = {"run": RunConfig, "optim": OptimConfig, "loss": LossConfig, "augment": AugmentConfig,
                             "validation": ValidationConfig}
SECTION_OF: dict[str, str] = {f.name: sec for sec, kind in SECTIONS.items() for f in fields(kind)}


@dataclass(frozen=True)
class TrainConfig:
    """Every training hyperparameter, with the reference's defaults, in five sections (read flat too)."""

    run: RunConfig = RunConfig()
    optim: OptimConfig = OptimConfig()
    loss: LossConfig = LossConfig()
    augment: AugmentConfig = AugmentConfig()
    validation: ValidationConfig = ValidationConfig()

    def __getattr__(self, key: str) -> Any:
        """Flat read access (`cfg.lr0`): the key's section holds it."""
        section = SECTION_OF.get(key)
        if section is None:
            raise AttributeError(f"TrainConfig has no key {key!r}")
        return getattr(object.__getattribute__(self, section), key)

    @classmethod
    def keys(cls) -> list[str]:
        """The names users may set (flat, section by section)."""
        return list(SECTION_OF)

    @classmethod
    def options(cls) -> list[tuple[str, Any, Any]]:
        """(key, type, default) of every key, for the CLI's options and `--help`."""
        out = []
        for kind in SECTIONS.values():
            hints = typing.get_type_hints(kind)
            out.extend((f.name, hints[f.name], f.default) for f in fields(kind))
        return out

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
        """A config from flat `{key: value}` (strings are coerced by field type); unknown keys are rejected."""
        base = base or cls()
        types = {key: kind for key, kind, _ in cls.options()}
        values: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in types:
                close = closest_key(key, cls.keys())
                raise CocosegError(f"unknown training argument '{key}'" + (f"; did you mean '{close}'?" if close else ""))
            values[key] = coerce(key, raw, types[key])
        cfg = base.replace(**values)
        cfg.check()
        return cfg

    def replace(self, **values: Any) -> TrainConfig:
        """A copy with flat keys changed (no coercion, no checks)."""
        by_section: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            by_section.setdefault(SECTION_OF[key], {})[key] = value
        changed = {sec: dataclasses.replace(getattr(self, sec), **kv) for sec, kv in by_section.items()}
        return dataclasses.replace(self, **changed)

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
        if self.check_images not in {"warn", "error", "off"}:
            raise CocosegError(f"check_images must be warn, error or off, got {self.check_images!r}")
        if not 0 < self.fraction <= 1:
            raise CocosegError(f"fraction must be in (0, 1], got {self.fraction}")
        for key in ("mosaic", "mixup", "copy_paste", "flipud", "fliplr"):
            if not 0 <= getattr(self, key) <= 1:
                raise CocosegError(f"{key} is a probability in [0, 1], got {getattr(self, key)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain flat values, for args.yaml and checkpoints."""
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
            if text.lower() in TRUE_WORDS:
                return True
            if text.lower() in FALSE_WORDS:
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
